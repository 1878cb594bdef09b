// Outbound webhook subscriptions: secrets shown once, rotation, test deliveries, delivery log, catalog.
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { database, iso } from "../../db/client";
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
} from "../../db/webhooks";
import { EVENT_TYPE_NAMES, eventCatalog } from "../../delivery/catalog";
import { encrypt } from "../../delivery/crypto";
import { refuseUrl } from "../../delivery/ssrf";
import { newDelivery, newWebhookSecret, outboundEvent } from "../../delivery/webhooks";
import type { AppEnv } from "../../env";
import { ApiError, errorResponses, notFound } from "../../http/errors";
import { newId } from "../../http/ids";
import { json, jsonBody, pathId, router, secured, Timestamp } from "../../http/openapi";
import { listOf, PageQuery, pageOf, toPage } from "../../http/pagination";

const tags = ["Webhooks"];
const params = pathId("id", "whk_01JD0000000000000000000000");
const ROTATION_OVERLAP_MS = 24 * 3600_000;

const Events = z
  .array(z.string())
  .min(1)
  .max(50)
  .refine((e) => e.every((t) => t === "*" || (EVENT_TYPE_NAMES as string[]).includes(t)), {
    message: `Each event must be "*" or one of: ${EVENT_TYPE_NAMES.join(", ")}`,
  });
const WebhookInput = z
  .object({ url: z.string().url().max(2048), events: Events, description: z.string().max(500).nullable().optional(), active: z.boolean().default(true) })
  .openapi("WebhookInput");
const WebhookPatch = z
  .object({
    url: z.string().url().max(2048).optional(),
    events: Events.optional(),
    description: z.string().max(500).nullable().optional(),
    active: z.boolean().optional(),
  })
  .openapi("WebhookPatch");
const Webhook = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.string()),
    description: z.string().nullable(),
    active: z.boolean(),
    disabledReason: z.string().nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("Webhook");
const WebhookWithSecret = Webhook.extend({ secret: z.string().openapi({ description: "whsec_..., shown only here" }) }).openapi("WebhookWithSecret");
const Attempt = z.object({
  attempt: z.number().int(),
  statusCode: z.number().int().nullable(),
  durationMs: z.number().int(),
  error: z.string().nullable(),
  nextAttemptAt: Timestamp.nullable(),
  at: Timestamp,
});
const Delivery = z
  .object({
    id: z.string(),
    eventId: z.string(),
    eventType: z.string(),
    status: z.enum(["pending", "succeeded", "failed"]),
    attempts: z.array(Attempt),
    lastStatusCode: z.number().int().nullable(),
    nextAttemptAt: Timestamp.nullable(),
    createdAt: Timestamp,
  })
  .openapi("WebhookDelivery");

const webhookJson = (w: WebhookRow) => ({
  id: w.id,
  url: w.url,
  events: w.events,
  description: w.description,
  active: w.active,
  disabledReason: w.disabledReason,
  createdAt: iso(w.createdAt) as string,
  updatedAt: iso(w.updatedAt) as string,
});

function assertUrl(env: AppEnv["Bindings"], url: string) {
  const refused = refuseUrl(env, url);
  if (refused) throw new ApiError("validation_failed", refused, { details: [{ path: "url", message: refused }] });
}

async function owned(c: Context<AppEnv>, id: string) {
  const w = await getWebhook(database(c.env.DB), c.get("orgId"), id);
  if (!w) throw notFound("Webhook");
  return w;
}

const routes = {
  catalog: createRoute({
    method: "get",
    path: "/v1/webhooks/catalog",
    tags,
    security: secured,
    responses: {
      200: json(
        z.array(z.object({ type: z.string(), description: z.string(), schema: z.record(z.string(), z.unknown()) })),
        "Event types with their JSON Schema",
      ),
      ...errorResponses(),
    },
  }),
  create: createRoute({
    method: "post",
    path: "/v1/webhooks",
    tags,
    security: secured,
    request: { body: jsonBody(WebhookInput) },
    responses: { 201: json(WebhookWithSecret, "Created; the secret is shown only here"), ...errorResponses() },
  }),
  list: createRoute({
    method: "get",
    path: "/v1/webhooks",
    tags,
    security: secured,
    request: { query: PageQuery },
    responses: { 200: json(listOf(Webhook), "Subscriptions"), ...errorResponses() },
  }),
  get: createRoute({
    method: "get",
    path: "/v1/webhooks/{id}",
    tags,
    security: secured,
    request: { params },
    responses: { 200: json(Webhook, "The subscription"), ...errorResponses(404) },
  }),
  patch: createRoute({
    method: "patch",
    path: "/v1/webhooks/{id}",
    tags,
    security: secured,
    request: { params, body: jsonBody(WebhookPatch) },
    responses: { 200: json(Webhook, "Updated (active: true re-enables a disabled endpoint)"), ...errorResponses(404) },
  }),
  remove: createRoute({
    method: "delete",
    path: "/v1/webhooks/{id}",
    tags,
    security: secured,
    request: { params },
    responses: { 204: { description: "Deleted" }, ...errorResponses(404) },
  }),
  rotate: createRoute({
    method: "post",
    path: "/v1/webhooks/{id}/rotate-secret",
    tags,
    security: secured,
    summary: "New secret; for 24 h deliveries are signed with both",
    request: { params },
    responses: { 200: json(WebhookWithSecret, "The new secret, shown only here"), ...errorResponses(404) },
  }),
  test: createRoute({
    method: "post",
    path: "/v1/webhooks/{id}/test",
    tags,
    security: secured,
    request: { params },
    responses: { 202: json(z.object({ deliveryId: z.string() }), "A webhook.test delivery is queued"), ...errorResponses(404) },
  }),
  deliveries: createRoute({
    method: "get",
    path: "/v1/webhooks/{id}/deliveries",
    tags,
    security: secured,
    request: { params, query: PageQuery },
    responses: { 200: json(listOf(Delivery), "Deliveries with every attempt, newest first"), ...errorResponses(404) },
  }),
};

