// Outbound webhook events: the catalog (one zod schema per event type: publish() validates
// payloads against it and GET /v1/webhooks/catalog serves the same schemas as JSON Schema),
// stable event ids, publishing to the org's subscriptions, and new deliveries and secrets.
import { z } from "@hono/zod-openapi";
import type { Db } from "../db/client";
import type { Env } from "../ground/env";
import { newId } from "../ground/ids";
import { Memo } from "../ground/memo";
import type { OutboundEvent } from "../ground/queues";
import { base64, sha256Hex } from "../security/encoding";
import { type DeliveryRow, subscribedTypes } from "./store";

const enrollment = {
  enrollmentId: z.string(),
  workflowId: z.string(),
  contactId: z.string(),
  status: z.string(),
};
const ended = {
  ...enrollment,
  exitReason: z.string().nullable().optional(),
  error: z.object({ code: z.string(), message: z.string() }).nullable().optional(),
};
const email = {
  contactId: z.string(),
  messageId: z.string(),
  enrollmentId: z.string().nullable().optional(),
  stepId: z.string().nullable().optional(),
};
const contact = { contactId: z.string(), contact: z.record(z.string(), z.unknown()).optional() };

const execution = {
  executionId: z.string(),
  agentId: z.string(),
  status: z.string(),
  output: z.unknown().optional(),
  error: z.object({ code: z.string(), message: z.string() }).nullable().optional(),
  enrollmentId: z.string().nullable().optional(),
  durationMs: z.number().nullable().optional(),
  costUsd: z.number().optional(),
};

