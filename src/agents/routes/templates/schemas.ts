// Agent template shapes: a Liquid prompt, an output JSON Schema, a model, an execution policy.
import { z } from "@hono/zod-openapi";
import { iso } from "../../../db/client";
import { Timestamp } from "../../../http/openapi";
import { ExecutionPolicySchema } from "../../rules";
import type { AgentTemplateRow } from "../../store";

const Model = z
  .strictObject({
    connectionId: z.string().max(100).nullable().optional().openapi({
      description:
        "An LLM connection (provider openai or anthropic); unset: the org's default (its oldest LLM connection)",
    }),
    name: z.string().min(1).max(200).nullable().optional().openapi({
      description:
        "The model, e.g. gpt-4o-mini or claude-3-5-haiku-latest; unset: the connection's `model` credential, else the provider's small default",
    }),
  })
  .openapi("AgentModel");

const fields = {
  name: z.string().trim().min(1).max(100),
  prompt: z.string().min(1).max(32_768).openapi({
    description:
      "Liquid over `input` (the execution's input) and `configuration` (the agent's); checked when saved",
  }),
  system: z
    .string()
    .max(32_768)
    .nullable()
    .optional()
    .openapi({ description: "A system prompt (Liquid too)" }),
  outputSchema: z.record(z.string(), z.unknown()).openapi({
    description:
      'The JSON Schema the answer must match (root `"type": "object"`); asked of the model natively and checked on every answer',
  }),
  model: Model.nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  maxTokens: z
    .number()
    .int()
    .min(1)
    .max(32_000)
    .optional()
    .openapi({ description: "Default 1024" }),
  personalFields: z.array(z.string().min(1).max(200)).max(50).optional().openapi({
    description:
      "Paths into the prompt's scope (`input.contact.email`) whose values are replaced by `[redacted:<path>]` in the exchanges kept for GET /v1/monitoring/reasoning — in prompts, answers and validation errors, in any case or spacing, and an email's local part (3+ characters) as a whole word",
  }),
  reasoningRetentionDays: z.number().int().min(1).max(90).optional().openapi({
    description: "Days model exchanges are kept (default 7), then deleted by the cron",
  }),
  executionPolicy: ExecutionPolicySchema.partial().optional(),
};

export const AgentTemplateInput = z.strictObject(fields).openapi("AgentTemplateInput");

export const AgentTemplatePatch = z
  .strictObject({
    ...fields,
    name: fields.name.optional(),
    prompt: fields.prompt.optional(),
    outputSchema: fields.outputSchema.optional(),
  })
  .openapi("AgentTemplatePatch");

export const ExecutionPolicyPatch = ExecutionPolicySchema.partial().openapi("ExecutionPolicyPatch");

export const AgentTemplate = z
  .object({
    id: z.string(),
    name: z.string(),
    prompt: z.string(),
    system: z.string().nullable(),
    outputSchema: z.record(z.string(), z.unknown()),
    model: z.object({ connectionId: z.string().nullable(), name: z.string().nullable() }),
    temperature: z.number().nullable(),
    maxTokens: z.number().int(),
    personalFields: z.array(z.string()),
    reasoningRetentionDays: z.number().int(),
    executionPolicy: ExecutionPolicySchema,
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("AgentTemplate");

export const agentTemplateJson = (t: AgentTemplateRow) => ({
  id: t.id,
  name: t.name,
  prompt: t.prompt,
  system: t.system,
  outputSchema: t.outputSchema,
  model: { connectionId: t.connectionId, name: t.model },
  temperature: t.temperature,
  maxTokens: t.maxTokens,
  personalFields: t.personalFields,
  reasoningRetentionDays: t.reasoningRetentionDays,
  executionPolicy: t.policy,
  createdAt: iso(t.createdAt) as string,
  updatedAt: iso(t.updatedAt) as string,
});
