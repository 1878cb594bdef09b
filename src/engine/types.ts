// The engine's vocabulary: workflow definitions, enrollment state, effects and log lines.
import { z } from "zod";
import type { SendEmailConfig } from "./email";
import type { CallConfig } from "./outreach";

export type Condition =
  | { field: string; operator: Operator; value?: unknown }
  | { all: Condition[] }
  | { any: Condition[] };

export const OPERATORS = [
  "equals",
  "not_equals",
  "contains",
  "gt",
  "gte",
  "lt",
  "lte",
  "exists",
  "not_exists",
  "in",
] as const;
export type Operator = (typeof OPERATORS)[number];

/** Conditions nest (all/any) at most this deep. */
export const MAX_CONDITION_DEPTH = 32;

/** How deep `all`/`any` nest in a value, counted without recursion, stopping past the limit. */
export function conditionDepth(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    deepest = Math.max(deepest, depth);
    if (deepest > MAX_CONDITION_DEPTH) {
      return deepest;
    }
    const children =
      v && typeof v === "object"
        ? ((v as { all?: unknown }).all ?? (v as { any?: unknown }).any)
        : undefined;
    if (Array.isArray(children)) {
      for (const c of children) {
        stack.push([c, depth + 1]);
      }
    }
  }
  return deepest;
}

const NestedCondition: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z
      .object({
        field: z
          .string()
          .regex(
            /^(contact|vars|event)(\.[\w-]+)+$/,
            "field must address contact.*, vars.* or event.*",
          ),
        operator: z.enum(OPERATORS),
        value: z.unknown().optional(),
      })
      .strict(),
    z.object({ all: z.array(NestedCondition).min(1) }).strict(),
    z.object({ any: z.array(NestedCondition).min(1) }).strict(),
  ]),
) as z.ZodType<Condition>;

/** The JSON Schema of a Condition (the recursive shape), for the step catalog. */
export const conditionJsonSchema = () =>
  z.toJSONSchema(NestedCondition, { unrepresentable: "any" }) as Record<string, unknown>;

/** A Condition; its depth is checked first, so a deeply nested input is refused, not recursed into. */
export const ConditionSchema = z
  .custom<unknown>((v) => conditionDepth(v) <= MAX_CONDITION_DEPTH, {
    message: `Conditions may nest (all/any) at most ${MAX_CONDITION_DEPTH} levels deep`,
  })
  .pipe(NestedCondition) as unknown as z.ZodType<Condition>;

export const DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
export type DayName = (typeof DAY_NAMES)[number];

export interface SendWindow {
  days: DayName[];
  start: string;
  end: string;
}

/** A message's category: marketing (caps, quiet hours, unsubscribes apply) or transactional. */
export type Category = "marketing" | "transactional";

/** Hours when no marketing message goes out (local); `start` after `end` wraps past midnight. */
export interface QuietHoursWindow {
  days: DayName[];
  start: string;
  end: string;
}

/** What the engine is told about sending for one run. */
export interface SendingContext {
  quietHours: QuietHoursWindow | null;
  /** Effect keys whose frequency-cap slot was refused, and until when that cap is full. */
  blocked: Record<string, number>;
  /** The org's topics: whether a contact who never chose is subscribed to each. */
  topics?: Record<string, boolean>;
}

export interface StepDef {
  id: string;
  type: string;
  name?: string;
  config: Record<string, unknown>;
  position?: { x: number; y: number };
}

export interface TransitionDef {
  id: string;
  from: string;
  to: string;
  on?: string;
  condition?: Condition;
  priority?: number;
}

/** What an enrollment pins at start: one immutable version of a workflow. */
/** A workflow's goal: the contact tracks `event` within `withinDays` of enrolling (a conversion). */
export interface WorkflowGoal {
  event: string;
  withinDays: number;
}

export interface WorkflowDefinition {
  id: string;
  name: string;
  version: number;
  steps: StepDef[];
  transitions: TransitionDef[];
  timezone?: string | null;
  sendWindow?: SendWindow | null;
  /** When SMS and calls may go out (within 08:00–21:00 local); unset: 08:00–21:00 every day. */
  callWindow?: SendWindow | null;
  goal?: WorkflowGoal | null;
  /** Contact chaining: the step outcomes that count as the chain's success. */
  chain?: { successOutcomes: string[] } | null;
  /** The category of its email and SMS steps that name none (default marketing). */
  category?: Category;
  /** A send over the org's frequency cap waits for room (`defer`, default) or is skipped (`skip`: outcome capped). */
  onCap?: "defer" | "skip";
  /** Email steps that name no connection send from this pool. */
  connectionPool?: string[] | null;
}

export type EnrollmentStatus = "running" | "waiting" | "completed" | "cancelled" | "failed";

export interface Wait {
  kind: "schedule" | "delay" | "window" | "event" | "outcome";
  stepId: string | null;
  until: number | null;
  event?: string;
  /** kind "outcome": the effect key whose outcome (a call's, a task's) the step waits for. */
  key?: string;
  match?: Condition;
}

