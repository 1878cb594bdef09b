// Messages (one per send_email effect) and the built-in outbox.
import { createRoute } from "@hono/zod-openapi";
import { errorResponses } from "../../../http/errors";
import { json, jsonBody, pathId, secured } from "../../../http/openapi";
import { listOf } from "../../../http/pagination";
import { CallOutcomeInput, Message, MessageQuery, OutboxItem, OutboxQuery } from "./schemas";

export const list = createRoute({
  method: "get",
  path: "/v1/messages",
  operationId: "listMessages",
  summary: "List sent and scheduled messages, newest first",
  tags: ["Messages"],
  security: secured,
  request: { query: MessageQuery },
  responses: { 200: json(listOf(Message), "Messages, newest first"), ...errorResponses() },
});

export const get = createRoute({
  method: "get",
  path: "/v1/messages/{id}",
  operationId: "getMessage",
  summary: "Get one message with its delivery and engagement",
  tags: ["Messages"],
  security: secured,
  request: { params: pathId("id", "msg_01JD0000000000000000000000") },
  responses: { 200: json(Message, "The message"), ...errorResponses(404) },
});

export const outbox = createRoute({
  method: "get",
  path: "/v1/outbox",
  operationId: "listOutbox",
  tags: ["Outbox"],
  security: secured,
  summary: "Emails, texts and calls captured by the built-in outbox (no provider connected)",
  request: { query: OutboxQuery },
  responses: {
    200: json(listOf(OutboxItem), "Captured emails, newest first"),
    ...errorResponses(),
  },
});

export const outboxItem = createRoute({
  method: "get",
  path: "/v1/outbox/{id}",
  operationId: "getOutboxEmail",
  summary: "Get one email, text or call captured by the outbox",
  tags: ["Outbox"],
  security: secured,
  request: { params: pathId("id", "obx_01JD0000000000000000000000") },
  responses: { 200: json(OutboxItem, "A captured email"), ...errorResponses(404) },
});

export const recordOutcome = createRoute({
  method: "post",
  path: "/v1/outbox/{id}/outcome",
  operationId: "recordCallOutcome",
  summary: "Record how a call captured by the outbox ended (the sandbox of the call step)",
  description:
    "With no call provider connected, a `call` step's call lands in the outbox and its enrollment waits; recording the outcome here resumes it exactly as a provider's webhook would. The first outcome stands: the same outcome again answers 200, a different one 409 `conflict`; an email or SMS item is 422 `validation_failed`.",
  tags: ["Outbox"],
  security: secured,
  request: {
    params: pathId("id", "obx_01JD0000000000000000000000"),
    body: jsonBody(CallOutcomeInput, { outcome: "no_answer" }),
  },
  responses: { 200: json(OutboxItem, "The call, with its outcome"), ...errorResponses(404, 409) },
});
