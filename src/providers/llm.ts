// The interface of LLM providers: one structured completion (a prompt in, JSON text out, the
// tokens it used). Structured output is asked for natively — a JSON Schema response format
// (OpenAI-compatible Chat Completions), a forced tool (Anthropic Messages) — and validated by
// the caller either way. Prices per model turn usage into cost.
import { config, type LlmPrice } from "../ground/config";
import type { Env } from "../ground/env";
import { RESPONSE_CAPS } from "../security/read-capped";
import { refuseUrl } from "../security/ssrf";
import {
  answerOf,
  type CredentialProblem,
  type Credentials,
  failUnlessOk,
  ProviderError,
  sanitizedReason,
} from "./provider";

export interface Completion {
  /** The JSON text the model answered (a forced tool's input, serialised). */
  text: string;
  model: string;
  tokensIn: number;
  tokensOut: number;
}

export interface CompletionRequest {
  model: string;
  system: string | null;
  /** The conversation: the prompt, then (on a retry) the bad answer and the validation errors. */
  messages: { role: "user" | "assistant"; content: string }[];
  schema: Record<string, unknown>;
  temperature: number | null;
  maxTokens: number;
  timeoutMs: number;
}

export interface LlmProvider<N extends string = string> {
  name: N;
  defaultBaseUrl: string;
  requiredCredentials: string[];
  refuseCredentials(credentials: Credentials, env: Env): CredentialProblem[];
  complete(req: CompletionRequest, credentials: Credentials, env: Env): Promise<Completion>;
}

const baseOf = (p: { defaultBaseUrl: string }, credentials: Credentials) =>
  (credentials.baseUrl?.trim() || p.defaultBaseUrl).replace(/\/+$/, "");

/** A `baseUrl` credential must pass the outbound policy (a local one only in development). */
function refuseBase(credentials: Credentials, env: Env): CredentialProblem[] {
  const why = credentials.baseUrl ? refuseUrl(env, credentials.baseUrl) : null;
  return why ? [{ path: "baseUrl", message: why }] : [];
}

