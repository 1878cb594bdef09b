// Event shapes: what a tracked event is, and an event as listed.
import { z } from "@hono/zod-openapi";
import { iso } from "../../db/client";
import type { EventRow } from "../../db/events";
import { Email, jsonObjectUpTo64KiB } from "../../domain/contacts";
import { Timestamp } from "../../http/openapi";

export const EventName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[\w.:-]+$/, "Letters, digits, and . _ : - only");

export const TrackEvent = z
  .strictObject({
    name: EventName,
    contactId: z.string().min(1).max(100).optional(),
    email: Email.optional(),
    externalId: z.string().trim().min(1).max(255).optional(),
    data: jsonObjectUpTo64KiB("data").optional(),
    occurredAt: z.iso.datetime({ offset: true }).optional(),
  })
  .refine((e) => e.contactId || e.email || e.externalId, {
    message: "Give contactId, email or externalId",
    path: ["contactId"],
  })
  .openapi("TrackEvent");

export const TrackResult = z.object({
  id: z.string(),
  enrolled: z.array(z.string()),
  resumed: z.array(z.string()),
  exited: z.array(z.string()),
});

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
