// The synchronous agent routes, /inference and /score_lead, answer 429 agent_busy when the
// execution policy has no slot free (they do not wait their turn as /execute does), and record
// the refused call as a failed execution.
import { afterEach, describe, expect, it, vi } from "vitest";
import { templateAgent } from "../helpers/agents";
import { call, expectError, newOrg, poll } from "../helpers/api";

afterEach(() => vi.restoreAllMocks());

const json = (body: unknown) =>
  new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });

const answer = (content: string) =>
  json({
    id: "chatcmpl-1",
    model: "gpt-4o-mini",
    choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
  });

describe("agent_busy", () => {
  it("/inference and /score_lead answer 429 agent_busy while the only slot is taken", async () => {
    const { key } = await newOrg();
    const a = await templateAgent(key, {
      template: { executionPolicy: { maxConcurrent: 1 } },
      agent: { name: "One at a time", configuration: { "score.base": 10 } },
    });
    const contact = await call("POST", "/v1/contacts", { key, body: { email: "busy@x.test" } });

    // The first execution holds the slot: its model call does not answer until released.
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      if (!new Request(input as RequestInfo).url.startsWith("https://llm.test")) {
        return new Response("ok");
      }
      await held;
      return answer('{"qualified": true}');
    });
    const first = await call("POST", `/v1/agents/${a.id}/execute`, {
      key,
      body: { input: { message: "first" } },
    });
    await poll(
      () => call("GET", `/v1/agents/${a.id}/status`, { key }),
      (r) => r.json.running === 1,
    );

    const inference = await call("POST", `/v1/agents/${a.id}/inference`, {
      key,
      body: { input: { message: "now" } },
    });
    expectError(inference, 429, "agent_busy");
    const score = await call("POST", `/v1/agents/${a.id}/score_lead`, {
      key,
      body: { contactId: contact.json.id },
    });
    expectError(score, 429, "agent_busy");

    release();
    const done = await poll(
      async () =>
        (await call("GET", `/v1/agents/${a.id}/executions/${first.json.id}`, { key })).json,
      (x) => x.status === "succeeded",
    );
    expect(done.output).toEqual({ qualified: true });
    const list = (await call("GET", `/v1/agents/${a.id}/executions`, { key })).json.data as {
      kind: string;
      status: string;
      error: { code: string } | null;
    }[];
    expect(
      list
        .filter((x) => x.kind !== "execute")
        .map((x) => `${x.kind}:${x.status}:${x.error?.code}`)
        .sort(),
    ).toEqual(["inference:failed:agent_busy", "score:failed:agent_busy"]);
  });
});