/** A model call: never follows a redirect; a timeout or network error may be retried. */
async function post(provider: string, url: string, env: Env, init: RequestInit, timeoutMs: number) {
  const refused = refuseUrl(env, url);
  if (refused) {
    throw new ProviderError(`${provider}: the endpoint is refused: ${refused}`, false);
  }
  try {
    return await fetch(url, {
      ...init,
      method: "POST",
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const timedOut = err instanceof Error && err.name === "TimeoutError";
    throw new ProviderError(
      `${provider}: ${timedOut ? `no answer within ${timeoutMs / 1000} s` : (sanitizedReason(String(err)) ?? "network error")}`,
      true,
    );
  }
}

const errorMessage = (b: unknown) => {
  const e = (b as { error?: { message?: string } | string } | null)?.error;
  return typeof e === "string" ? e : e?.message;
};

/** Any OpenAI-compatible Chat Completions endpoint: OpenAI, Workers AI, Groq, Together, Ollama. */
export const openai: LlmProvider<"openai"> = {
  name: "openai",
  defaultBaseUrl: "https://api.openai.com/v1",
  requiredCredentials: ["apiKey"],
  refuseCredentials: refuseBase,
  async complete(req, credentials, env) {
    const res = await post(
      "openai",
      `${baseOf(openai, credentials)}/chat/completions`,
      env,
      {
        headers: {
          authorization: `Bearer ${credentials.apiKey}`,
          "content-type": "application/json",
          ...(credentials.organization ? { "openai-organization": credentials.organization } : {}),
        },
        body: JSON.stringify({
          model: req.model,
          messages: [
            ...(req.system ? [{ role: "system", content: req.system }] : []),
            ...req.messages,
          ],
          ...(req.temperature !== null ? { temperature: req.temperature } : {}),
          max_tokens: req.maxTokens,
          response_format: {
            type: "json_schema",
            json_schema: { name: "output", schema: req.schema, strict: false },
          },
        }),
      },
      req.timeoutMs,
    );
    await failUnlessOk("openai", res, errorMessage);
    const body = await answerOf<{
      model?: string;
      choices?: { message?: { content?: string | null; refusal?: string | null } }[];
      usage?: { prompt_tokens?: number; completion_tokens?: number };
    }>("openai", res, RESPONSE_CAPS.llm);
    const message = body.choices?.[0]?.message;
    if (message?.refusal) {
      throw new ProviderError(`openai: the model refused: ${message.refusal.slice(0, 300)}`, false);
    }
    return {
      text: message?.content ?? "",
      model: body.model ?? req.model,
      tokensIn: body.usage?.prompt_tokens ?? 0,
      tokensOut: body.usage?.completion_tokens ?? 0,
    };
  },
};

/** Anthropic's Messages API: the answer is the input of a tool the model is made to call. */
export const anthropic: LlmProvider<"anthropic"> = {
  name: "anthropic",
  defaultBaseUrl: "https://api.anthropic.com",
  requiredCredentials: ["apiKey"],
  refuseCredentials: refuseBase,
  async complete(req, credentials, env) {
    const res = await post(
      "anthropic",
      `${baseOf(anthropic, credentials)}/v1/messages`,
      env,
      {
        headers: {
          "x-api-key": credentials.apiKey,
          "anthropic-version": "2023-06-01",
          "content-type": "application/json",
        },
        body: JSON.stringify({
          model: req.model,
          max_tokens: req.maxTokens,
          ...(req.system ? { system: req.system } : {}),
          ...(req.temperature !== null ? { temperature: req.temperature } : {}),
          messages: req.messages,
          tools: [
            {
              name: "output",
              description: "Give the answer: its input must match this schema.",
              input_schema: req.schema,
            },
          ],
          tool_choice: { type: "tool", name: "output" },
        }),
      },
      req.timeoutMs,
    );
    await failUnlessOk("anthropic", res, errorMessage);
    const body = await answerOf<{
      model?: string;
      content?: { type: string; text?: string; input?: unknown }[];
      usage?: { input_tokens?: number; output_tokens?: number };
    }>("anthropic", res, RESPONSE_CAPS.llm);
    const tool = body.content?.find((b) => b.type === "tool_use");
    const text = tool
      ? JSON.stringify(tool.input)
      : (body.content ?? []).map((b) => b.text ?? "").join("");
    return {
      text,
      model: body.model ?? req.model,
      tokensIn: body.usage?.input_tokens ?? 0,
      tokensOut: body.usage?.output_tokens ?? 0,
    };
  },
};

const LLM_REGISTRY = [openai, anthropic] as const;

export type LlmProviderName = (typeof LLM_REGISTRY)[number]["name"];

export const LLM_PROVIDER_NAMES = LLM_REGISTRY.map((p) => p.name) as [
  LlmProviderName,
  ...LlmProviderName[],
];

export const llmProviderOf = (name: string): LlmProvider | undefined =>
  (LLM_REGISTRY as readonly LlmProvider[]).find((p) => p.name === name);

// ---- prices --------------------------------------------------------------------------------

/** USD per million tokens, input and output (list prices; LLM_PRICES overrides and adds). */
const PRICES: Record<string, LlmPrice> = {
  "gpt-4o": { input: 2.5, output: 10 },
  "gpt-4o-mini": { input: 0.15, output: 0.6 },
  "gpt-4.1": { input: 2, output: 8 },
  "gpt-4.1-mini": { input: 0.4, output: 1.6 },
  "gpt-4.1-nano": { input: 0.1, output: 0.4 },
  "claude-3-5-haiku-latest": { input: 0.8, output: 4 },
  "claude-3-5-sonnet-latest": { input: 3, output: 15 },
  "claude-sonnet-4-0": { input: 3, output: 15 },
  "claude-opus-4-0": { input: 15, output: 75 },
};

const priceTable = (env: Env): Record<string, LlmPrice> => ({
  ...PRICES,
  ...config(env).llmPrices,
});

/** The cost of a completion in USD, or null when the model has no price (it then costs nothing). */
export function costOf(
  env: Env,
  model: string,
  tokensIn: number,
  tokensOut: number,
): number | null {
  const table = priceTable(env);
  // A dated model id ("gpt-4o-mini-2024-07-18") is priced as its longest family when it has no
  // line of its own.
  const family = Object.keys(table)
    .filter((k) => model.startsWith(`${k}-`))
    .sort((a, b) => b.length - a.length)[0];
  const price = table[model] ?? (family ? table[family] : undefined);
  if (!price) {
    return null;
  }
  return (tokensIn * price.input + tokensOut * price.output) / 1_000_000;
}