export default router()
  .openapi(routes.catalog, (c) => c.json(eventCatalog(), 200))
  .openapi(routes.create, async (c) => {
    const input = c.req.valid("json");
    assertUrl(c.env, input.url);
    const secret = newWebhookSecret();
    const now = Date.now();
    const row: WebhookRow = {
      id: newId("whk", now),
      orgId: c.get("orgId"),
      url: input.url,
      events: input.events,
      description: input.description ?? null,
      active: input.active,
      secret: await encrypt(c.env, secret),
      previousSecret: null,
      previousSecretExpiresAt: null,
      failingSince: null,
      disabledReason: null,
      createdAt: now,
      updatedAt: now,
    };
    await insertWebhook(database(c.env.DB), row);
    return c.json({ ...webhookJson(row), secret }, 201);
  })
  .openapi(routes.list, async (c) => {
    const page = toPage(c.req.valid("query"));
    const { data, nextCursor } = pageOf(await listWebhooks(database(c.env.DB), c.get("orgId"), page.limit, page.before), page);
    return c.json({ data: data.map(webhookJson), nextCursor }, 200);
  })
  .openapi(routes.get, async (c) => c.json(webhookJson(await owned(c, c.req.valid("param").id)), 200))
  .openapi(routes.patch, async (c) => {
    const w = await owned(c, c.req.valid("param").id);
    const input = c.req.valid("json");
    if (input.url) assertUrl(c.env, input.url);
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
    await updateWebhook(database(c.env.DB), next);
    return c.json(webhookJson(next), 200);
  })
  .openapi(routes.remove, async (c) => {
    if (!(await deleteWebhook(database(c.env.DB), c.get("orgId"), c.req.valid("param").id))) throw notFound("Webhook");
    return c.body(null, 204);
  })
  .openapi(routes.rotate, async (c) => {
    const w = await owned(c, c.req.valid("param").id);
    const secret = newWebhookSecret();
    const now = Date.now();
    const next: WebhookRow = {
      ...w,
      previousSecret: w.secret,
      previousSecretExpiresAt: now + ROTATION_OVERLAP_MS,
      secret: await encrypt(c.env, secret),
      updatedAt: now,
    };
    await updateWebhook(database(c.env.DB), next);
    return c.json({ ...webhookJson(next), secret }, 200);
  })
  .openapi(routes.test, async (c) => {
    const w = await owned(c, c.req.valid("param").id);
    const event = await outboundEvent("webhook.test", { webhookId: w.id, message: "This is a test delivery from Nudge" });
    const d = await ensureDelivery(database(c.env.DB), newDelivery(w.orgId, w.id, event));
    if (!d) throw new Error("test delivery was not created");
    await c.env.WEBHOOK_QUEUE.send({ kind: "deliver", deliveryId: d.id });
    return c.json({ deliveryId: d.id }, 202);
  })
  .openapi(routes.deliveries, async (c) => {
    const w = await owned(c, c.req.valid("param").id);
    const db = database(c.env.DB);
    const page = toPage(c.req.valid("query"));
    const { data, nextCursor } = pageOf(await listDeliveries(db, w.id, page.limit, page.before), page);
    const attempts = await attemptsOf(
      db,
      data.map((d) => d.id),
    );
    return c.json(
      {
        data: data.map((d) => ({
          id: d.id,
          eventId: d.eventId,
          eventType: d.eventType,
          status: d.status,
          attempts: attempts
            .filter((a) => a.deliveryId === d.id)
            .map((a) => ({
              attempt: a.attempt,
              statusCode: a.statusCode,
              durationMs: a.durationMs,
              error: a.error,
              nextAttemptAt: iso(a.nextAttemptAt),
              at: iso(a.at) as string,
            })),
          lastStatusCode: d.lastStatusCode,
          nextAttemptAt: iso(d.nextAttemptAt),
          createdAt: iso(d.createdAt) as string,
        })),
        nextCursor,
      },
      200,
    );
  });
