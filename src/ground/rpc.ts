// What each Durable Object answers over RPC, declared on the ground floor so that everything
// reaching an object (routes, consumers, the domain) depends on this contract, not on a class.
import type { MailboxLimits } from "../engine/governance";
import type { EnrollmentState, LogLine, WorkflowDefinition } from "../engine/types";

/** What an enrollment object needs to begin; also rebuilt from D1 by the watchdog. */
export interface StartPayload {
  enrollmentId: string;
  orgId: string;
  workflowId: string;
  contactId: string;
  definition: WorkflowDefinition;
  contact: Record<string, unknown> & { data: Record<string, unknown> };
  vars: Record<string, unknown>;
  event: Record<string, unknown>;
  timezone: string;
  bypassSendWindow: boolean;
  /** Absent in payloads rebuilt before it existed: false. */
  bypassCallWindow?: boolean;
  /** A link of a contact chain: when it ends, the chain is handed on. */
  chain?: { key: string; position: number } | null;
  startAt: number | null;
  /**
   * The event types the org's webhooks subscribe to, as the starter saw them: the first run
   * happens inside start() and emits only what someone wants (later runs look again).
   */
  subscriptions?: string[];
}

export interface EnrollmentSnapshot {
  state: EnrollmentState;
  logs: LogLine[];
  nextRunAt: number | null;
  version: number;
  /** Effects handed to a queue and not yet confirmed by their consumer. */
  pendingEffects: number;
  /** Held at its next step until then (an automatic reply's return date). */
  heldUntil?: number | null;
}

export type PokeResult = "rearmed" | "ok" | "finished" | "not_started";

/** One enrollment = one object (named by the enrollment id). */
export interface EnrollmentRpc extends Rpc.DurableObjectBranded {
  /** Idempotent: a second start of the same enrollment changes nothing; false when refused. */
  start(p: StartPayload): Promise<boolean>;
  /** What became of the call or task (effect `key`) the enrollment waits for; true when it resumed. */
  deliverOutcome(key: string, outcome: string, data?: Record<string, unknown>): Promise<boolean>;
  /** An event for this enrollment; true when it resumed a wait. */
  deliverEvent(name: string, data: Record<string, unknown>): Promise<boolean>;
  /** exitOn: ends an active enrollment as completed with `exit_on:<name>` (or `reason`). */
  exitOn(name: string, reason?: string): Promise<boolean>;
  /** Holds an active enrollment at its next step until `until` (an automatic reply's return). */
  holdUntil(until: number, reason: string): Promise<boolean>;
  /** False when the object never started (a tombstone then refuses a late start). */
  cancel(reason: string): Promise<boolean>;
  /** Consumers confirm the effects they have durably recorded or finished. */
  ackEffects(keys: string[]): Promise<void>;
  /** A permanent delivery failure of a step that does not continue on error. */
  failFromDelivery(stepId: string, error: string): Promise<boolean>;
  /** Contact erasure: drop the personal data the object holds. */
  forgetContact(): Promise<void>;
  /** DELETE /v1/enrollments/:id: cancel if active, then drop everything stored. */
  destroy(): Promise<void>;
  snapshot(): Promise<EnrollmentSnapshot | null>;
  /** The watchdog: re-arm a lost alarm and re-mirror. */
  poke(): Promise<PokeResult>;
}

/** What a mailbox knows of its schedule: today's count, its next free slot, its warm-up day. */
export interface MailboxStats {
  today: number;
  nextFreeAt: number | null;
  warmupDay: number | null;
}

/** One email connection = one object (named by the connection id): its send scheduler. */
export interface MailboxRpc extends Rpc.DurableObjectBranded {
  /** The slot of a send (the same key always gets the same slot), counted in the day's allowance. */
  reserve(key: string, limits: MailboxLimits): Promise<number>;
  /** When the next send would go, without taking the slot. */
  peek(limits: MailboxLimits): Promise<number>;
  stats(limits: MailboxLimits | null): Promise<MailboxStats>;
}

/** An agent's gate, as GET /v1/agents/{id}/status reports it. */
/** An agent's execution policy (validated by the agents wing's ExecutionPolicySchema). */
export interface ExecutionPolicy {
  maxConcurrent: number | null;
  maxPerDay: number | null;
  budgetUsdPerDay: number | null;
  retries: number;
  timeoutSeconds: number;
}

/** A gate's answer to a run: `busy` means no slot for a synchronous call, which does not wait. */
export type Admission = "run" | "wait" | "busy" | "budget_exhausted";

export interface GateStatus {
  running: number;
  waiting: number;
  startedToday: number;
  spentTodayUsd: number;
}

/** One agent, or one agent template, = one gate (named `agent:<id>` or `template:<id>`). */
export interface AgentGateRpc extends Rpc.DurableObjectBranded {
  /**
   * Admission under the policy (days in `tz`); asking again while admitted says `run` again.
   * `waits` false (a synchronous call): `busy` instead of a place in the queue.
   */
  admit(
    /** The org whose execution it is: freed slots are sent on naming it (its shard). */
    orgId: string,
    executionId: string,
    policy: ExecutionPolicy,
    tz: string,
    waits?: boolean,
  ): Promise<Admission>;
  /** A run ended (its cost counts today); freed slots go to the waiting, sent on to the queue. */
  release(
    orgId: string,
    executionId: string | null,
    costUsd: number,
    policy: ExecutionPolicy,
    tz: string,
  ): Promise<void>;
  /** Running, waiting, and the day's count and spend (days in `tz`). */
  status(tz: string): Promise<GateStatus>;
}
