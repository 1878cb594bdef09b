// agent and score_lead: run one of the org's agents for the enrollment's contact through the
// agent queue and wait for its execution: `succeeded` (an agent's output merged into the
// variables; a score stored on the contact as `contact.score`), `failed`, or `timeout`.
import { z } from "zod";
import { renderDeep } from "../templates";
import type { RunAgentEffect } from "../types";
import { defineStep, type StepContext, type StepResult } from "./step";

const AgentId = z
  .string()
  .regex(/^agt_[0-9A-Z]{26}$/, "An agent id (agt_…)")
  .meta({ examples: ["agt_01JD0000000000000000000000"] });
const TimeoutSeconds = z
  .number()
  .int()
  .min(60)
  .max(7 * 86_400)
  .default(3_600)
  .optional()
  .describe("How long the step waits for the execution before outcome `timeout` (default 1 hour)");

export const AgentStepConfig = z.strictObject({
  agentId: AgentId,
  input: z
    .record(z.string(), z.unknown())
    .optional()
    .describe(
      "Extra input (Liquid-templated) beside `contact`, `contactId` and `variables`, which the step always sends",
    ),
  as: z
    .string()
    .regex(/^[A-Za-z_]\w{0,63}$/)
    .optional()
    .describe(
      "Store the output under this variable; unset: an object output is merged into the variables, anything else goes to `agentOutput`",
    ),
  timeoutSeconds: TimeoutSeconds,
});
export type AgentStepConfig = z.infer<typeof AgentStepConfig>;

export const ScoreLeadStepConfig = z.strictObject({
  agentId: AgentId,
  timeoutSeconds: TimeoutSeconds,
});
export type ScoreLeadStepConfig = z.infer<typeof ScoreLeadStepConfig>;

const OUTCOMES = ["succeeded", "failed", "timeout"];

function start(
  ctx: StepContext,
  mode: RunAgentEffect["mode"],
  agentId: string,
  input: Record<string, unknown>,
  timeoutSeconds: number,
): StepResult {
  const effect: RunAgentEffect = {
    type: "run_agent",
    key: ctx.key,
    stepId: ctx.step.id,
    agentId,
    mode,
    input: {
      ...input,
      contactId: ctx.state.contactId,
      contact: ctx.scope.contact,
      variables: ctx.scope.vars,
    },
  };
  if (ctx.opts.skipDelays) {
    return {
      kind: "outcome",
      outcome: "succeeded",
      message: `[test] Would ${mode === "score" ? "score the contact with" : "run"} agent ${agentId}`,
    };
  }
  const until = ctx.now + timeoutSeconds * 1000;
  return {
    kind: "wait",
    wait: { kind: "outcome", stepId: ctx.step.id, until, key: ctx.key },
    message: `Agent ${agentId} ${mode === "score" ? "scoring the contact" : "running"}; waiting until ${new Date(until).toISOString()} at most`,
    effects: [effect],
  };
}

const timedOut = (ctx: StepContext, until: number | null): StepResult | null =>
  until != null && ctx.now >= until
    ? { kind: "outcome", outcome: "timeout", message: "The agent did not finish in time" }
    : null;

const failed = (data: Record<string, unknown> | undefined): StepResult => ({
  kind: "outcome",
  outcome: "failed",
  message: `The agent failed: ${String((data?.error as { message?: string } | undefined)?.message ?? "no reason given")}`,
});

export const agentStep = defineStep<AgentStepConfig>({
  type: "agent",
  description:
    "Run one of the org's agents (`agentId`) with the contact, its id and the enrollment's variables as input (plus `input`, Liquid-templated) and wait for the execution: `succeeded` merges its output into the variables (or stores it under `as`), `failed`, or `timeout` after `timeoutSeconds`.",
  config: AgentStepConfig,
  outcomes: () => OUTCOMES,
  pauses: () => true,
  execute(config, ctx) {
    const input = (renderDeep(config.input ?? {}, ctx.scope) ?? {}) as Record<string, unknown>;
    return start(ctx, "execute", config.agentId, input, config.timeoutSeconds ?? 3_600);
  },
  resume(config, ctx, wait, input) {
    if (input.type === "outcome" && input.key === wait.key) {
      if (input.outcome !== "succeeded") {
        return failed(input.data);
      }
      const output = input.data?.output;
      const vars = config.as
        ? { [config.as]: output }
        : output && typeof output === "object" && !Array.isArray(output)
          ? (output as Record<string, unknown>)
          : { agentOutput: output };
      return {
        kind: "outcome",
        outcome: "succeeded",
        message: `Agent ${config.agentId} succeeded (execution ${String(input.data?.executionId ?? "?")})`,
        vars,
      };
    }
    return input.type === "wake" ? timedOut(ctx, wait.until) : null;
  },
});

export const scoreLeadStep = defineStep<ScoreLeadStepConfig>({
  type: "score_lead",
  description:
    "Score the contact (0–100) with an agent's scoring rules (`agentId`; see POST /v1/agents/{id}/score_lead) and wait: `succeeded` stores the score on the contact (`contact.score`, for conditions) and in the variable `score`; `failed`; `timeout`.",
  config: ScoreLeadStepConfig,
  outcomes: () => OUTCOMES,
  pauses: () => true,
  execute(config, ctx) {
    return start(ctx, "score", config.agentId, {}, config.timeoutSeconds ?? 3_600);
  },
  resume(config, ctx, wait, input) {
    if (input.type === "outcome" && input.key === wait.key) {
      if (input.outcome !== "succeeded") {
        return failed(input.data);
      }
      const score = Number(input.data?.score);
      return {
        kind: "outcome",
        outcome: "succeeded",
        message: `Scored ${score} by agent ${config.agentId}`,
        contactFields: { score, scoredAt: input.data?.scoredAt ?? null },
        vars: { score, scoreReasons: input.data?.reasons ?? [] },
      };
    }
    return input.type === "wake" ? timedOut(ctx, wait.until) : null;
  },
});
