// The LLM providers' contract: the exact structured-output request each makes (OpenAI's JSON
// Schema response format, Anthropic's forced tool), and how a recorded answer becomes a completion.
// https://platform.openai.com/docs/api-reference/chat/create
// https://docs.anthropic.com/en/api/messages · https://docs.anthropic.com/en/docs/build-with-claude/tool-use
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { headersOf, interceptWith, json } from "../../test/helpers/providers";
import { anthropic, type CompletionRequest, costOf, openai } from "./llm";

afterEach(() => vi.restoreAllMocks());

const schema = {
  type: "object",
  properties: { intent: { type: "string", enum: ["interested", "not_interested"] } },
  required: ["intent"],
};
const request: CompletionRequest = {
  model: "gpt-4o-mini",
  system: "Classify the reply.",
  messages: [{ role: "user", content: "Sounds good, let's talk Tuesday." }],
  schema,
  temperature: 0,
  maxTokens: 256,
  timeoutMs: 30_000,
};

describe("OpenAI-compatible Chat Completions", () => {
  it("POSTs /chat/completions with the system message and a JSON Schema response format", async () => {
    const requests = interceptWith(() =>
      json({
        id: "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
        object: "chat.completion",
        created: 1741569952,
        model: "gpt-4o-mini-2024-07-18",
        choices: [
          {
            index: 0,
            message: { role: "assistant", content: '{"intent":"interested"}', refusal: null },
            logprobs: null,
            finish_reason: "stop",
          },
        ],
        usage: { prompt_tokens: 57, completion_tokens: 7, total_tokens: 64 },
        system_fingerprint: "fp_06737a9306",
      }),
    );
    expect(
      await openai.complete(request, { apiKey: "sk-test", organization: "org-acme" }, env),
    ).toEqual({
      text: '{"intent":"interested"}',
      model: "gpt-4o-mini-2024-07-18",
      tokensIn: 57,
      tokensOut: 7,
    });
    expect(requests).toHaveLength(1);
    const r = requests[0];
    expect([r.method, r.url]).toEqual(["POST", "https://api.openai.com/v1/chat/completions"]);
    expect(headersOf(r)).toEqual({
      authorization: "Bearer sk-test",
      "content-type": "application/json",
      "openai-organization": "org-acme",
    });
    expect(await r.json()).toEqual({
      model: "gpt-4o-mini",
      messages: [
        { role: "system", content: "Classify the reply." },
        { role: "user", content: "Sounds good, let's talk Tuesday." },
      ],
      temperature: 0,
      max_tokens: 256,
      response_format: {
        type: "json_schema",
        json_schema: { name: "output", schema, strict: false },
      },
    });
  });

  it("uses the connection's baseUrl (any compatible endpoint) and reports a refusal as permanent", async () => {
    const requests = interceptWith(() =>
      json({
        model: "llama-3.1-8b-instant",
        choices: [
          { message: { role: "assistant", content: null, refusal: "I can't help with that." } },
        ],
        usage: { prompt_tokens: 5, completion_tokens: 3 },
      }),
    );
    await expect(
      openai.complete(request, { apiKey: "gsk", baseUrl: "https://api.groq.com/openai/v1/" }, env),
    ).rejects.toMatchObject({
      retryable: false,
      message: "openai: the model refused: I can't help with that.",
    });
    expect(requests[0].url).toBe("https://api.groq.com/openai/v1/chat/completions");
  });
});

describe("Anthropic Messages", () => {
  it("POSTs /v1/messages forcing the output tool; the tool's input is the answer", async () => {
    const requests = interceptWith(() =>
      json({
        id: "msg_01Aq9w938a90dw8q",
        type: "message",
        role: "assistant",
        model: "claude-3-5-haiku-20241022",
        content: [
          {
            type: "tool_use",
            id: "toolu_01A09q90qw90lq917835lq9",
            name: "output",
            input: { intent: "interested" },
          },
        ],
        stop_reason: "tool_use",
        stop_sequence: null,
        usage: { input_tokens: 412, output_tokens: 38 },
      }),
    );
    expect(
      await anthropic.complete(
        { ...request, model: "claude-3-5-haiku-latest" },
        { apiKey: "sk-ant" },
        env,
      ),
    ).toEqual({
      text: '{"intent":"interested"}',
      model: "claude-3-5-haiku-20241022",
      tokensIn: 412,
      tokensOut: 38,
    });
    const r = requests[0];
    expect([r.method, r.url]).toEqual(["POST", "https://api.anthropic.com/v1/messages"]);
    expect(headersOf(r)).toEqual({
      "anthropic-version": "2023-06-01",
      "content-type": "application/json",
      "x-api-key": "sk-ant",
    });
    expect(await r.json()).toEqual({
      model: "claude-3-5-haiku-latest",
      max_tokens: 256,
      system: "Classify the reply.",
      temperature: 0,
      messages: [{ role: "user", content: "Sounds good, let's talk Tuesday." }],
      tools: [
        {
          name: "output",
          description: "Give the answer: its input must match this schema.",
          input_schema: schema,
        },
      ],
      tool_choice: { type: "tool", name: "output" },
    });
  });

  it("reads an overloaded answer (529) as retryable with Anthropic's message", async () => {
    interceptWith(() =>
      json({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }, 529),
    );
    await expect(anthropic.complete(request, { apiKey: "sk-ant" }, env)).rejects.toMatchObject({
      retryable: true,
      status: 529,
      message: "anthropic 529: Overloaded",
    });
  });
});

describe("prices", () => {
  it("prices a dated model id as its family, and an unknown model as nothing", () => {
    expect(costOf(env, "gpt-4o-mini-2024-07-18", 1_000_000, 1_000_000)).toBeCloseTo(0.75);
    expect(costOf(env, "claude-3-5-haiku-20241022", 0, 0)).toBeNull();
    expect(
      costOf(
        { ...env, LLM_PRICES: '{"my-model":{"input":1,"output":2}}' },
        "my-model",
        500_000,
        250_000,
      ),
    ).toBeCloseTo(1);
  });
});
