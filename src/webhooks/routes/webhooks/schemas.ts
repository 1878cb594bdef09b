// Webhook subscription shapes: the secret is shown once; deliveries carry every attempt.
import { z } from "@hono/zod-openapi";
import { iso } from "../../../db/client";
import { Timestamp } from "../../../http/openapi";
import { EVENT_TYPE_NAMES } from "../../outbound";
import type { AttemptRow, DeliveryRow, WebhookRow } from "../../store";

const Events = z
  .array(z.string())
  .min(1)
  .max(50)
  .refine((e) => e.every((t) => t === "*" || (EVENT_TYPE_NAMES as string[]).includes(t)), {
    message: `Each event must be "*" or one of: ${EVENT_TYPE_NAMES.join(", ")}`,
  });

export const WebhookInput = z
  .strictObject({
    url: z.string().url().max(2048),
    events: Events,
    description: z.string().max(500).nullable().optional(),
    active: z.boolean().default(true),
  })
  .openapi("WebhookInput");

export const WebhookPatch = z
  .strictObject({
    url: z.string().url().max(2048).optional(),
    events: Events.optional(),
    description: z.string().max(500).nullable().optional(),
    active: z.boolean().optional(),
  })
  .openapi("WebhookPatch");

export const Webhook = z
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

export const WebhookWithSecret = Webhook.extend({
  secret: z.string().openapi({ description: "whsec_..., shown only here" }),
}).openapi("WebhookWithSecret");

const Attempt = z.object({
  attempt: z.number().int(),
  statusCode: z.number().int().nullable(),
  durationMs: z.number().int(),
  error: z.string().nullable(),
  nextAttemptAt: Timestamp.nullable(),
  at: Timestamp,
});

export const Delivery = z
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

export const CatalogEntry = z.object({
  type: z.string(),
  description: z.string(),
  schema: z.record(z.string(), z.unknown()),
});

export const webhookJson = (w: WebhookRow) => ({
  id: w.id,
  url: w.url,
  events: w.events,
  description: w.description,
  active: w.active,
  disabledReason: w.disabledReason,
  createdAt: iso(w.createdAt) as string,
  updatedAt: iso(w.updatedAt) as string,
});

export const deliveryJson = (d: DeliveryRow, attempts: AttemptRow[]) => ({
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
});
