// Workflow shapes: input (ids optional), output, steps and transitions.
import { z } from "@hono/zod-openapi";
import { TimeZone } from "../../../contacts";
import { type Condition, ConditionSchema, DAY_NAMES } from "../../../engine/types";
import { EventName } from "../../../events/routes/events/schemas";
import { Timestamp } from "../../../http/openapi";

const LocalId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[\w-]+$/, "Ids use letters, digits, _ and -");
const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "Use HH:MM (24 h)");

/**
 * A transition's Condition, validated by the engine's ConditionSchema but documented as one
 * object schema: the OpenAPI generator cannot walk a recursive (lazy) schema.
 */
const ConditionInput = z
  .unknown()
  .superRefine((value, ctx) => {
    const r = ConditionSchema.safeParse(value);
    if (!r.success) {
      for (const issue of r.error.issues) {
        ctx.addIssue({ code: "custom", message: issue.message, path: issue.path });
      }
    }
  })
  .transform((v) => v as Condition)
  .openapi({
    type: "object",
    description:
      "A Condition: `{field, operator, value?}` (field addresses contact.*, vars.* or event.*), `{all: [Condition]}` or `{any: [Condition]}`",
    example: { field: "contact.data.plan", operator: "equals", value: "pro" },
  });

const stepFields = {
  name: z.string().max(200).optional(),
  position: z.strictObject({ x: z.number(), y: z.number() }).optional(),
};

export const StepInput = z
  .strictObject({
    id: LocalId.optional(),
    type: z.string().min(1).max(50),
    ...stepFields,
    config: z.record(z.string(), z.unknown()).default({}).openapi({
      description:
        "The step type's settings (GET /v1/workflows/step-types); a field the type does not know is 422",
    }),
    templateId: z.string().min(1).max(100).optional().openapi({
      description: "Alias of `config.templateId`, for `send_email` steps only (seed shape)",
    }),
  })
  .openapi("StepInput");

/** POST /v1/workflows/{id}/steps: a step, and whether to link it after the current last step. */
export const NewStepInput = z
  .strictObject({
    ...StepInput.shape,
    autoConnect: z.boolean().optional().openapi({
      description: "Link the new step after the graph's last step",
    }),
  })
  .openapi("NewStepInput");

/** A step's changes: only what is given changes (no default config that would wipe the step's own). */
export const StepPatch = z
  .strictObject({ ...stepFields, config: z.record(z.string(), z.unknown()).optional() })
  .openapi("StepPatch");

export const TransitionInput = z
  .strictObject({
    id: LocalId.optional(),
    from: z.string().min(1).max(64),
    to: z.string().min(1).max(64),
    on: z.string().min(1).max(50).optional(),
    condition: ConditionInput.optional(),
    priority: z.number().int().min(-1_000_000).max(1_000_000).optional(),
  })
  .openapi("TransitionInput");

export const Trigger = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("manual") }),
  z.strictObject({ type: z.literal("event"), event: EventName }),
]);

export const SendWindowSchema = z
  .strictObject({ days: z.array(z.enum(DAY_NAMES)).min(1), start: HHMM, end: HHMM })
  .refine((w) => w.start < w.end, { message: "start must be before end", path: ["end"] });

export const CallWindowSchema = SendWindowSchema.refine(
  (w) => w.start >= "08:00" && w.end <= "21:00",
  {
    message:
      "A call window lies within 08:00–21:00 in the contact's time zone; enroll with bypassCallWindow to call outside it",
    path: ["start"],
  },
).openapi("CallWindow", {
  description:
    "When `send_sms` and `call` steps may act, in the contact's time zone (within 08:00–21:00). Unset: 08:00–21:00 every day. The send window applies to email only.",
  example: { days: ["mon", "tue", "wed", "thu", "fri"], start: "09:00", end: "17:00" },
});

const VariableName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z_][\w-]*$/, "Variable names use letters, digits, _ and - (not first)");

const RequiredVariables = z
  .array(VariableName)
  .max(50)
  .optional()
  .openapi({
    description:
      "Variables every enrollment must bring (non-empty); enrolling without them is 422 `missing_variables` naming them (bulk: that row `invalid`)",
    example: ["company", "account_id"],
  });

export const ChainSchema = z
  .strictObject({
    successOutcomes: z.array(z.string().min(1).max(50)).min(1).max(20),
  })
  .openapi("ChainSettings", {
    description:
      'Contact chaining (enrollments with `groupBy`): a link that reaches one of these step outcomes satisfies its chain, and the links after it end `cancelled` (`chain_satisfied`). Default `["answered"]`.',
    example: { successOutcomes: ["answered", "connected"] },
  });

const StopOnReply = z.boolean().nullable().optional().openapi({
  description:
    'End an enrollment `completed` with `exitReason: "replied"` when the contact replies to one of its emails (an automatic reply does not count). Unset: on for workflows with two or more `send_email` steps.',
});
const OnAutoReply = z.enum(["ignore", "pause_until_return"]).optional().openapi({
  description:
    "On an out-of-office or other automatic reply: `ignore` (default), or `pause_until_return` — hold the enrollment until the return date the reply names, else for 7 days.",
});

export const GoalSchema = z
  .strictObject({
    event: EventName,
    withinDays: z.number().int().min(1).max(365),
  })
  .openapi("WorkflowGoal", {
    description:
      "A conversion: the contact tracks `event` within `withinDays` of enrolling. Counted once per enrollment as `converted` (and per A/B variant) in /v1/analytics.",
    example: { event: "purchased", withinDays: 14 },
  });

