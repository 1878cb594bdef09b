// POST /v1/events: track an event for a contact.
import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../../http/errors";
import { json, jsonBody, secured } from "../../../http/openapi";
import {
  Accepted,
  BatchAccepted,
  TrackBatch,
  TrackEvent,
  TrackQuery,
  TrackResult,
} from "./schemas";

export const track = createRoute({
  method: "post",
  path: "/v1/events",
  operationId: "trackEvent",
  tags: ["Events"],
  security: secured,
  summary: "Track an event: starts, resumes and exits enrollments",
  description:
    "Answers 202 `{id}` once the event is durably stored; it is fanned out within seconds (a lost queue job is re-queued by the watchdog). An unknown email or externalId creates the contact. With `?wait=true` the event is processed before the answer, which lists the enrollments it started, resumed and ended.",
  request: {
    query: TrackQuery,
    body: jsonBody(TrackEvent, {
      id: "order-1042",
      name: "purchased",
      email: "ada@example.com",
      data: { amount: 42 },
    }),
  },
  responses: {
    202: json(
      z.union([TrackResult, Accepted]),
      "Accepted (`{id}`), or processed with `?wait=true` (`{id, enrolled, resumed, exited}`)",
    ),
    ...errorResponses(404),
  },
});

export const trackBatch = createRoute({
  method: "post",
  path: "/v1/events/batch",
  operationId: "trackEvents",
  tags: ["Events"],
  security: secured,
  summary: "Track up to 1,000 events in one call",
  description:
    "Each event is validated and accepted on its own: the answer lists an id per event (null for a rejected one) and the rejected ones with why. Accepted events are stored durably before the answer and fanned out asynchronously, in order per contact.",
  request: {
    body: jsonBody(TrackBatch, {
      events: [
        { id: "signup-1", name: "signed_up", email: "ada@example.com" },
        { id: "signup-2", name: "signed_up", externalId: "user_2" },
      ],
    }),
  },
  responses: { 202: json(BatchAccepted, "Accepted"), ...errorResponses() },
});
