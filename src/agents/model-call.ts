// Template agents: the template's Liquid prompt rendered over the input and configuration, the
// model asked through the org's LLM connection for JSON the template's schema accepts (one
// retry with the errors fed back), the exchange kept for review with the template's personal
// fields redacted from the prompt, the answer and the validation errors alike.

import type { Db } from "../db/client";
import { renderString, TemplateRenderError } from "../engine/templates";
import { newId } from "../ground/ids";
import { errorText } from "../ground/log";
import { type ConnectionRow, firstConnectionOf, getConnection } from "../messaging";
import {
  type CompletionRequest,
  costOf,
  LLM_PROVIDER_NAMES,
  llmProviderOf,
} from "../providers/llm";
import { decrypt } from "../security/credentials";
import { checkOutput, MODEL_TURNS, redact } from "./rules";
import { ExecutionFailure, type Run, withRetries } from "./run";
import { type AgentTemplateRow, addExchange } from "./store";

const DEFAULT_MODELS: Record<string, string> = {
  openai: "gpt-4o-mini",
  anthropic: "claude-3-5-haiku-latest",
};

/** The template's LLM connection, else the org's default (its oldest LLM connection). */
async function llmConnection(db: Db, template: AgentTemplateRow): Promise<ConnectionRow> {
  const conn = template.connectionId
    ? await getConnection(db, template.orgId, template.connectionId)
    : await firstConnectionOf(db, template.orgId, LLM_PROVIDER_NAMES);
  if (!conn || !llmProviderOf(conn.provider)) {
    throw new ExecutionFailure(
      "no_llm_connection",
      template.connectionId
        ? `The template's LLM connection ${template.connectionId} no longer exists; set another with PATCH /v1/agent-templates/${template.id}`
        : 'This org has no LLM connection. Add one: POST /v1/connections {"provider": "openai", "credentials": {"apiKey": "sk-...", "baseUrl": "https://api.openai.com/v1"}} (any OpenAI-compatible endpoint) or {"provider": "anthropic", "credentials": {"apiKey": "sk-ant-..."}}',
    );
  }
  return conn;
}

/**
 * Renders the prompt, asks the model, and validates its answer against the output schema:
 * an invalid answer is sent back once with the errors; still invalid → `output_invalid`.
 */
export async function askModel(
  run: Run,
  template: AgentTemplateRow,
  scope: Record<string, unknown>,
): Promise<unknown> {
  const { env, db, execution } = run;
  let prompt: string;
  let system: string | null;
  try {
    prompt = renderString(template.prompt, scope);
    system = template.system ? renderString(template.system, scope) : null;
  } catch (err) {
    throw new ExecutionFailure(
      "template_error",
      err instanceof TemplateRenderError ? err.message : errorText(err),
    );
  }
  const conn = await llmConnection(db, template);
  const provider = llmProviderOf(conn.provider);
  if (!provider) {
    throw new ExecutionFailure("no_llm_connection", `${conn.provider} is not an LLM provider`);
  }
  const credentials = JSON.parse(
    await decrypt(env, conn.credentials, {
      orgId: conn.orgId,
      table: "connections",
      rowId: conn.id,
    }),
  ) as Record<string, string>;
  const model = template.model ?? credentials.model ?? DEFAULT_MODELS[provider.name];
  const request: CompletionRequest = {
    model,
    system,
    messages: [{ role: "user", content: prompt }],
    schema: template.outputSchema,
    temperature: template.temperature,
    maxTokens: template.maxTokens,
    timeoutMs: run.timeoutMs,
  };
  // A model repeats what it was given, and a JSON error quotes the answer: everything kept
  // (the exchange, the log, the failure) has the personal fields taken out.
  const hide = (text: string) => redact(text, scope, template.personalFields);
  const kept = hide(prompt);
  for (let turn = 0; turn < MODEL_TURNS; turn++) {
    const completion = await withRetries(run, `${provider.name} ${model}`, () =>
      provider.complete(request, credentials, env),
    );
    run.model = completion.model;
    run.tokensIn += completion.tokensIn;
    run.tokensOut += completion.tokensOut;
    const cost = costOf(env, completion.model, completion.tokensIn, completion.tokensOut);
    run.costUsd += cost ?? 0;
    if (cost === null) {
      run.log(
        "warn",
        `No price for model ${completion.model}: its cost counts as 0 (set LLM_PRICES)`,
      );
    }
    const checked = checkOutput(completion.text, template.outputSchema);
    const errors = checked.ok ? [] : checked.errors.map(hide);
    const now = Date.now();
    await addExchange(db, {
      id: newId("arx", now),
      orgId: execution.orgId,
      agentId: execution.agentId,
      executionId: execution.id,
      attempt: turn + 1,
      model: completion.model,
      prompt:
        turn === 0 ? kept : `${kept}\n\n[retry] ${hide(request.messages.at(-1)?.content ?? "")}`,
      answer: hide(completion.text.slice(0, 100_000)),
      validationErrors: errors,
      tokensIn: completion.tokensIn,
      tokensOut: completion.tokensOut,
      at: now,
      expiresAt: now + template.reasoningRetentionDays * 86_400_000,
    });
    run.log(
      checked.ok ? "info" : "warn",
      `Model ${completion.model}: ${completion.tokensIn} + ${completion.tokensOut} tokens${checked.ok ? "; the answer matches the schema" : `; the answer does not match the schema: ${errors.join("; ")}`}`,
    );
    if (checked.ok) {
      return checked.value;
    }
    if (turn === MODEL_TURNS - 1) {
      throw new ExecutionFailure(
        "output_invalid",
        `The model's answer did not match the output schema after a retry: ${errors.join("; ")}`,
      );
    }
    request.messages = [
      ...request.messages,
      { role: "assistant", content: completion.text.slice(0, 20_000) },
      {
        role: "user",
        content: `Your answer does not match the required JSON Schema: ${checked.errors.join("; ")}. Answer again with only a JSON value that matches the schema.`,
      },
    ];
  }
  throw new ExecutionFailure("output_invalid", "No valid answer");
}