const settings = {
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000).nullable().optional(),
  trigger: Trigger.default({ type: "manual" }),
  allowReentry: z.boolean().default(false),
  exitOn: z.array(EventName).max(50).default([]),
  stopOnReply: StopOnReply,
  onAutoReply: OnAutoReply,
  timezone: TimeZone.nullable().optional(),
  sendWindow: SendWindowSchema.nullable().optional(),
  callWindow: CallWindowSchema.nullable().optional(),
  requiredVariables: RequiredVariables,
  chain: ChainSchema.nullable().optional(),
  category: z.enum(["marketing", "transactional"]).optional().openapi({
    description:
      "The category of email and SMS steps that name none (default marketing): transactional messages ignore frequency caps, quiet hours and unsubscribes, never bounces and complaints",
  }),
  onCap: z.enum(["defer", "skip"]).optional().openapi({
    description:
      "A marketing send over the org's frequency cap: `defer` (default) waits until the cap has room (the next local day or ISO week), `skip` takes the step's outcome `capped`",
  }),
  connectionPool: z.array(z.string().min(1).max(100)).min(1).max(20).nullable().optional().openapi({
    description:
      "Email connections (ids) to send from: each send goes through the member with the earliest free slot under its limits (paused ones skipped); a contact keeps its first connection for the rest of the enrollment, so threads stay in one mailbox",
  }),
  goal: GoalSchema.nullable().optional(),
};

export const WorkflowStatus = z.enum(["draft", "active", "paused", "archived"]);

/** Seed 004's on/off switch: an alias of `status` (true = active, false = paused). */
const Enabled = z.boolean().optional().openapi({
  description:
    "Alias of `status`: `true` is `active`, `false` is `paused`. Giving both with different meanings is 422.",
});

export const WorkflowInput = z
  .strictObject({
    ...settings,
    status: z
      .enum(["draft", "active", "paused"])
      .optional()
      .openapi({ description: "Default `draft`" }),
    enabled: Enabled,
    steps: z.array(StepInput).max(200).default([]),
    transitions: z.array(TransitionInput).max(1000).optional(),
  })
  .openapi("WorkflowInput");

export const WorkflowPatch = z
  .strictObject({
    name: settings.name.optional(),
    description: settings.description,
    trigger: Trigger.optional(),
    allowReentry: z.boolean().optional(),
    exitOn: z.array(EventName).max(50).optional(),
    stopOnReply: StopOnReply,
    onAutoReply: OnAutoReply,
    timezone: settings.timezone,
    sendWindow: settings.sendWindow,
    callWindow: settings.callWindow,
    requiredVariables: RequiredVariables,
    chain: settings.chain,
    category: settings.category,
    onCap: settings.onCap,
    connectionPool: settings.connectionPool,
    goal: settings.goal,
    status: WorkflowStatus.optional(),
    enabled: Enabled,
    steps: z.array(StepInput).max(200).optional(),
    transitions: z.array(TransitionInput).max(1000).optional(),
  })
  .openapi("WorkflowPatch");

const Step = z
  .object({
    id: z.string(),
    type: z.string(),
    name: z.string().optional(),
    config: z.record(z.string(), z.unknown()),
    position: z.strictObject({ x: z.number(), y: z.number() }).optional(),
  })
  .openapi("Step");
const Transition = z
  .object({
    id: z.string(),
    from: z.string(),
    to: z.string(),
    on: z.string().optional(),
    condition: z.any().optional(),
    priority: z.number().optional(),
  })
  .openapi("Transition");

export const Workflow = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    status: WorkflowStatus,
    trigger: z.object({ type: z.enum(["manual", "event"]), event: z.string().optional() }),
    allowReentry: z.boolean(),
    exitOn: z.array(z.string()),
    stopOnReply: z.boolean().openapi({ description: "Effective: the setting, or its default" }),
    onAutoReply: z.enum(["ignore", "pause_until_return"]),
    timezone: z.string().nullable(),
    sendWindow: z
      .object({ days: z.array(z.string()), start: z.string(), end: z.string() })
      .nullable(),
    callWindow: z
      .object({ days: z.array(z.string()), start: z.string(), end: z.string() })
      .nullable(),
    requiredVariables: z.array(z.string()),
    category: z.enum(["marketing", "transactional"]),
    onCap: z.enum(["defer", "skip"]),
    connectionPool: z.array(z.string()).nullable(),
    chain: z.object({ successOutcomes: z.array(z.string()) }).openapi({
      description: 'Effective: the setting, or its default `["answered"]`',
    }),
    goal: z.object({ event: z.string(), withinDays: z.number().int() }).nullable(),
    steps: z.array(Step),
    transitions: z.array(Transition),
    version: z.number().int(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("Workflow");

export const StepTypeInfo = z
  .object({
    type: z.string(),
    description: z.string(),
    outcomes: z.array(z.string()),
    configSchema: z.record(z.string(), z.unknown()),
  })
  .openapi("StepType");

export const TestInput = z
  .strictObject({
    fixtureProfile: z.enum(["minimal", "demo"]).default("minimal"),
    sampleData: z.record(z.string(), z.unknown()).default({}),
    variables: z.record(z.string(), z.unknown()).default({}),
    startAt: z.iso.datetime({ offset: true }).optional(),
    timezone: TimeZone.optional(),
  })
  .openapi("WorkflowTestInput");

export const TestResult = z
  .object({
    testFixtureProfile: z.string(),
    sampleData: z.record(z.string(), z.unknown()),
    trace: z.array(
      z.object({
        stepId: z.string().nullable(),
        type: z.string().nullable(),
        outcome: z.string().nullable(),
        message: z.string(),
        simulatedAt: Timestamp,
      }),
    ),
    finalStatus: z.string(),
  })
  .openapi("WorkflowTestResult");

export const Version = z
  .object({
    version: z.number().int(),
    createdAt: Timestamp,
    definition: z.record(z.string(), z.unknown()),
  })
  .openapi("WorkflowVersion");
