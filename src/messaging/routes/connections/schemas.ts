// Connection shapes: credentials are write-only.
import { z } from "@hono/zod-openapi";
import { iso } from "../../../db/client";
import { MailboxLimits } from "../../../engine/governance";
import type { MailboxStats } from "../../../ground/rpc";
import { documentable, Timestamp } from "../../../http/openapi";
import { CONNECTION_PROVIDER_NAMES } from "../../../providers";
import type { ConnectionRow } from "../../connections-store";

const Credentials = z
  .record(z.string(), z.string().max(10_000))
  .openapi({ description: "Provider credentials (write-only)", example: { apiKey: "re_..." } });
const Limits = documentable(MailboxLimits).openapi("MailboxLimits", {
  description:
    "How fast this connection (mailbox) may send: at most `perDay` per calendar day in `timezone` (default UTC), `minGapSeconds` apart plus up to `jitterSeconds` of random spacing, and while warming up `startPerDay` on its first sending day, `increasePerDay` more each day after (never above `perDay`). Sends wait for their slot instead of failing.",
  example: {
    perDay: 40,
    minGapSeconds: 120,
    jitterSeconds: 60,
    warmup: { startPerDay: 10, increasePerDay: 5 },
  },
});
const Key = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[\w-]+$/);

const ReplyDomain = z
  .string()
  .trim()
  .toLowerCase()
  .max(253)
  .regex(
    /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
    "A domain name, e.g. replies.acme.example",
  )
  .nullable()
  .optional()
  .openapi({
    description:
      "Replies to this connection's emails go to `reply+<signed token>@<replyDomain>`; route that domain to the Worker with Email Routing so they are matched to their message",
  });

export const ConnectionInput = z
  .strictObject({
    provider: z.enum(CONNECTION_PROVIDER_NAMES).openapi({
      description:
        "An email provider, or a phone provider: `twilio` (SMS and calls; credentials `accountSid`, `authToken`, and `from` or `messagingServiceSid`) or `vapi` (voice-agent calls; `apiKey`, `phoneNumberId`, `webhookSecret`). Point the provider's webhooks at /inbound/{provider}/{id}. Or an LLM provider for agent templates: `openai` (any OpenAI-compatible Chat Completions endpoint: `apiKey`, optional `baseUrl` — default https://api.openai.com/v1; Workers AI, Groq, Together, a local Ollama — and `organization`) or `anthropic` (Messages API: `apiKey`, optional `baseUrl`).",
    }),
    key: Key.optional().openapi({
      description:
        "Unique per org. Default: `default` for an email provider (the org's default sender), the provider's name for a phone or LLM provider",
    }),
    credentials: Credentials.default({}),
    from: z.string().max(320).nullable().optional(),
    replyDomain: ReplyDomain,
    limits: Limits.nullable().optional(),
  })
  .openapi("ConnectionInput");

export const ConnectionPatch = z
  .strictObject({
    key: Key.optional(),
    credentials: Credentials.optional(),
    from: z.string().max(320).nullable().optional(),
    replyDomain: ReplyDomain,
    limits: Limits.nullable().optional(),
  })
  .openapi("ConnectionPatch");

export const Connection = z
  .object({
    id: z.string(),
    provider: z.string(),
    key: z.string(),
    from: z.string().nullable(),
    replyDomain: z.string().nullable(),
    limits: z.record(z.string(), z.unknown()).nullable().openapi({
      description: "How fast it may send (MailboxLimits); null: no limits",
    }),
    paused: z.boolean().openapi({
      description:
        "Paused by a bounce or complaint storm: its sends wait (or move to other members of a pool) until POST /v1/connections/{id}/resume",
    }),
    pausedReason: z.string().nullable(),
    stats: z
      .object({
        today: z.number().int().openapi({ description: "Sends scheduled today (its time zone)" }),
        nextFreeAt: Timestamp.nullable(),
        warmupDay: z
          .number()
          .int()
          .nullable()
          .openapi({ description: "0 on the first sending day" }),
        sends: z
          .number()
          .int()
          .openapi({ description: "Sends in the health window (the last 200)" }),
        bounceRate: z.number(),
        complaintRate: z.number(),
      })
      .optional()
      .openapi({ description: "GET /v1/connections/{id} only (email connections)" }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("Connection");

export const connectionJson = (
  c: ConnectionRow,
  stats?: MailboxStats & { sends: number; bounceRate: number; complaintRate: number },
) => ({
  id: c.id,
  provider: c.provider,
  key: c.key,
  from: c.from,
  replyDomain: c.replyDomain,
  limits: c.limits ?? null,
  paused: c.pausedAt !== null,
  pausedReason: c.pausedReason,
  ...(stats
    ? {
        stats: {
          today: stats.today,
          nextFreeAt: iso(stats.nextFreeAt),
          warmupDay: stats.warmupDay,
          sends: stats.sends,
          bounceRate: stats.bounceRate,
          complaintRate: stats.complaintRate,
        },
      }
    : {}),
  createdAt: iso(c.createdAt) as string,
  updatedAt: iso(c.updatedAt) as string,
});