export const ENROLLMENT_ERROR_CODES = [
  "step_failed",
  "template_limit_exceeded",
  "step_limit_exceeded",
  "delivery_failed",
  "alarm_failed",
] as const;

/** Why an enrollment failed: a stable code and a human message. */
export interface EnrollmentError {
  code: (typeof ENROLLMENT_ERROR_CODES)[number];
  message: string;
}

export interface EnrollmentState {
  id: string;
  orgId: string;
  workflowId: string;
  contactId: string;
  status: EnrollmentStatus;
  currentStepId: string | null;
  wait: Wait | null;
  visits: Record<string, number>;
  contact: Record<string, unknown> & { data: Record<string, unknown> };
  vars: Record<string, unknown>;
  event: Record<string, unknown>;
  timezone: string;
  bypassSendWindow: boolean;
  /** SMS and calls ignore the call window and the default 08:00–21:00 hours. */
  bypassCallWindow?: boolean;
  /** The contact chain this enrollment is a link of (enrolled with `groupBy`). */
  chain?: { key: string; position: number } | null;
  /** A step ended with one of the workflow's `chain.successOutcomes`. */
  chainSucceeded?: boolean;
  exitReason: string | null;
  error: EnrollmentError | null;
  completedAt: number | null;
  /** Steps executed over the enrollment's life (absent in objects started before it was kept). */
  stepsRun?: number;
}

export interface SendEmailEffect {
  type: "send_email";
  key: string;
  stepId: string;
  config: SendEmailConfig;
}
export interface WebhookEffect {
  type: "webhook";
  key: string;
  stepId: string;
  request: { url: string; method: string; headers: Record<string, string>; body: unknown };
}
export interface UpdateContactEffect {
  type: "update_contact";
  key: string;
  stepId: string;
  data: Record<string, unknown>;
}
/** An outbound notification (`enrollment.*`) for the customer's webhooks. */
export interface EmitEffect {
  type: "emit";
  key: string;
  eventType: LifecycleEvent | "enrollment.step_completed";
  data: Record<string, unknown>;
}
export interface SendSmsEffect {
  type: "send_sms";
  key: string;
  stepId: string;
  category: Category;
  topic?: string;
  /** Rendered. */
  body: string;
  connectionId?: string;
  onError?: "fail" | "continue";
}
export interface PlaceCallEffect {
  type: "place_call";
  key: string;
  stepId: string;
  /** The step's config with its script rendered. */
  config: CallConfig;
}
export interface CreateTaskEffect {
  type: "create_task";
  key: string;
  stepId: string;
  task: {
    taskType: string;
    title: string;
    instructions: string | null;
    assignee: string | null;
    dueAt: number;
    outcomes: string[];
  };
}
/** Run an agent for the enrollment's contact (`execute`), or score the contact (`score`). */
export interface RunAgentEffect {
  type: "run_agent";
  key: string;
  stepId: string;
  agentId: string;
  mode: "execute" | "score";
  input: Record<string, unknown>;
}
export type Effect =
  | RunAgentEffect
  | SendEmailEffect
  | WebhookEffect
  | UpdateContactEffect
  | EmitEffect
  | SendSmsEffect
  | PlaceCallEffect
  | CreateTaskEffect;

export type LogStatus = "started" | "completed" | "waiting" | "skipped" | "failed";
export interface LogLine {
  at: number;
  stepId: string | null;
  stepType: string | null;
  status: LogStatus;
  message: string;
  outcome?: string;
  data?: Record<string, unknown>;
}

/**
 * What moves an enrollment: its start, an alarm, an event — or an ending decided outside the
 * steps: a cancellation, an `exitOn` event, a failure reported for a step (a delivery that
 * failed for good) or for the enrollment itself (its alarm kept failing).
 */
export type EngineInput =
  | { type: "start" }
  | { type: "wake" }
  | { type: "event"; name: string; data: Record<string, unknown> }
  /** What became of a call or a task the enrollment waits for (by its effect key). */
  | { type: "outcome"; key: string; outcome: string; data?: Record<string, unknown> }
  | { type: "cancel"; reason: string }
  | { type: "exit_on"; event: string; reason?: string }
  | { type: "fail"; code: "delivery_failed" | "alarm_failed"; error: string; stepId?: string };

export type LifecycleEvent =
  | "enrollment.created"
  | "enrollment.completed"
  | "enrollment.failed"
  | "enrollment.cancelled";

export interface AdvanceOptions {
  /** Dry run: amount/unit delays and event waits resolve at once in simulated time. */
  skipDelays?: boolean;
  /** The org's quiet hours, and the sends whose frequency-cap slot was refused. */
  sending?: SendingContext;
}

export interface AdvanceResult {
  state: EnrollmentState;
  effects: Effect[];
  logs: LogLine[];
  /** When the enrollment must be woken next; null when it is finished. */
  wakeAt: number | null;
  /** Whether the input changed anything (an event the enrollment was not waiting for does not). */
  changed: boolean;
}
