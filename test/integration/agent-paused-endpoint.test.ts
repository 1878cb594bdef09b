// A paused agent reaches no endpoint: its execution stays queued and the code agent's endpoint
// is never called, however often the queue hands the job over; resuming sends it on, and the
// endpoint is called exactly once. The agent queue is driven by hand (its sends captured, its
// consumer run with the test helper), so nothing here waits on time.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { call, newOrg } from "../helpers/api";
import { consume } from "../helpers/queues";

afterEach(() => vi.restoreAllMocks());

type Job = { kind: string; executionId: string };

/** Keeps what is sent to AGENT_QUEUE instead of delivering it. */
function captureAgentQueue() {
  const captured: Job[] = [];
  const accepted = { metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } };
  const q = env.AGENT_QUEUE as unknown as Queue<Job>;
  vi.spyOn(q, "send").mockImplementation(async (body: Job) => {
    captured.push(body);
    return accepted;
  });
  vi.spyOn(q, "sendBatch").mockImplementation(async (msgs: Iterable<MessageSendRequest<Job>>) => {
    for (const m of msgs) {
      captured.push(m.body);
    }
    return accepted;
  });
  return captured;
}

/** The code agent's endpoint: records each call to it and answers {ok: true}. */
function endpointDouble() {
  const calls: { url: string; body: string }[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const req = new Request(input as RequestInfo, init);
    if (req.url.startsWith("https://code.test")) {
      calls.push({ url: req.url, body: await req.text() });
      return new Response(JSON.stringify({ ok: true }), {
        headers: { "content-type": "application/json" },
      });
    }
    return new Response("ok");
  });
  return calls;
}

describe("a paused agent", () => {
  it("never calls its endpoint while paused; on resume it is called once", async () => {
    const { key } = await newOrg();
    const jobs = captureAgentQueue();
    const calls = endpointDouble();
    const agent = await call("POST", "/v1/agents", {
      key,
      body: { name: "Sleepy", type: "code", endpoint: "https://code.test/run", status: "paused" },
    });
    expect(agent.status, agent.text).toBe(201);
    const id = agent.json.id as string;
    const x = await call("POST", `/v1/agents/${id}/execute`, { key, body: { input: { n: 1 } } });
    expect(x.status, x.text).toBe(202);
    expect(jobs).toEqual([expect.objectContaining({ kind: "run", executionId: x.json.id })]);
    // The queue hands the job over, twice (a redelivery): the paused agent calls nothing.
    for (let i = 0; i < 2; i++) {
      await consume("nudge-agent", [jobs[0]]);
    }
    expect(calls).toEqual([]);
    const waiting = await call("GET", `/v1/agents/${id}/executions/${x.json.id}`, { key });
    expect(waiting.json.status).toBe("queued");

    const resumed = await call("PATCH", `/v1/agents/${id}`, { key, body: { status: "active" } });
    expect(resumed.status).toBe(200);
    expect(jobs.slice(1)).toEqual([
      expect.objectContaining({ kind: "run", executionId: x.json.id }),
    ]);
    await consume("nudge-agent", [jobs[1]]);
    expect(calls.map((c) => c.url)).toEqual(["https://code.test/run"]);
    const done = await call("GET", `/v1/agents/${id}/executions/${x.json.id}`, { key });
    expect(done.json.status).toBe("succeeded");
    // The job from before the pause, delivered late, does not call the endpoint again.
    await consume("nudge-agent", [jobs[0]]);
    expect(calls).toHaveLength(1);
  });
});