export const EVENT_TYPES = {
  "enrollment.created": {
    description: "A contact was enrolled in a workflow.",
    schema: z.looseObject(enrollment),
  },
  "enrollment.step_completed": {
    description: "An enrollment finished a step.",
    schema: z.looseObject({
      ...enrollment,
      stepId: z.string(),
      stepType: z.string(),
      outcome: z.string(),
    }),
  },
  "enrollment.completed": {
    description: "An enrollment reached the end, an exit step, or an exitOn event.",
    schema: z.looseObject(ended),
  },
  "enrollment.failed": {
    description: "An enrollment failed; `error` says why.",
    schema: z.looseObject(ended),
  },
  "enrollment.cancelled": {
    description: "An enrollment was cancelled.",
    schema: z.looseObject(ended),
  },
  "email.sent": {
    description: "A provider accepted an email.",
    schema: z.looseObject({ ...email, provider: z.string() }),
  },
  "email.delivered": {
    description: "The provider reported delivery.",
    schema: z.looseObject(email),
  },
  "email.opened": {
    description: "A human open (machine opens are counted apart, not emitted).",
    schema: z.looseObject(email),
  },
  "email.clicked": {
    description: "A human click on a tracked link.",
    schema: z.looseObject({
      ...email,
      url: z.string().optional(),
      linkIndex: z.number().optional(),
    }),
  },
  "email.replied": {
    description:
      "A human reply to an email: matched by its reply address, its In-Reply-To/References, or (match `sender`, weaker) its sender; `text` is the reply without the quoted history.",
    schema: z.looseObject({
      ...email,
      match: z.enum(["token", "header", "sender"]),
      subject: z.string(),
      from: z.string(),
      text: z.string().nullable(),
    }),
  },
  "email.auto_replied": {
    description: "An automatic reply (out of office, RFC 3834); `returnAt` when it names a date.",
    schema: z.looseObject({
      ...email,
      match: z.enum(["token", "header", "sender"]),
      subject: z.string(),
      returnAt: z.string().nullable(),
    }),
  },
  "email.bounced": {
    description: "A hard bounce; the contact is suppressed.",
    schema: z.looseObject({ ...email, reason: z.string().optional() }),
  },
  "email.complained": {
    description: "A spam complaint; the contact is suppressed.",
    schema: z.looseObject({ ...email, reason: z.string().optional() }),
  },
  "sms.sent": {
    description: "A provider accepted a text message (or the outbox captured it).",
    schema: z.looseObject({ ...email, provider: z.string() }),
  },
  "sms.delivered": {
    description: "The carrier reported the text delivered (Twilio status callback).",
    schema: z.looseObject(email),
  },
  "sms.failed": {
    description: "The text could not be sent (Twilio status `failed`).",
    schema: z.looseObject({ ...email, reason: z.string().optional() }),
  },
  "sms.undelivered": {
    description: "The carrier could not deliver the text (Twilio status `undelivered`).",
    schema: z.looseObject({ ...email, reason: z.string().optional() }),
  },
  "sms.received": {
    description:
      "The contact texted the number; `keyword` is stop, start or help when the text is one (STOP/STOPALL/UNSUBSCRIBE/CANCEL/END/QUIT set smsSubscribed false, START/YES/UNSTOP set it true).",
    schema: z.looseObject({
      contactId: z.string(),
      from: z.string(),
      to: z.string(),
      text: z.string(),
      keyword: z.enum(["stop", "start", "help"]).nullable(),
    }),
  },
  "call.placed": {
    description: "A call was placed (or captured by the outbox, awaiting its outcome).",
    schema: z.looseObject({ ...email, provider: z.string() }),
  },
  "call.completed": {
    description:
      "A call ended: `outcome` answered, voicemail, no_answer, busy or failed, with its duration and (voice agents) a summary.",
    schema: z.looseObject({
      ...email,
      outcome: z.string(),
      durationSeconds: z.number().nullable().optional(),
      summary: z.string().nullable().optional(),
    }),
  },
  "task.created": {
    description: "A task step created a task for a person.",
    schema: z.looseObject({
      contactId: z.string(),
      taskId: z.string(),
      taskType: z.string(),
      title: z.string(),
      assignee: z.string().nullable(),
      dueAt: z.string(),
      enrollmentId: z.string(),
      stepId: z.string(),
    }),
  },
  "task.completed": {
    description: "A task was completed with an outcome, or skipped (`status: skipped`).",
    schema: z.looseObject({
      contactId: z.string(),
      taskId: z.string(),
      status: z.enum(["completed", "skipped"]),
      outcome: z.string(),
      note: z.string().nullable().optional(),
      enrollmentId: z.string(),
      stepId: z.string(),
    }),
  },
  "connection.paused": {
    description:
      "An email connection paused itself: its hard-bounce rate over the last 200 sends passed 5 % or its complaint rate 0.3 %. Its sends wait until POST /v1/connections/{id}/resume (pools send through their other members).",
    schema: z.looseObject({
      connectionId: z.string(),
      key: z.string(),
      reason: z.string(),
      sends: z.number(),
      bounceRate: z.number(),
      complaintRate: z.number(),
    }),
  },
  "contact.created": { description: "A contact was created.", schema: z.looseObject(contact) },
  "contact.updated": { description: "A contact was updated.", schema: z.looseObject(contact) },
  "contact.confirmed": {
    description:
      "A contact followed its double opt-in confirmation link (usable as a trigger and in wait_for_event).",
    schema: z.looseObject(contact),
  },
  "contact.unsubscribed": {
    description: "A contact unsubscribed (API or one-click).",
    schema: z.looseObject(contact),
  },
  "contact.scored": {
    description:
      "An agent scored a contact (POST /v1/agents/{id}/score_lead or a score_lead step): `score` 0–100 and the reasons.",
    schema: z.looseObject({
      contactId: z.string(),
      agentId: z.string(),
      executionId: z.string(),
      score: z.number().int(),
      reasons: z.array(z.string()),
    }),
  },
  "agent.execution.succeeded": {
    description: "An agent execution succeeded: its output, duration, tokens and cost.",
    schema: z.looseObject(execution),
  },
  "agent.execution.failed": {
    description:
      "An agent execution failed; `error` says why (`budget_exhausted`, `output_invalid`, ...).",
    schema: z.looseObject(execution),
  },
  "report.ready": {
    description:
      "A report finished (each run of a scheduled one): its row count, size and a signed download link valid 7 days.",
    schema: z.looseObject({
      reportId: z.string(),
      type: z.string(),
      format: z.enum(["csv", "json"]),
      generation: z.number().int(),
      rows: z.number().int(),
      bytes: z.number().int(),
      downloadUrl: z.string(),
      expiresAt: z.string(),
    }),
  },
  "webhook.test": {
    description: "Sent by POST /v1/webhooks/:id/test.",
    schema: z.looseObject({ webhookId: z.string(), message: z.string() }),
  },
} as const;

