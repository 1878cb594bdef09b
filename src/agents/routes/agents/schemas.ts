// Agent shapes: agents, their executions, and what monitoring reports about them.
import { z } from "@hono/zod-openapi";
import { iso } from "../../../db/client";
import { EXECUTION_STATUSES } from "../../../db/schema";
import { Timestamp } from "../../../http/openapi";
import { PageQuery } from "../../../http/pagination";
import { AGENT_TYPES, ConfigurationSchema, ExecutionPolicySchema } from "../../rules";
import type { AgentRow, ExchangeRow, ExecutionRow } from "../../store";

const Endpoint = z.string().url().max(2048).openapi({
  description:
    "type `code`: an https URL of your code, POSTed `{input, configuration, executionId}` with a Standard Webhooks signature (the agent's `secret`); its JSON answer is the output",
});

const agentFields = {
  name: z.string().trim().min(1).max(100).openapi({ description: "Unique per org" }),
  type: z.enum(AGENT_TYPES).openapi({
    description:
      "`workflow`: enrolls `input.contact` (or `input.contactId`) in `workflowId`; `template`: asks a model with the agent template `templateId`; `code`: calls `endpoint`",
  }),
  workflowId: z.string().max(100).optional(),
  templateId: z.string().max(100).optional(),
  endpoint: Endpoint.optional(),
  configuration: ConfigurationSchema.optional(),
  executionPolicy: ExecutionPolicySchema.partial().optional().openapi({
    description: "Workflow and code agents (template agents follow their template's policy)",
  }),
  status: z.enum(["active", "paused"]).optional(),
};

export const AgentInput = z.strictObject(agentFields).openapi("AgentInput");

/** The body of POST /v1/agents: the agent at the top level or wrapped in `agent`. */
export const SpawnAgent = z
  .union([AgentInput, z.strictObject({ agent: AgentInput })])
  .openapi("SpawnAgent");

export const AgentPatch = z
  .strictObject({
    name: agentFields.name.optional(),
    status: agentFields.status,
    configuration: agentFields.configuration.openapi({
      description: "Replaces the configuration",
    }),
    endpoint: Endpoint.optional(),
    executionPolicy: agentFields.executionPolicy,
  })
  .openapi("AgentPatch");

