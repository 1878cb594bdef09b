// Message and outbox handlers.

import { getCaptured, listCaptured } from "../../../db/captured";
import { readShardFor, shardFor } from "../../../db/shards";
import { DomainError, notFound } from "../../../ground/errors";
import type { Handler } from "../../../http/openapi";
import { pageOf, toPage } from "../../../http/pagination";
import { recordCallOutcome } from "../../outreach";
import { getMessage, getMessageById, listMessages } from "../../store";
import type * as routes from "./routes";
import { messageJson, outboxJson } from "./schemas";

export const list: Handler<typeof routes.list> = async (c) => {
  const q = c.req.valid("query");
  const page = toPage(q);
  const { data, nextCursor } = pageOf(
    await listMessages(
      await readShardFor(c.env, c.get("orgId")),
      c.get("orgId"),
      q,
      page.limit,
      page.before,
    ),
    page,
  );
  return c.json({ data: data.map(messageJson), nextCursor }, 200);
};

export const get: Handler<typeof routes.get> = async (c) => {
  const m = await getMessage(
    await shardFor(c.env, c.get("orgId")),
    c.get("orgId"),
    c.req.valid("param").id,
  );
  if (!m) {
    throw notFound("Message");
  }
  return c.json(messageJson(m), 200);
};

export const outbox: Handler<typeof routes.outbox> = async (c) => {
  const q = c.req.valid("query");
  const page = toPage(q);
  const rows = await listCaptured(
    await readShardFor(c.env, c.get("orgId")),
    c.get("orgId"),
    { to: q.to?.toLowerCase(), messageId: q.messageId, channel: q.channel },
    page.limit,
    page.before,
  );
  const { data, nextCursor } = pageOf(rows, page);
  return c.json({ data: data.map(outboxJson), nextCursor }, 200);
};

export const outboxItem: Handler<typeof routes.outboxItem> = async (c) => {
  const o = await getCaptured(
    await shardFor(c.env, c.get("orgId")),
    c.get("orgId"),
    c.req.valid("param").id,
  );
  if (!o) {
    throw notFound("Outbox message");
  }
  return c.json(outboxJson(o), 200);
};

export const recordOutcome: Handler<typeof routes.recordOutcome> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const orgId = c.get("orgId");
  const id = c.req.valid("param").id;
  const item = await getCaptured(db, orgId, id);
  if (!item) {
    throw notFound("Outbox message");
  }
  const body = c.req.valid("json");
  const msg = item.channel === "call" ? await getMessageById(db, item.messageId) : undefined;
  if (!msg || msg.orgId !== orgId) {
    throw new DomainError(
      "validation_failed",
      `Outbox item ${id} is not a call; only calls have outcomes`,
      {
        details: [{ path: "outcome", message: "Only calls have outcomes" }],
      },
    );
  }
  const stored = await recordCallOutcome(c.env, db, msg, body.outcome, {
    durationSeconds: body.durationSeconds,
    summary: body.summary,
  });
  if (stored !== body.outcome) {
    throw new DomainError("conflict", `This call's outcome is already recorded: ${stored}`);
  }
  return c.json(outboxJson({ ...item, outcome: stored }), 200);
};
