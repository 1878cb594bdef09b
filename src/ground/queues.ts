// What travels on the queues — one message type per queue — and which consumer a queue feeds.
// Every job names its org (or, for system events, each event does): the consumer reaches the
// org's shard through it (src/db/shards.ts).
import type { SendEmailConfig } from "../engine/email";
import type { CallConfig } from "../engine/outreach";
import type { CreateTaskEffect, RunAgentEffect, WebhookEffect } from "../engine/types";

/** An outbound webhook event, as the customer's endpoint receives it. */
export interface OutboundEvent {
  id: string;
  type: string;
  createdAt: string;
  data: Record<string, unknown>;
}

/**
 * What joins the log lines of one piece of work across hops (request, queue, provider call,
 * webhook delivery): the effect key for work an enrollment started, the request id for work a
 * request started. Optional on read: jobs queued before it carry none.
 */
export interface Traced {
  trace?: string;
}

/** What every message job names: the effect it performs and where it came from. */
interface OutreachOrigin extends Traced {
  key: string;
  orgId: string;
  enrollmentId: string;
  workflowId: string;
  workflowName: string;
  stepId: string;
  contactId: string;
}

/** nudge-messages: one send_email effect of one enrollment. */
export interface EmailJob extends OutreachOrigin {
  kind: "send";
  config: SendEmailConfig;
  vars: Record<string, unknown>;
  event: Record<string, unknown>;
}

/** nudge-messages also carries the other channels' effects: a text message (body rendered)... */
export interface SmsJob extends OutreachOrigin {
  kind: "sms";
  body: string;
  /** Absent in jobs queued before categories: marketing. */
  category?: "marketing" | "transactional";
  topic?: string;
  connectionId?: string;
  onError?: "fail" | "continue";
}
/** ...a phone call to place (its outcome comes back later)... */
export interface CallJob extends OutreachOrigin {
  kind: "call";
  config: CallConfig;
  /** The enrollment's variables, for a voice agent's prompt. */
  vars: Record<string, unknown>;
}
/** ...and a task to create for a person. */
export interface TaskJob extends OutreachOrigin {
  kind: "task";
  task: CreateTaskEffect["task"];
}

/** What the message queue (nudge-messages) carries: one effect of one enrollment per job. */
export type MessageJob = EmailJob | SmsJob | CallJob | TaskJob;

/** nudge-webhook: publish an event to the org's subscriptions, deliver one, or call a webhook step's endpoint. */
export type WebhookJob = Traced &
  (
    | {
        kind: "publish";
        orgId: string;
        event: OutboundEvent;
        origin?: { enrollmentId: string; key: string };
      }
    | { kind: "deliver"; orgId: string; deliveryId: string }
    | {
        kind: "call";
        key: string;
        orgId: string;
        enrollmentId: string;
        stepId: string;
        request: WebhookEffect["request"];
      }
  );

/** An event the system records for a contact (`email.*`, `contact.unsubscribed`, ...). */
export interface SystemEvent {
  orgId: string;
  contactId: string;
  name: string;
  data: Record<string, unknown>;
  /** Makes the stored event and the webhook event ids stable across retries. */
  key?: string;
  /** When it happened, if the caller knows a time that a retry gives again (a message's sentAt). */
  at?: number;
  /** The trace of the work that caused the event, carried to its webhook deliveries. */
  trace?: string;
}

/** nudge-event: opens, clicks and unsubscribes from the edge, import chunks, and system events to record. */
/** One chunk of an import's rows. */
export interface ImportJob {
  kind: "import";
  orgId: string;
  importId: string;
  chunk: number;
}

/** Build the next part of a report's file (a run is a generation: older jobs stop). */
export interface ReportJob {
  kind: "report";
  orgId: string;
  reportId: string;
  generation: number;
}

export type EventJob = Traced &
  (
    | {
        kind: "open" | "click";
        id: string;
        orgId: string;
        messageId: string;
        at: number;
        machine: string | null;
        linkIndex?: number;
        url?: string;
      }
    | {
        kind: "unsubscribe";
        id: string;
        orgId: string;
        messageId: string;
        contactId: string;
        at: number;
      }
    | ImportJob
    | ReportJob
    | { kind: "system"; events: SystemEvent[] }
    /** A double opt-in's confirmation email. */
    | { kind: "confirm"; orgId: string; contactId: string; templateId?: string }
    /** Tracked events accepted by POST /v1/events(/batch), to fan out (at most 100 ids). */
    | { kind: "fanout"; orgId: string; eventIds: string[] }
  );

/** Rows per import chunk (one nudge-event job each). */
export const IMPORT_CHUNK_SIZE = 100;

/**
 * nudge-agent: one agent execution to run (its gate admits it first), or a workflow step's
 * `agent`/`score_lead` effect, which becomes an execution keyed by the effect.
 */
export type AgentJob = Traced &
  (
    | { kind: "run"; orgId: string; executionId: string }
    | {
        kind: "step";
        key: string;
        orgId: string;
        enrollmentId: string;
        stepId: string;
        agentId: string;
        mode: RunAgentEffect["mode"];
        input: Record<string, unknown>;
      }
  );

export interface QueueRoute {
  kind: "message" | "webhook" | "event" | "agent";
  deadLetter: boolean;
}

/**
 * The queue names' middles, each with the consumer it feeds. `email` is the message queue's
 * name before it carried texts, calls and tasks too: a deployment made before the rename may
 * still hold jobs there (its dead-letter queue above all), drained by giving it a consumer.
 */
const KINDS: Record<string, QueueRoute["kind"]> = {
  messages: "message",
  email: "message",
  webhook: "webhook",
  event: "event",
  agent: "agent",
};

/**
 * Which consumer a queue feeds, by its name: `nudge-<kind>`, optionally sharded (`-<n>`), a
 * dead-letter queue (`-dlq`, before or after the shard number), and an environment suffix
 * (`-staging`, `-production`, `-dev`). Null for a name that is none of these.
 */
export function routeQueue(name: string): QueueRoute | null {
  const m =
    /^nudge-(messages|email|webhook|event|agent)(?:-\d+)?(-dlq)?(?:-\d+)?(?:-(?:staging|production|dev))?$/.exec(
      name,
    );
  return m ? { kind: KINDS[m[1]], deadLetter: m[2] !== undefined } : null;
}
