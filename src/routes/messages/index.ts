// Messages (one per send_email effect) and the built-in outbox.
import { createRoute, z } from "@hono/zod-openapi";
import { database, iso } from "../../db/client";
import { getMessage, listMessages, type MessageRow } from "../../db/messages";
import { getOutboxItem, listOutbox, type OutboxRow } from "../../db/outbox";
import { errorResponses, notFound } from "../../http/errors";
import { json, pathId, router, secured, Timestamp } from "../../http/openapi";
import { listOf, PageQuery, pageOf, toPage } from "../../http/pagination";

export const Message = z
  .object({
    id: z.string(),
    enrollmentId: z.string().nullable(),
    stepId: z.string().nullable(),
    contactId: z.string(),
    to: z.string(),
    subject: z.string().nullable(),
    provider: z.string().nullable(),
    providerMessageId: z.string().nullable(),
    status: z.enum(["queued", "sent", "delivered", "bounced", "complained", "failed", "suppressed"]),
    error: z.string().nullable(),
    opens: z.number().int(),
    clicks: z.number().int(),
    machineOpens: z.number().int(),
    machineClicks: z.number().int(),
    createdAt: Timestamp,
    sentAt: Timestamp.nullable(),
  })
  .openapi("Message");

const OutboxItem = z
  .object({
    id: z.string(),
    messageId: z.string(),
    to: z.string(),
    from: z.string(),
    subject: z.string(),
    html: z.string(),
    text: z.string(),
    headers: z.record(z.string(), z.string()),
    createdAt: Timestamp,
  })
  .openapi("OutboxMessage");

export const messageJson = (m: MessageRow) => ({
  id: m.id,
  enrollmentId: m.enrollmentId,
  stepId: m.stepId,
  contactId: m.contactId,
  to: m.to,
  subject: m.subject,
  provider: m.provider,
  providerMessageId: m.providerMessageId,
  status: m.status,
  error: m.error,
  opens: m.opens,
  clicks: m.clicks,
  machineOpens: m.machineOpens,
  machineClicks: m.machineClicks,
  createdAt: iso(m.createdAt) as string,
  sentAt: iso(m.sentAt),
});

const outboxJson = (o: OutboxRow) => ({
  id: o.id,
  messageId: o.messageId,
  to: o.to,
  from: o.from,
  subject: o.subject,
  html: o.html,
  text: o.text,
  headers: o.headers,
  createdAt: iso(o.createdAt) as string,
});

const routes = {
  list: createRoute({
    method: "get",
    path: "/v1/messages",
    tags: ["Messages"],
    security: secured,
    request: { query: PageQuery.extend({ enrollmentId: z.string().optional(), contactId: z.string().optional() }) },
    responses: { 200: json(listOf(Message), "Messages, newest first"), ...errorResponses() },
  }),
  get: createRoute({
    method: "get",
    path: "/v1/messages/{id}",
    tags: ["Messages"],
    security: secured,
    request: { params: pathId("id", "msg_01JD0000000000000000000000") },
    responses: { 200: json(Message, "The message"), ...errorResponses(404) },
  }),
  outbox: createRoute({
    method: "get",
    path: "/v1/outbox",
    tags: ["Outbox"],
    security: secured,
    summary: "Emails captured by the built-in outbox (no provider connected)",
    request: { query: PageQuery.extend({ to: z.string().optional(), messageId: z.string().optional() }) },
    responses: { 200: json(listOf(OutboxItem), "Captured emails, newest first"), ...errorResponses() },
  }),
  outboxItem: createRoute({
    method: "get",
    path: "/v1/outbox/{id}",
    tags: ["Outbox"],
    security: secured,
    request: { params: pathId("id", "obx_01JD0000000000000000000000") },
    responses: { 200: json(OutboxItem, "A captured email"), ...errorResponses(404) },
  }),
};

export default router()
  .openapi(routes.list, async (c) => {
    const q = c.req.valid("query");
    const page = toPage(q);
    const { data, nextCursor } = pageOf(await listMessages(database(c.env.DB), c.get("orgId"), q, page.limit, page.before), page);
    return c.json({ data: data.map(messageJson), nextCursor }, 200);
  })
  .openapi(routes.get, async (c) => {
    const m = await getMessage(database(c.env.DB), c.get("orgId"), c.req.valid("param").id);
    if (!m) throw notFound("Message");
    return c.json(messageJson(m), 200);
  })
  .openapi(routes.outbox, async (c) => {
    const q = c.req.valid("query");
    const page = toPage(q);
    const { data, nextCursor } = pageOf(
      await listOutbox(database(c.env.DB), c.get("orgId"), { to: q.to?.toLowerCase(), messageId: q.messageId }, page.limit, page.before),
      page,
    );
    return c.json({ data: data.map(outboxJson), nextCursor }, 200);
  })
  .openapi(routes.outboxItem, async (c) => {
    const o = await getOutboxItem(database(c.env.DB), c.get("orgId"), c.req.valid("param").id);
    if (!o) throw notFound("Outbox message");
    return c.json(outboxJson(o), 200);
  });
