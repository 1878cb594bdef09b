// Webhook handlers.
import type { Db } from "../../../db/client";
import { readShardFor, shardFor } from "../../../db/shards";
import type { Env } from "../../../ground/env";
import { DomainError, notFound } from "../../../ground/errors";
import { newId } from "../../../ground/ids";
import type { Handler } from "../../../http/openapi";
import { pageOf, toPage } from "../../../http/pagination";
import { encrypt } from "../../../security/credentials";
import { refuseUrl } from "../../../security/ssrf";
import { eventCatalog, newDelivery, newWebhookSecret, outboundEvent } from "../../outbound";
import {
  attemptsOf,
  deleteWebhook,
  ensureDelivery,
  getWebhook,
  insertWebhook,
  listDeliveries,
  listWebhooks,
  updateWebhook,
  type WebhookRow,
} from "../../store";
import type * as routes from "./routes";
import { deliveryJson, webhookJson } from "./schemas";

const ROTATION_OVERLAP_MS = 24 * 3600_000;

function assertUrl(env: Env, url: string) {
  const refused = refuseUrl(env, url);
  if (refused) {
    throw new DomainError("validation_failed", refused, {
      details: [{ path: "url", message: refused }],
    });
  }
}

async function owned(db: Db, orgId: string, id: string) {
  const w = await getWebhook(db, orgId, id);
  if (!w) {
    throw notFound("Webhook");
  }
  return w;
}

export const catalog: Handler<typeof routes.catalog> = (c) => c.json(eventCatalog(), 200);

export const create: Handler<typeof routes.create> = async (c) => {
  const input = c.req.valid("json");
  assertUrl(c.env, input.url);
  const secret = newWebhookSecret();
  const now = Date.now();
  const id = newId("whk", now);
  const row: WebhookRow = {
    id,
    orgId: c.get("orgId"),
    url: input.url,
    events: input.events,
    description: input.description ?? null,
    active: input.active,
    secret: await encrypt(c.env, secret, { orgId: c.get("orgId"), table: "webhooks", rowId: id }),
    previousSecret: null,
    previousSecretExpiresAt: null,
    failingSince: null,
    disabledReason: null,
    createdAt: now,
    updatedAt: now,
  };
  await insertWebhook(await shardFor(c.env, c.get("orgId")), row);
  return c.json({ ...webhookJson(row), secret }, 201);
};

export const list: Handler<typeof routes.list> = async (c) => {
  const page = toPage(c.req.valid("query"));
  const { data, nextCursor } = pageOf(
    await listWebhooks(
      await readShardFor(c.env, c.get("orgId")),
      c.get("orgId"),
      page.limit,
      page.before,
    ),
    page,
  );
  return c.json({ data: data.map(webhookJson), nextCursor }, 200);
};

export const get: Handler<typeof routes.get> = async (c) =>
  c.json(
    webhookJson(
      await owned(await shardFor(c.env, c.get("orgId")), c.get("orgId"), c.req.valid("param").id),
    ),
    200,
  );

export const patch: Handler<typeof routes.patch> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const w = await owned(db, c.get("orgId"), c.req.valid("param").id);
  const input = c.req.valid("json");
  if (input.url) {
    assertUrl(c.env, input.url);
  }
  const reenabled = input.active === true && !w.active;
  const next: WebhookRow = {
    ...w,
    url: input.url ?? w.url,
    events: input.events ?? w.events,
    description: input.description !== undefined ? input.description : w.description,
    active: input.active ?? w.active,
    disabledReason: reenabled ? null : w.disabledReason,
    failingSince: reenabled ? null : w.failingSince,
    updatedAt: Date.now(),
  };
  await updateWebhook(db, next);
  return c.json(webhookJson(next), 200);
};

export const remove: Handler<typeof routes.remove> = async (c) => {
  if (
    !(await deleteWebhook(
      await shardFor(c.env, c.get("orgId")),
      c.get("orgId"),
      c.req.valid("param").id,
    ))
  ) {
    throw notFound("Webhook");
  }
  return c.body(null, 204);
};

export const rotate: Handler<typeof routes.rotate> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const w = await owned(db, c.get("orgId"), c.req.valid("param").id);
  const secret = newWebhookSecret();
  const now = Date.now();
  const next: WebhookRow = {
    ...w,
    previousSecret: w.secret,
    previousSecretExpiresAt: now + ROTATION_OVERLAP_MS,
    secret: await encrypt(c.env, secret, { orgId: w.orgId, table: "webhooks", rowId: w.id }),
    updatedAt: now,
  };
  await updateWebhook(db, next);
  return c.json({ ...webhookJson(next), secret }, 200);
};

export const test: Handler<typeof routes.test> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const w = await owned(db, c.get("orgId"), c.req.valid("param").id);
  const event = await outboundEvent("webhook.test", {
    webhookId: w.id,
    message: "This is a test delivery from Nudge",
  });
  const d = await ensureDelivery(db, newDelivery(w.orgId, w.id, event));
  if (!d) {
    throw new Error("test delivery was not created");
  }
  await c.env.WEBHOOK_QUEUE.send({
    kind: "deliver",
    orgId: w.orgId,
    deliveryId: d.id,
    trace: c.get("requestId"),
  });
  return c.json({ deliveryId: d.id }, 202);
};

export const deliveries: Handler<typeof routes.deliveries> = async (c) => {
  const db = await readShardFor(c.env, c.get("orgId"));
  const w = await owned(db, c.get("orgId"), c.req.valid("param").id);
  const page = toPage(c.req.valid("query"));
  const { data, nextCursor } = pageOf(
    await listDeliveries(db, w.id, page.limit, page.before),
    page,
  );
  const attempts = await attemptsOf(
    db,
    data.map((d) => d.id),
  );
  return c.json({ data: data.map((d) => deliveryJson(d, attempts)), nextCursor }, 200);
};
