// Message and outbox handlers.
import { database } from "../../db/client";
import { getMessage, listMessages } from "../../db/messages";
import { getOutboxItem, listOutbox } from "../../db/outbox";
import { notFound } from "../../http/errors";
import type { Handler } from "../../http/openapi";
import { pageOf, toPage } from "../../http/pagination";
import type * as routes from "./routes";
import { messageJson, outboxJson } from "./schemas";

export const list: Handler<typeof routes.list> = async (c) => {
  const q = c.req.valid("query");
  const page = toPage(q);
  const { data, nextCursor } = pageOf(
    await listMessages(database(c.env.DB), c.get("orgId"), q, page.limit, page.before),
    page,
  );
  return c.json({ data: data.map(messageJson), nextCursor }, 200);
};

export const get: Handler<typeof routes.get> = async (c) => {
  const m = await getMessage(database(c.env.DB), c.get("orgId"), c.req.valid("param").id);
  if (!m) {
    throw notFound("Message");
  }
  return c.json(messageJson(m), 200);
};

export const outbox: Handler<typeof routes.outbox> = async (c) => {
  const q = c.req.valid("query");
  const page = toPage(q);
  const rows = await listOutbox(
    database(c.env.DB),
    c.get("orgId"),
    { to: q.to?.toLowerCase(), messageId: q.messageId },
    page.limit,
    page.before,
  );
  const { data, nextCursor } = pageOf(rows, page);
  return c.json({ data: data.map(outboxJson), nextCursor }, 200);
};

export const outboxItem: Handler<typeof routes.outboxItem> = async (c) => {
  const o = await getOutboxItem(database(c.env.DB), c.get("orgId"), c.req.valid("param").id);
  if (!o) {
    throw notFound("Outbox message");
  }
  return c.json(outboxJson(o), 200);
};
