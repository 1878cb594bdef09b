// Event shapes: what a tracked event is, and an event as listed.
import { z } from "@hono/zod-openapi";
import type { EventRow } from "../../../contacts";
import { Email, jsonObjectUpTo64KiB } from "../../../contacts";
import { iso } from "../../../db/client";
import { Timestamp } from "../../../http/openapi";

export const EventName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[\w.:-]+$/, "Letters, digits, and . _ : - only");

const ClientId = z.string().trim().min(1).max(255).openapi({
  description:
    "Your own id for the event (an order number, a message id): an event with an id this org sent before is not processed again — its first id comes back with `duplicate: true`",
});

const trackFields = {
  id: ClientId.optional(),
  name: EventName,
  contactId: z.string().min(1).max(100).optional(),
  email: Email.optional(),
  externalId: z.string().trim().min(1).max(255).optional(),
  data: jsonObjectUpTo64KiB("data").optional(),
  occurredAt: z.iso.datetime({ offset: true }).optional(),
};

export const TrackEvent = z
  .strictObject(trackFields)
  .refine((e) => e.contactId || e.email || e.externalId, {
    message: "Give contactId, email or externalId",
    path: ["contactId"],
  })
  .openapi("TrackEvent");

export const TrackQuery = z.object({
  wait: z.enum(["true", "false"]).optional().openapi({
    description:
      "`true`: process the event before answering, with the enrollments it started, resumed and ended",
  }),
});

export const Accepted = z
  .object({
    id: z.string(),
    duplicate: z
      .boolean()
      .optional()
      .openapi({ description: "Present (true) when this client `id` was accepted before" }),
  })
  .openapi("EventAccepted");

export const TrackResult = Accepted.extend({
  enrolled: z.array(z.string()).openapi({ description: "Enrollments the event started" }),
  resumed: z.array(z.string()).openapi({ description: "Enrollments waiting for it, resumed" }),
  exited: z.array(z.string()).openapi({ description: "Enrollments whose workflow exits on it" }),
}).openapi("EventProcessed");

/** At most this many events per batch call. */
export const MAX_BATCH_EVENTS = 1000;

export const TrackBatch = z
  .strictObject({
    events: z
      .array(z.unknown())
      .min(1)
      .max(MAX_BATCH_EVENTS)
      .openapi({
        description: `1 to ${MAX_BATCH_EVENTS} events, each shaped like the body of POST /v1/events; one that is not is rejected alone`,
      }),
  })
  .openapi("TrackEventBatch");

export const BatchAccepted = z
  .object({
    ids: z.array(z.string().nullable()).openapi({
      description:
        "One entry per event sent, in order: its id (the first one for a repeated client `id`), or null when it was rejected",
    }),
    rejected: z.array(
      z.object({
        index: z.number().int(),
        error: z.string().openapi({ example: "validation_failed" }),
        message: z.string(),
        details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
      }),
    ),
  })
  .openapi("EventBatchAccepted");

export const Event = z
  .object({
    id: z.string(),
    name: z.string(),
    contactId: z.string(),
    data: z.record(z.string(), z.unknown()),
    occurredAt: Timestamp,
    receivedAt: Timestamp,
  })
  .openapi("Event");

export const eventJson = (e: EventRow) => ({
  id: e.id,
  name: e.name,
  contactId: e.contactId,
  data: e.data,
  occurredAt: iso(e.occurredAt) as string,
  receivedAt: iso(e.receivedAt) as string,
});