export type EventType = keyof typeof EVENT_TYPES;
export const EVENT_TYPE_NAMES = Object.keys(EVENT_TYPES) as EventType[];

export function eventCatalog() {
  return EVENT_TYPE_NAMES.map((type) => ({
    type,
    description: EVENT_TYPES[type].description,
    schema: z.toJSONSchema(
      z.object({
        id: z.string(),
        type: z.literal(type),
        createdAt: z.string(),
        data: EVENT_TYPES[type].schema,
      }),
      {
        unrepresentable: "any",
      },
    ) as Record<string, unknown>,
  }));
}

/** Checks a payload against its type's schema; a mismatch is a bug on our side, so it throws. */
export function checkPayload(type: string, data: Record<string, unknown>): Record<string, unknown> {
  const entry = EVENT_TYPES[type as EventType];
  if (!entry) {
    throw new Error(`Unknown outbound event type ${type}`);
  }
  return entry.schema.parse(data) as Record<string, unknown>;
}

/** An event with a stable id: derived from `key` when given, so a re-run never publishes it twice. */
export async function outboundEvent(
  type: string,
  data: Record<string, unknown>,
  key?: string,
): Promise<OutboundEvent> {
  const id = key ? `evt_${(await sha256Hex(key)).slice(0, 26).toUpperCase()}` : newId("evt");
  return { id, type, createdAt: new Date().toISOString(), data: checkPayload(type, data) };
}

/** True when a subscription to `types` (`*` or the type itself) receives `type`. */
export const wants = (types: ReadonlySet<string>, type: string) =>
  types.has("*") || types.has(type);

/**
 * The event types the org's active subscriptions want, looked up once per unit of work. Events
 * nobody subscribes to are not queued at all: the webhook consumer would find no subscription.
 */
export const subscriptionsOf = (db: Db, orgId: string, memo = new Memo()) =>
  memo.get(`subscriptions ${orgId}`, () => subscribedTypes(db, orgId));

/** Hands an event to the webhook queue, which fans it out to the org's subscriptions — when any wants it. */
export async function publish(
  env: Env,
  db: Db,
  orgId: string,
  type: string,
  data: Record<string, unknown>,
  opts: { key?: string; memo?: Memo } = {},
) {
  if (!wants(await subscriptionsOf(db, orgId, opts.memo), type)) {
    return;
  }
  await env.WEBHOOK_QUEUE.send({
    kind: "publish",
    orgId,
    event: await outboundEvent(type, data, opts.key),
  });
}

/** A pending delivery of `event` to one subscription. */
export function newDelivery(
  orgId: string,
  webhookId: string,
  event: OutboundEvent,
  now = Date.now(),
): DeliveryRow {
  return {
    id: newId("dlv", now),
    orgId,
    webhookId,
    eventId: event.id,
    eventType: event.type,
    payload: JSON.stringify(event),
    status: "pending",
    attempts: 0,
    lastStatusCode: null,
    nextAttemptAt: now,
    createdAt: now,
    updatedAt: now,
  };
}

/** A subscription's signing secret, in the Standard Webhooks form (`whsec_` + base64 of 32 bytes). */
export const newWebhookSecret = () => `whsec_${base64(crypto.getRandomValues(new Uint8Array(32)))}`;