export const Agent = z
  .object({
    id: z.string(),
    name: z.string(),
    type: z.enum(AGENT_TYPES),
    status: z.enum(["active", "paused"]),
    workflowId: z.string().nullable(),
    templateId: z.string().nullable(),
    endpoint: z.string().nullable(),
    configuration: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    executionPolicy: ExecutionPolicySchema.openapi({
      description: "The policy its executions run under (a template agent's is its template's)",
    }),
    secret: z.string().optional().openapi({
      description:
        "type `code`, in the creation response only: the `whsec_` secret that signs calls to the endpoint",
    }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("Agent");

export const agentJson = (a: AgentRow, policy = a.policy, secret?: string) => ({
  id: a.id,
  name: a.name,
  type: a.type,
  status: a.status,
  workflowId: a.workflowId,
  templateId: a.templateId,
  endpoint: a.endpoint,
  configuration: a.configuration,
  executionPolicy: policy,
  ...(secret ? { secret } : {}),
  createdAt: iso(a.createdAt) as string,
  updatedAt: iso(a.updatedAt) as string,
});

const IdempotencyKey = z.string().min(1).max(255);

export const ExecuteAgent = z
  .strictObject({
    input: z.record(z.string(), z.unknown()).default({}).openapi({
      description:
        "A workflow agent reads `contact` (fields) or `contactId`, and `variables`; a template agent's prompt sees it as `input`; a code agent receives it",
    }),
    idempotency_key: IdempotencyKey.optional().openapi({
      description:
        "The same key returns the same execution; another input under it is 422 `idempotency_key_reused`. The `Idempotency-Key` header works too.",
    }),
    idempotencyKey: IdempotencyKey.optional().openapi({ description: "Alias of idempotency_key" }),
  })
  .openapi("ExecuteAgent");

export const InferenceInput = z
  .strictObject({ input: z.record(z.string(), z.unknown()).default({}) })
  .openapi("InferenceInput");

export const ScoreLeadInput = z
  .strictObject({ contactId: z.string().min(1).max(100) })
  .openapi("ScoreLeadInput");

export const Score = z
  .object({
    contactId: z.string(),
    score: z.number().int().openapi({ description: "0–100, stored on the contact" }),
    reasons: z
      .array(z.string())
      .openapi({ description: "One per rule that counted, largest effect first" }),
    rulesScore: z.number().int(),
    modelScore: z.number().int().nullable().openapi({
      description:
        "The model's judgement; null without `score.llm.templateId`, or when the template's execution policy refused the call (see `reasons`)",
    }),
    scoredAt: Timestamp,
    executionId: z.string(),
  })
  .openapi("LeadScore");

const ErrorShape = z.object({ code: z.string(), message: z.string() });

export const Execution = z
  .object({
    id: z.string(),
    agentId: z.string(),
    kind: z.enum(["execute", "inference", "score", "step"]),
    status: z.enum(EXECUTION_STATUSES),
    input: z.record(z.string(), z.unknown()),
    output: z.unknown().nullable(),
    error: ErrorShape.nullable(),
    enrollmentId: z
      .string()
      .nullable()
      .openapi({ description: "Workflow agents: the enrollment created" }),
    idempotencyKey: z.string().nullable(),
    model: z.string().nullable(),
    tokens: z.object({
      input: z.number().int(),
      output: z.number().int(),
      total: z.number().int(),
    }),
    costUsd: z.number(),
    attempts: z.number().int(),
    durationMs: z.number().int().nullable(),
    createdAt: Timestamp,
    startedAt: Timestamp.nullable(),
    finishedAt: Timestamp.nullable(),
  })
  .openapi("AgentExecution");

export const executionJson = (x: ExecutionRow) => ({
  id: x.id,
  agentId: x.agentId,
  kind: x.kind,
  status: x.status,
  input: x.input,
  output: x.output ?? null,
  error: x.error ?? null,
  enrollmentId: x.enrollmentId,
  idempotencyKey: x.idempotencyKey.startsWith("auto:") ? null : x.idempotencyKey,
  model: x.model,
  tokens: { input: x.tokensIn, output: x.tokensOut, total: x.tokensIn + x.tokensOut },
  costUsd: x.costUsd,
  attempts: x.attempts,
  durationMs: x.startedAt !== null && x.finishedAt !== null ? x.finishedAt - x.startedAt : null,
  createdAt: iso(x.createdAt) as string,
  startedAt: iso(x.startedAt),
  finishedAt: iso(x.finishedAt),
});

export const ExecutionQuery = PageQuery.extend({
  status: z.enum(EXECUTION_STATUSES).optional(),
  since: z.iso
    .datetime({ offset: true })
    .optional()
    .openapi({ description: "Created at or after" }),
});

export const LogQuery = PageQuery.extend({
  executionId: z.string().max(100).optional(),
});

export const AgentLog = z
  .object({
    id: z.string(),
    executionId: z.string(),
    level: z.enum(["info", "warn", "error"]),
    message: z.string(),
    at: Timestamp,
  })
  .openapi("AgentLogLine");

export const AgentStatus = z
  .object({
    agentId: z.string(),
    status: z.enum(["active", "paused"]),
    queued: z
      .number()
      .int()
      .openapi({ description: "Executions queued (waiting for a slot or their turn)" }),
    running: z.number().int(),
    startedToday: z.number().int(),
    spentTodayUsd: z.number(),
    executionPolicy: ExecutionPolicySchema,
    lastSuccess: z.object({ executionId: z.string(), at: Timestamp }).nullable(),
    lastError: z
      .object({ executionId: z.string(), at: Timestamp, code: z.string(), message: z.string() })
      .nullable(),
  })
  .openapi("AgentStatus");

export const DaysQuery = z.object({
  days: z.coerce
    .number()
    .int()
    .min(1)
    .max(90)
    .default(30)
    .openapi({
      param: { name: "days", in: "query" },
      description: "Days back from today (org reporting time zone); default 30",
    }),
});

export const AgentCosts = z
  .object({
    agentId: z.string(),
    currency: z.literal("USD"),
    timezone: z.string(),
    totalUsd: z.number(),
    days: z.array(
      z.object({
        day: z.string(),
        model: z.string().nullable(),
        executions: z.number().int(),
        tokensIn: z.number().int(),
        tokensOut: z.number().int(),
        costUsd: z.number(),
      }),
    ),
  })
  .openapi("AgentCosts");

const Figures = {
  executions: z.number().int(),
  succeeded: z.number().int(),
  failed: z.number().int(),
  successRate: z
    .number()
    .nullable()
    .openapi({ description: "succeeded ÷ (succeeded + failed); null over 0" }),
  p50DurationMs: z.number().int().nullable(),
  p95DurationMs: z.number().int().nullable(),
  costUsd: z.number(),
};

export const AgentMetrics = z
  .object({
    agentId: z.string(),
    timezone: z.string(),
    totals: z.object(Figures),
    days: z.array(z.object({ day: z.string(), ...Figures })),
  })
  .openapi("AgentMetrics");

export const FleetAgent = z
  .object({
    agentId: z.string(),
    name: z.string(),
    type: z.enum(AGENT_TYPES),
    paused: z.boolean(),
    executions: z.number().int(),
    failures: z.number().int(),
    p95DurationMs: z.number().int().nullable(),
    spendUsd: z.number(),
    queuedNow: z.number().int(),
  })
  .openapi("FleetAgent");

export const Fleet = z
  .object({ windowHours: z.literal(24), generatedAt: Timestamp, agents: z.array(FleetAgent) })
  .openapi("AgentFleet");

export const Exchange = z
  .object({
    id: z.string(),
    executionId: z.string(),
    attempt: z
      .number()
      .int()
      .openapi({ description: "2: the retry with the validation errors fed back" }),
    model: z.string(),
    prompt: z
      .string()
      .openapi({ description: "Personal data redacted by the template's personalFields" }),
    answer: z.string().openapi({
      description:
        "As the model wrote it, with the personalFields' values redacted however it repeated them (any case or spacing; an email's local part)",
    }),
    validationErrors: z
      .array(z.string())
      .openapi({ description: "Redacted as the answer (a parse error quotes the answer)" }),
    tokens: z.object({ input: z.number().int(), output: z.number().int() }),
    at: Timestamp,
    expiresAt: Timestamp,
  })
  .openapi("ModelExchange");

export const exchangeJson = (x: ExchangeRow) => ({
  id: x.id,
  executionId: x.executionId,
  attempt: x.attempt,
  model: x.model,
  prompt: x.prompt,
  answer: x.answer,
  validationErrors: x.validationErrors,
  tokens: { input: x.tokensIn, output: x.tokensOut },
  at: iso(x.at) as string,
  expiresAt: iso(x.expiresAt) as string,
});
