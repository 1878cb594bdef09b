// Message and outbox shapes.
import { z } from "@hono/zod-openapi";
import type { CapturedRow } from "../../../db/captured";
import { iso } from "../../../db/client";
import { CALL_OUTCOMES } from "../../../engine/outreach";
import { Timestamp } from "../../../http/openapi";
import { PageQuery } from "../../../http/pagination";
import type { MessageRow } from "../../store";

export const Message = z
  .object({
    id: z.string(),
    enrollmentId: z.string().nullable(),
    stepId: z.string().nullable(),
    contactId: z.string(),
    channel: z.enum(["email", "sms", "call"]),
    category: z.enum(["marketing", "transactional"]),
    to: z.string().openapi({ description: "An email address, or a phone number (SMS, calls)" }),
    subject: z.string().nullable(),
    body: z.string().nullable().openapi({ description: "An SMS's text, or a call's script" }),
    outcome: z.string().nullable().openapi({
      description:
        "A call's outcome: answered, voicemail, no_answer, busy or failed (null until it ends)",
    }),
    durationSeconds: z.number().int().nullable(),
    summary: z.string().nullable().openapi({ description: "A voice agent's summary of the call" }),
    provider: z.string().nullable(),
    providerMessageId: z.string().nullable(),
    status: z.enum([
      "queued",
      "sent",
      "delivered",
      "bounced",
      "complained",
      "failed",
      "suppressed",
    ]),
    error: z.string().nullable(),
    opens: z.number().int(),
    clicks: z.number().int(),
    machineOpens: z.number().int(),
    machineClicks: z.number().int(),
    rfcMessageId: z.string().nullable().openapi({
      description: "The Message-ID header Nudge gave the email; replies point at it",
    }),
    repliedAt: Timestamp.nullable().openapi({ description: "The first human reply" }),
    autoRepliedAt: Timestamp.nullable().openapi({ description: "The first automatic reply" }),
    createdAt: Timestamp,
    sentAt: Timestamp.nullable(),
  })
  .openapi("Message");

export const OutboxItem = z
  .object({
    id: z.string(),
    messageId: z.string(),
    channel: z.enum(["email", "sms", "call"]),
    outcome: z.string().nullable().openapi({
      description:
        "Calls: the outcome recorded with POST /v1/outbox/{id}/outcome (null until then); null for email and SMS",
    }),
    to: z.string(),
    from: z.string(),
    subject: z.string(),
    html: z.string(),
    text: z.string(),
    headers: z.record(z.string(), z.string()),
    createdAt: Timestamp,
  })
  .openapi("OutboxMessage");

export const MessageQuery = PageQuery.extend({
  enrollmentId: z.string().optional(),
  contactId: z.string().optional(),
});
export const OutboxQuery = PageQuery.extend({
  to: z.string().optional(),
  messageId: z.string().optional(),
  channel: z.enum(["email", "sms", "call"]).optional(),
});

export const CallOutcomeInput = z
  .strictObject({
    outcome: z.enum(CALL_OUTCOMES),
    durationSeconds: z.number().int().min(0).max(86_400).optional(),
    summary: z.string().max(4000).optional(),
  })
  .openapi("CallOutcomeInput");

export const messageJson = (m: MessageRow) => ({
  id: m.id,
  enrollmentId: m.enrollmentId,
  stepId: m.stepId,
  contactId: m.contactId,
  channel: m.channel,
  category: m.category,
  to: m.to,
  subject: m.subject,
  body: m.body,
  outcome: m.outcome,
  durationSeconds: m.durationSeconds,
  summary: m.summary,
  provider: m.provider,
  providerMessageId: m.providerMessageId,
  status: m.status,
  error: m.error,
  opens: m.opens,
  clicks: m.clicks,
  machineOpens: m.machineOpens,
  machineClicks: m.machineClicks,
  rfcMessageId: m.rfcMessageId,
  repliedAt: iso(m.repliedAt),
  autoRepliedAt: iso(m.autoRepliedAt),
  createdAt: iso(m.createdAt) as string,
  sentAt: iso(m.sentAt),
});

export const outboxJson = (o: CapturedRow & { outcome?: string | null }) => ({
  id: o.id,
  messageId: o.messageId,
  channel: o.channel,
  outcome: o.outcome ?? null,
  to: o.to,
  from: o.from,
  subject: o.subject,
  html: o.html,
  text: o.text,
  headers: o.headers,
  createdAt: iso(o.createdAt) as string,
});
