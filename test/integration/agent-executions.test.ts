// Agents: spawn, idempotent executions, workflow/template/code agents against exact doubles of
// an OpenAI-compatible endpoint, Anthropic's Messages API and a customer's endpoint, execution
// policies (concurrency, budget), lead scoring, monitoring figures, steps, isolation.
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runWatchdog } from "../../src/watchdog";
import { activeWorkflow, call, expectError, newOrg, poll, testLog } from "../helpers/api";
import { DB } from "../helpers/db";
import { enrollment, settle } from "../helpers/enrollments";

afterEach(() => vi.restoreAllMocks());

interface Seen {
  url: string;
  method: string;
  headers: Headers;
  body: string;
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

/** Records every outbound request (bodies read inside the mock) and answers with `answer`. */
function double(answer: (req: Seen, n: number) => Response | Promise<Response>) {
  const seen: Seen[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const req = new Request(input as RequestInfo, init);
    const s = { url: req.url, method: req.method, headers: req.headers, body: await req.text() };
    // Webhook deliveries of the org go through fetch too: they are not the double's business.
    if (!s.url.startsWith("https://llm.test") && !s.url.startsWith("https://code.test")) {
      return new Response("ok");
    }
    seen.push(s);
    return answer(s, seen.length);
  });
  return seen;
}

const openaiAnswer = (content: string, usage = { prompt_tokens: 1000, completion_tokens: 200 }) =>
  json({
    id: "chatcmpl-1",
    model: "gpt-4o-mini-2024-07-18",
    choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
    usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
  });

const SCHEMA = {
  type: "object",
  properties: { qualified: { type: "boolean" }, reason: { type: "string" } },
  required: ["qualified", "reason"],
  additionalProperties: false,
};

async function llmConnection(key: string, provider: "openai" | "anthropic" = "openai") {
  const res = await call("POST", "/v1/connections", {
    key,
    body: {
      provider,
      credentials:
        provider === "openai"
          ? { apiKey: "sk-test", baseUrl: "https://llm.test/v1", organization: "org-acme" }
          : { apiKey: "sk-ant-test", baseUrl: "https://llm.test" },
    },
  });
  expect(res.status).toBe(201);
  return res.json.id as string;
}

async function template(key: string, extra: Record<string, unknown> = {}) {
  const res = await call("POST", "/v1/agent-templates", {
    key,
    body: {
      name: "Qualify",
      prompt:
        "Qualify {{ input.contact.email }} for {{ configuration.product }}: {{ input.message }}",
      system: "You qualify leads.",
      outputSchema: SCHEMA,
      model: { name: "gpt-4o-mini" },
      personalFields: ["input.contact.email"],
      ...extra,
    },
  });
  expect(res.status, res.text).toBe(201);
  return res.json as { id: string };
}

async function agent(key: string, body: Record<string, unknown>) {
  const res = await call("POST", "/v1/agents", { key, body });
  expect(res.status, res.text).toBe(201);
  return res.json as { id: string; secret?: string };
}

const execution = (key: string, agentId: string, id: string) =>
  call("GET", `/v1/agents/${agentId}/executions/${id}`, { key });

const finished = (key: string, agentId: string, id: string, timeoutMs = 10_000) =>
  poll(
    () => execution(key, agentId, id),
    (r) => ["succeeded", "failed", "cancelled"].includes(r.json?.status),
    timeoutMs,
  ).then((r) => r.json);

const execute = (key: string, agentId: string, body: Record<string, unknown>, headers = {}) =>
  call("POST", `/v1/agents/${agentId}/execute`, { key, body, headers });

describe("spawning agents", () => {
  it("creates agents from the top level or wrapped in `agent`, and refuses a taken name", async () => {
    const { key } = await newOrg();
    const wf = await activeWorkflow(key, [{ id: "l", type: "log", config: { message: "hi" } }]);
    const top = await call("POST", "/v1/agents", {
      key,
      body: { name: "Inbound", type: "workflow", workflowId: wf.id, configuration: { a: 1 } },
    });
    expect(top.status).toBe(201);
    expect(top.json).toMatchObject({
      name: "Inbound",
      type: "workflow",
      status: "active",
      workflowId: wf.id,
      configuration: { a: 1 },
      executionPolicy: { maxConcurrent: 5, retries: 2, timeoutSeconds: 30 },
    });
    const wrapped = await call("POST", "/v1/agents/spawn", {
      key,
      body: { agent: { name: "Wrapped", type: "workflow", workflowId: wf.id } },
    });
    expect(wrapped.status).toBe(201);
    expect(wrapped.json.name).toBe("Wrapped");
    expectError(
      await call("POST", "/v1/agents/spawn", {
        key,
        body: { agent: { name: "Inbound", type: "workflow", workflowId: wf.id } },
      }),
      409,
      "agent_name_taken",
    );
    const listed = await call("GET", "/v1/agents", { key });
    expect(listed.json.data.map((a: { name: string }) => a.name).sort()).toEqual([
      "Inbound",
      "Wrapped",
    ]);
  });

  it("refuses what cannot run: missing ids, another org's workflow, a private endpoint, bad settings", async () => {
    const { key } = await newOrg();
    const other = await newOrg("Other");
    const theirs = await activeWorkflow(other.key, [
      { id: "l", type: "log", config: { message: "x" } },
    ]);
    expectError(
      await call("POST", "/v1/agents", { key, body: { name: "a", type: "workflow" } }),
      422,
      "validation_failed",
    );
    expectError(
      await call("POST", "/v1/agents", {
        key,
        body: { name: "a", type: "workflow", workflowId: theirs.id },
      }),
      404,
      "not_found",
    );
    const ssrf = await call("POST", "/v1/agents", {
      key,
      body: { name: "c", type: "code", endpoint: "https://169.254.169.254/latest" },
    });
    expectError(ssrf, 422, "validation_failed");
    const nested = await call("POST", "/v1/agents", {
      key,
      body: {
        name: "n",
        type: "code",
        endpoint: "https://code.test/run",
        configuration: { deep: { not: "flat" } },
      },
    });
    expectError(nested, 422, "validation_failed");
    const scoring = await call("POST", "/v1/agents", {
      key,
      body: {
        name: "s",
        type: "code",
        endpoint: "https://code.test/run",
        configuration: { "score.field.title": "ten", "score.bogus": 1 },
      },
    });
    expectError(scoring, 422, "validation_failed");
    expect(scoring.json.details.map((d: { path: string }) => d.path).sort()).toEqual([
      "configuration.score.bogus",
      "configuration.score.field.title",
    ]);
    const big = await call("POST", "/v1/agents", {
      key,
      body: {
        name: "b",
        type: "code",
        endpoint: "https://code.test/run",
        configuration: Object.fromEntries(
          Array.from({ length: 5 }, (_, i) => [`k${i}`, "x".repeat(4_000)]),
        ),
      },
    });
    expectError(big, 422, "validation_failed");
    expect(big.text).toContain("16384");
  });
});

describe("executing idempotently", () => {
  it("returns the same execution for the same key, refuses another input under it, and makes one of 20 racing", async () => {
    const { key } = await newOrg();
    const wf = await activeWorkflow(key, [{ id: "l", type: "log", config: { message: "hi" } }]);
    const a = await agent(key, { name: "Enroller", type: "workflow", workflowId: wf.id });
    const body = { input: { contact: { email: "ada@example.com" } }, idempotency_key: "k-1" };
    const first = await execute(key, a.id, body);
    expect(first.status).toBe(202);
    expect(first.json).toMatchObject({ status: "queued", kind: "execute", idempotencyKey: "k-1" });
    const again = await execute(key, a.id, body);
    expect(again.status).toBe(202);
    expect(again.json.id).toBe(first.json.id);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    // The header names the same key.
    const viaHeader = await execute(key, a.id, { input: body.input }, { "idempotency-key": "k-1" });
    expect(viaHeader.json.id).toBe(first.json.id);
    expectError(
      await execute(key, a.id, {
        input: { contact: { email: "bob@example.com" } },
        idempotency_key: "k-1",
      }),
      422,
      "idempotency_key_reused",
    );

    const racing = await Promise.all(
      Array.from({ length: 20 }, () =>
        execute(key, a.id, {
          input: { contact: { email: "cy@example.com" } },
          idempotency_key: "race",
        }),
      ),
    );
    expect(racing.map((r) => r.status)).toEqual(Array(20).fill(202));
    expect(new Set(racing.map((r) => r.json.id)).size).toBe(1);
    await finished(key, a.id, racing[0].json.id);
    const all = await call("GET", `/v1/agents/${a.id}/executions?limit=100`, { key });
    expect(
      all.json.data.filter((x: { idempotencyKey: string }) => x.idempotencyKey === "race"),
    ).toHaveLength(1);
    const enrollments = await call("GET", `/v1/enrollments?workflowId=${wf.id}&limit=100`, { key });
    expect(enrollments.json.data).toHaveLength(2); // ada and cy, once each
  });
});

describe("a workflow agent", () => {
  it("upserts the contact and enrolls it with the variables; the enrollment lives on through the API", async () => {
    const { key } = await newOrg();
    const wf = await activeWorkflow(key, [
      { id: "l", type: "log", config: { message: "plan {{ vars.plan }}" } },
    ]);
    const a = await agent(key, { name: "Signup", type: "workflow", workflowId: wf.id });
    const x = await execute(key, a.id, {
      input: {
        contact: { email: "ada@example.com", firstName: "Ada" },
        variables: { plan: "pro" },
      },
    });
    const done = await finished(key, a.id, x.json.id);
    expect(done.status).toBe("succeeded");
    expect(done.enrollmentId).toMatch(/^enr_/);
    expect(done.output).toMatchObject({ enrollmentId: done.enrollmentId, workflowId: wf.id });
    const e = await settle(key, done.enrollmentId);
    expect(e.status).toBe("completed");
    expect(e.timeline.map((l: { message: string }) => l.message)).toContain("plan pro");
    const contact = await call("GET", `/v1/contacts/${done.output.contactId}`, { key });
    expect(contact.json).toMatchObject({ email: "ada@example.com", firstName: "Ada" });

    const bad = await execute(key, a.id, { input: { nothing: true } });
    const failed = await finished(key, a.id, bad.json.id);
    expect(failed.status).toBe("failed");
    expect(failed.error.message).toContain("contact");
    const junk = await execute(key, a.id, { input: { contact: { email: 42, shoeSize: 9 } } });
    const refused = await finished(key, a.id, junk.json.id);
    expect(refused.error.code).toBe("validation_failed");
    expect(refused.error.message).toContain("contact.email");
    expect(refused.error.message).toContain("shoeSize");
  });
});

describe("a template agent", () => {
  it("asks an OpenAI-compatible endpoint for schema-valid JSON, with the exact request, tokens and cost", async () => {
    const { key } = await newOrg();
    await llmConnection(key);
    const t = await template(key, { temperature: 0.2 });
    const a = await agent(key, {
      name: "Qualifier",
      type: "template",
      templateId: t.id,
      configuration: { product: "Nudge Pro" },
    });
    const seen = double(() => openaiAnswer('{"qualified": true, "reason": "40 seats"}'));
    const x = await execute(key, a.id, {
      input: { contact: { email: "ada@example.com" }, message: "We need 40 seats" },
    });
    const done = await finished(key, a.id, x.json.id);
    expect(done.status, JSON.stringify(done)).toBe("succeeded");
    expect(done.output).toEqual({ qualified: true, reason: "40 seats" });
    expect(seen).toHaveLength(1);
    const req = seen[0];
    expect(req.url).toBe("https://llm.test/v1/chat/completions");
    expect(req.method).toBe("POST");
    expect(req.headers.get("authorization")).toBe("Bearer sk-test");
    expect(req.headers.get("openai-organization")).toBe("org-acme");
    expect(JSON.parse(req.body)).toEqual({
      model: "gpt-4o-mini",
      messages: [
        { role: "system", content: "You qualify leads." },
        { role: "user", content: "Qualify ada@example.com for Nudge Pro: We need 40 seats" },
      ],
      temperature: 0.2,
      max_tokens: 1024,
      response_format: {
        type: "json_schema",
        json_schema: { name: "output", schema: SCHEMA, strict: false },
      },
    });
    expect(done.tokens).toEqual({ input: 1000, output: 200, total: 1200 });
    expect(done.model).toBe("gpt-4o-mini-2024-07-18");
    // gpt-4o-mini: $0.15 in, $0.60 out per million tokens (a dated id priced as its family).
    expect(done.costUsd).toBeCloseTo((1000 * 0.15 + 200 * 0.6) / 1e6, 12);
    expect(done.durationMs).toBeGreaterThanOrEqual(0);

    // The exchange is kept with the declared personal field redacted.
    const reasoning = await call("GET", `/v1/monitoring/reasoning/${a.id}`, { key });
    expect(reasoning.json.data).toHaveLength(1);
    expect(reasoning.json.data[0].prompt).toBe(
      "Qualify [redacted:input.contact.email] for Nudge Pro: We need 40 seats",
    );
    expect(reasoning.json.data[0]).toMatchObject({
      answer: '{"qualified": true, "reason": "40 seats"}',
      validationErrors: [],
      tokens: { input: 1000, output: 200 },
    });
  });

  it("keeps the model's answers with the personal fields redacted too, however the model wrote them", async () => {
    const { key } = await newOrg();
    await llmConnection(key);
    const t = await template(key, {
      personalFields: ["input.contact.email", "input.contact.name"],
    });
    const a = await agent(key, {
      name: "Discreet",
      type: "template",
      templateId: t.id,
      configuration: { product: "Nudge Pro" },
    });
    // First not JSON (the parse error quotes it), then valid, repeating the person's data.
    const seen = double((_, n) =>
      n === 1
        ? openaiAnswer("ada.l@example.com is qualified")
        : openaiAnswer(
            '{"qualified": true, "reason": "ADA LOVELACE (Ada.L@Example.com) needs 40 seats; ada.l signed"}',
          ),
    );
    const x = await execute(key, a.id, {
      input: {
        contact: { email: "ada.l@example.com", name: "Ada Lovelace" },
        message: "We need 40 seats",
      },
    });
    const done = await finished(key, a.id, x.json.id);
    expect(done.status, JSON.stringify(done)).toBe("succeeded");
    expect(seen).toHaveLength(2);
    // The output is what the caller asked for: as the model gave it.
    expect(done.output.reason).toContain("ADA LOVELACE");

    const reasoning = await call("GET", `/v1/monitoring/reasoning/${a.id}`, { key });
    const byAttempt = (n: number) =>
      reasoning.json.data.find((d: { attempt: number }) => d.attempt === n);
    expect(byAttempt(1).answer).toBe("[redacted:input.contact.email] is qualified");
    expect(byAttempt(1).validationErrors).toEqual([expect.stringContaining("Not JSON")]);
    expect(byAttempt(2).answer).toBe(
      '{"qualified": true, "reason": "[redacted:input.contact.name] ([redacted:input.contact.email]) needs 40 seats; [redacted:input.contact.email] signed"}',
    );
    const logs = await call("GET", `/v1/agents/${a.id}/logs?executionId=${x.json.id}`, { key });
    for (const kept of [JSON.stringify(reasoning.json.data), JSON.stringify(logs.json.data)]) {
      expect(kept.toLowerCase()).not.toContain("ada.l");
      expect(kept.toLowerCase()).not.toContain("lovelace");
    }
  });

  it("asks Anthropic's Messages API with a forced tool and takes the tool's input", async () => {
    const { key } = await newOrg();
    await llmConnection(key, "anthropic");
    const t = await template(key, { model: { name: "claude-3-5-haiku-latest" } });
    const a = await agent(key, { name: "Claude", type: "template", templateId: t.id });
    const seen = double(() =>
      json({
        id: "msg_1",
        type: "message",
        model: "claude-3-5-haiku-latest",
        content: [
          {
            type: "tool_use",
            id: "tu_1",
            name: "output",
            input: { qualified: false, reason: "student" },
          },
        ],
        usage: { input_tokens: 300, output_tokens: 40 },
      }),
    );
    const res = await call("POST", `/v1/agents/${a.id}/inference`, {
      key,
      body: { input: { contact: { email: "s@uni.test" }, message: "for my thesis" } },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({
      kind: "inference",
      status: "succeeded",
      output: { qualified: false, reason: "student" },
      tokens: { input: 300, output: 40, total: 340 },
    });
    expect(res.json.costUsd).toBeCloseTo((300 * 0.8 + 40 * 4) / 1e6, 12);
    expect(seen[0].url).toBe("https://llm.test/v1/messages");
    expect(seen[0].headers.get("x-api-key")).toBe("sk-ant-test");
    expect(seen[0].headers.get("anthropic-version")).toBe("2023-06-01");
    expect(JSON.parse(seen[0].body)).toEqual({
      model: "claude-3-5-haiku-latest",
      max_tokens: 1024,
      system: "You qualify leads.",
      messages: [{ role: "user", content: "Qualify s@uni.test for : for my thesis" }],
      tools: [
        {
          name: "output",
          description: "Give the answer: its input must match this schema.",
          input_schema: SCHEMA,
        },
      ],
      tool_choice: { type: "tool", name: "output" },
    });
  });

  it("feeds the validation errors back once, then fails cleanly with output_invalid", async () => {
    const { key } = await newOrg();
    await llmConnection(key);
    const t = await template(key);
    const a = await agent(key, { name: "Sloppy", type: "template", templateId: t.id });
    const seen = double((_, n) =>
      openaiAnswer(n === 1 ? "Sure! Here it is: qualified" : '{"qualified": "yes"}'),
    );
    const x = await execute(key, a.id, {
      input: { contact: { email: "a@b.test" }, message: "hi" },
    });
    const done = await finished(key, a.id, x.json.id);
    expect(done.status).toBe("failed");
    expect(done.error.code).toBe("output_invalid");
    expect(done.error.message).toContain("/qualified");
    expect(seen).toHaveLength(2);
    const retry = JSON.parse(seen[1].body).messages;
    expect(retry.at(-2)).toEqual({ role: "assistant", content: "Sure! Here it is: qualified" });
    expect(retry.at(-1).content).toContain("Not JSON");
    const reasoning = await call("GET", `/v1/monitoring/reasoning/${a.id}`, { key });
    expect(reasoning.json.data.map((e: { attempt: number }) => e.attempt)).toEqual([2, 1]);
    expect(reasoning.json.data[0].validationErrors.join(" ")).toContain("/qualified");
    expect(done.tokens.total).toBe(2400); // both turns counted

    const sync = await call("POST", `/v1/agents/${a.id}/inference`, {
      key,
      body: { input: { contact: { email: "a@b.test" }, message: "hi" } },
    });
    expectError(sync, 422, "output_invalid");
  });

  it("fails with no_llm_connection, saying how to add one", async () => {
    const { key } = await newOrg();
    const t = await template(key);
    const a = await agent(key, { name: "Lonely", type: "template", templateId: t.id });
    const x = await execute(key, a.id, { input: { message: "hi" } });
    const done = await finished(key, a.id, x.json.id);
    expect(done.error.code).toBe("no_llm_connection");
    expect(done.error.message).toContain("POST /v1/connections");
  });

  it("checks the prompt and the schema when the template is saved", async () => {
    const { key } = await newOrg();
    const bad = await call("POST", "/v1/agent-templates", {
      key,
      body: {
        name: "Bad",
        prompt: "Hello {{ input.name ",
        outputSchema: { type: "object", properties: { a: { type: "strin" } }, required: "a" },
      },
    });
    expectError(bad, 422, "validation_failed");
    const paths = bad.json.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(
      expect.arrayContaining(["prompt", "outputSchema.properties.a.type", "outputSchema.required"]),
    );
    const notObject = await call("POST", "/v1/agent-templates", {
      key,
      body: { name: "Arr", prompt: "hi", outputSchema: { type: "array" } },
    });
    expectError(notObject, 422, "validation_failed");
  });
});

describe("a code agent", () => {
  it("POSTs input, configuration and execution id, signed per Standard Webhooks, and takes the JSON answer", async () => {
    const { key } = await newOrg();
    const a = await agent(key, {
      name: "Mine",
      type: "code",
      endpoint: "https://code.test/run",
      configuration: { region: "eu" },
    });
    expect(a.secret).toMatch(/^whsec_/);
    const seen = double(() => json({ routed: "eu-team" }));
    const x = await execute(key, a.id, { input: { lead: 42 } });
    const done = await finished(key, a.id, x.json.id);
    expect(done.status).toBe("succeeded");
    expect(done.output).toEqual({ routed: "eu-team" });
    const headers = Object.fromEntries(seen[0].headers.entries());
    const verified = new Webhook(a.secret as string).verify(seen[0].body, headers);
    expect(verified).toEqual({
      input: { lead: 42 },
      configuration: { region: "eu" },
      executionId: done.id,
    });
    expect(headers["webhook-id"]).toBe(done.id);
    // The secret is shown once.
    expect((await call("GET", `/v1/agents/${a.id}`, { key })).json.secret).toBeUndefined();
  });

  it("retries a 503 per policy and fails a 400 at once", async () => {
    const { key } = await newOrg();
    const a = await agent(key, {
      name: "Flaky",
      type: "code",
      endpoint: "https://code.test/run",
      executionPolicy: { retries: 1 },
    });
    const seen = double((_, n) =>
      n === 1 ? new Response("busy", { status: 503 }) : json({ ok: 1 }),
    );
    const done = await finished(key, a.id, (await execute(key, a.id, { input: {} })).json.id);
    expect(done.status).toBe("succeeded");
    expect(done.attempts).toBe(2);
    expect(seen).toHaveLength(2);
    vi.restoreAllMocks();
    double(() => new Response("nope", { status: 400 }));
    const bad = await finished(key, a.id, (await execute(key, a.id, { input: { b: 1 } })).json.id);
    expect(bad.error.code).toBe("endpoint_error");
    expect(bad.attempts).toBe(1);
  });
});

describe("execution policy", () => {
  it("runs at most maxConcurrent at once; the rest wait in queued and run in order", async () => {
    const { key } = await newOrg();
    await llmConnection(key);
    const t = await template(key);
    const policy = await call("PATCH", `/v1/agent-templates/${t.id}/execution-policy`, {
      key,
      body: { maxConcurrent: 1 },
    });
    expect(policy.json.executionPolicy.maxConcurrent).toBe(1);
    const a = await agent(key, { name: "One at a time", type: "template", templateId: t.id });
    let inFlight = 0;
    let most = 0;
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    const seen = double(async (_, n) => {
      inFlight++;
      most = Math.max(most, inFlight);
      if (n === 1) {
        await held;
      }
      inFlight--;
      return openaiAnswer(`{"qualified": true, "reason": "r${n}"}`);
    });
    const ids: string[] = [];
    for (const i of [1, 2, 3]) {
      ids.push((await execute(key, a.id, { input: { message: `m${i}` } })).json.id);
    }
    await poll(
      () => call("GET", `/v1/agents/${a.id}/status`, { key }),
      (r) => r.json.running === 1 && r.json.queued === 2,
    );
    expect(seen).toHaveLength(1);
    release();
    const done = await Promise.all(ids.map((id) => finished(key, a.id, id)));
    expect(done.map((d) => d.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
    expect(most).toBe(1);
    // In order: the first started runs first, the others after.
    const started = done.map((d) => Date.parse(d.startedAt));
    expect(started[1]).toBeGreaterThanOrEqual(Date.parse(done[0].finishedAt));
    // A synchronous call finds no slot while one runs: 429 agent_busy, recorded as failed.
    const status = await call("GET", `/v1/agents/${a.id}/status`, { key });
    expect(status.json).toMatchObject({ queued: 0, running: 0, startedToday: 3 });
  });

  it("fails new executions with budget_exhausted once the day's budget is spent", async () => {
    const { key } = await newOrg();
    await llmConnection(key);
    const t = await template(key, { executionPolicy: { budgetUsdPerDay: 0.0001 } });
    const a = await agent(key, { name: "Thrifty", type: "template", templateId: t.id });
    double(() => openaiAnswer('{"qualified": true, "reason": "ok"}'));
    const first = await finished(
      key,
      a.id,
      (await execute(key, a.id, { input: { message: "1" } })).json.id,
    );
    expect(first.status).toBe("succeeded");
    expect(first.costUsd).toBeGreaterThan(0.0001); // 1,000 + 200 tokens of gpt-4o-mini
    const second = await finished(
      key,
      a.id,
      (await execute(key, a.id, { input: { message: "2" } })).json.id,
    );
    expect(second.status).toBe("failed");
    expect(second.error.code).toBe("budget_exhausted");
    expectError(
      await call("POST", `/v1/agents/${a.id}/inference`, {
        key,
        body: { input: { message: "3" } },
      }),
      429,
      "budget_exhausted",
    );
    const status = await call("GET", `/v1/agents/${a.id}/status`, { key });
    expect(status.json.spentTodayUsd).toBeCloseTo(first.costUsd, 12);
    expect(status.json.lastError.code).toBe("budget_exhausted");
  });

  it("keeps a paused agent's executions queued, runs them on resume, cancels them on delete", async () => {
    const { key } = await newOrg();
    const a = await agent(key, {
      name: "Sleepy",
      type: "code",
      endpoint: "https://code.test/run",
      status: "paused",
    });
    double(() => json({ ok: true }));
    const x = await execute(key, a.id, { input: { n: 1 } });
    await new Promise((r) => setTimeout(r, 1500));
    expect((await execution(key, a.id, x.json.id)).json.status).toBe("queued");
    expectError(
      await call("POST", `/v1/agents/${a.id}/score_lead`, { key, body: { contactId: "con_x" } }),
      404,
      "not_found",
    );
    await call("PATCH", `/v1/agents/${a.id}`, { key, body: { status: "active" } });
    expect((await finished(key, a.id, x.json.id)).status).toBe("succeeded");

    await call("PATCH", `/v1/agents/${a.id}`, { key, body: { status: "paused" } });
    const y = await execute(key, a.id, { input: { n: 2 } });
    expect((await call("DELETE", `/v1/agents/${a.id}`, { key })).status).toBe(204);
    const row = await DB.prepare("select status, error from agent_executions where id = ?")
      .bind(y.json.id)
      .first<{ status: string; error: string }>();
    expect(row?.status).toBe("cancelled");
    expect(JSON.parse(row?.error ?? "{}").code).toBe("agent_deleted");
    expectError(await call("GET", `/v1/agents/${a.id}`, { key }), 404, "not_found");
  });
});

describe("lead scoring", () => {
  it("scores 0–100 by transparent rules with reasons, stores it on the contact and emits contact.scored", async () => {
    const { key } = await newOrg();
    const contact = await call("POST", "/v1/contacts", {
      key,
      body: { email: "vp@acme.test", data: { title: "VP Sales", seats: 40 } },
    });
    for (const name of ["pricing_viewed", "pricing_viewed", "demo_requested"]) {
      await call("POST", "/v1/events", { key, body: { email: "vp@acme.test", name } });
    }
    const a = await agent(key, {
      name: "Scorer",
      type: "code",
      endpoint: "https://code.test/never",
      configuration: {
        "score.base": 5,
        "score.field.data.title": 10,
        "score.field.data.title.equals": "vp sales",
        "score.field.phone": 20,
        "score.event.pricing_viewed": 15,
        "score.event.pricing_viewed.max": 20,
        "score.event.demo_requested": 40,
      },
    });
    const res = await call("POST", `/v1/agents/${a.id}/score_lead`, {
      key,
      body: { contactId: contact.json.id },
    });
    expect(res.status, res.text).toBe(200);
    // 5 + 10 + min(2 × 15, 20) + 40 = 75; no phone.
    expect(res.json).toMatchObject({
      contactId: contact.json.id,
      score: 75,
      rulesScore: 75,
      modelScore: null,
    });
    expect(res.json.reasons).toEqual([
      '+40 1 × event "demo_requested" in the last 30 days (+40 each)',
      '+20 2 × event "pricing_viewed" in the last 30 days (+15 each, capped at 20)',
      '+10 data.title is "vp sales"',
      "+5 base score",
    ]);
    const stored = await call("GET", `/v1/contacts/${contact.json.id}`, { key });
    expect(stored.json.score).toBe(75);
    expect(stored.json.scoredAt).toBe(res.json.scoredAt);
    const x = await execution(key, a.id, res.json.executionId);
    expect(x.json).toMatchObject({ kind: "score", status: "succeeded" });
    const catalog = await call("GET", "/v1/webhooks/catalog", { key });
    const types = JSON.stringify(catalog.json);
    for (const t of ["contact.scored", "agent.execution.succeeded", "agent.execution.failed"]) {
      expect(types).toContain(t);
    }
    expectError(
      await call("POST", `/v1/agents/${a.id}/score_lead`, {
        key,
        body: { contactId: "con_01JD0000000000000000000000" },
      }),
      404,
      "not_found",
    );
  });

  it("blends a template's judgement when configured", async () => {
    const { key } = await newOrg();
    await llmConnection(key);
    const t = await template(key, {
      outputSchema: {
        type: "object",
        properties: {
          score: { type: "number" },
          reasons: { type: "array", items: { type: "string" } },
        },
        required: ["score"],
      },
    });
    const contact = await call("POST", "/v1/contacts", { key, body: { email: "x@acme.test" } });
    const a = await agent(key, {
      name: "Blend",
      type: "template",
      templateId: t.id,
      configuration: { "score.base": 20, "score.llm.templateId": t.id, "score.llm.weight": 0.5 },
    });
    double(() => openaiAnswer('{"score": 80, "reasons": ["big company"]}'));
    const res = await call("POST", `/v1/agents/${a.id}/score_lead`, {
      key,
      body: { contactId: contact.json.id },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ score: 50, rulesScore: 20, modelScore: 80 });
    expect(res.json.reasons).toContain("model: big company");
  });
  const SCORE_SCHEMA = {
    type: "object",
    properties: {
      score: { type: "number" },
      reasons: { type: "array", items: { type: "string" } },
    },
    required: ["score"],
  };

  it("does not ask the model once the blend's template has spent its daily budget, and says why", async () => {
    const { key } = await newOrg();
    await llmConnection(key);
    const t = await template(key, {
      outputSchema: SCORE_SCHEMA,
      executionPolicy: { budgetUsdPerDay: 0.0001 },
    });
    const seen = double(() => openaiAnswer('{"score": 80, "reasons": ["big company"]}'));
    // The template's own agent spends the day's budget (1,000 + 200 tokens of gpt-4o-mini).
    const spender = await agent(key, { name: "Spender", type: "template", templateId: t.id });
    const spent = await finished(
      key,
      spender.id,
      (await execute(key, spender.id, { input: { m: 1 } })).json.id,
    );
    expect(spent.status).toBe("succeeded");
    expect(seen).toHaveLength(1);
    const contact = await call("POST", "/v1/contacts", { key, body: { email: "x@acme.test" } });
    const scorer = await agent(key, {
      name: "Scorer",
      type: "code",
      endpoint: "https://code.test/never",
      configuration: { "score.base": 20, "score.llm.templateId": t.id, "score.llm.weight": 0.5 },
    });
    const res = await call("POST", `/v1/agents/${scorer.id}/score_lead`, {
      key,
      body: { contactId: contact.json.id },
    });
    expect(res.status, res.text).toBe(200);
    expect(seen).toHaveLength(1);
    expect(res.json).toMatchObject({ score: 20, rulesScore: 20, modelScore: null });
    expect(res.json.reasons).toContainEqual(
      expect.stringContaining(`template ${t.id}'s daily budget of $0.0001 is spent`),
    );
    const stored = await call("GET", `/v1/contacts/${contact.json.id}`, { key });
    expect(stored.json.score).toBe(20);
  });

  it("does not wait for a slot at the blend's template: busy, the rules score stands", async () => {
    const { key } = await newOrg();
    await llmConnection(key);
    const t = await template(key, {
      outputSchema: SCORE_SCHEMA,
      executionPolicy: { maxConcurrent: 1 },
    });
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    const seen = double(async (_, n) => {
      if (n === 1) {
        await held;
      }
      return openaiAnswer('{"score": 80, "reasons": ["big company"]}');
    });
    // The template's own agent holds its one slot while the lead is scored.
    const holder = await agent(key, { name: "Holder", type: "template", templateId: t.id });
    const busy = await execute(key, holder.id, { input: { m: 1 } });
    await poll(
      () => call("GET", `/v1/agents/${holder.id}/status`, { key }),
      (r) => r.json.running === 1,
    );
    const contact = await call("POST", "/v1/contacts", { key, body: { email: "x@acme.test" } });
    const scorer = await agent(key, {
      name: "Scorer",
      type: "code",
      endpoint: "https://code.test/never",
      configuration: { "score.base": 20, "score.llm.templateId": t.id },
    });
    const res = await call("POST", `/v1/agents/${scorer.id}/score_lead`, {
      key,
      body: { contactId: contact.json.id },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ score: 20, modelScore: null });
    expect(res.json.reasons).toContainEqual(expect.stringContaining("has no slot free now"));
    expect(seen).toHaveLength(1);
    release();
    expect((await finished(key, holder.id, busy.json.id)).status).toBe("succeeded");
  });

  it("counts a blend's model cost against its template's daily budget", async () => {
    const { key } = await newOrg();
    await llmConnection(key);
    const t = await template(key, {
      outputSchema: SCORE_SCHEMA,
      executionPolicy: { budgetUsdPerDay: 0.0001 },
    });
    const seen = double(() => openaiAnswer('{"score": 80, "reasons": ["big company"]}'));
    const contact = await call("POST", "/v1/contacts", { key, body: { email: "x@acme.test" } });
    const scorer = await agent(key, {
      name: "Scorer",
      type: "code",
      endpoint: "https://code.test/never",
      configuration: { "score.base": 20, "score.llm.templateId": t.id, "score.llm.weight": 0.5 },
    });
    const res = await call("POST", `/v1/agents/${scorer.id}/score_lead`, {
      key,
      body: { contactId: contact.json.id },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ score: 50, modelScore: 80 });
    expect(seen).toHaveLength(1);
    const scored = await execution(key, scorer.id, res.json.executionId);
    expect(scored.json.costUsd).toBeGreaterThan(0.0001);
    // The template's gate (read through an agent on it) has the blend's spend on its day.
    const user = await agent(key, { name: "User", type: "template", templateId: t.id });
    const status = await call("GET", `/v1/agents/${user.id}/status`, { key });
    expect(status.json.spentTodayUsd).toBeCloseTo(scored.json.costUsd, 12);
    expect(status.json.startedToday).toBe(1);
    const next = await finished(
      key,
      user.id,
      (await execute(key, user.id, { input: { m: 1 } })).json.id,
    );
    expect(next.error?.code).toBe("budget_exhausted");
    expect(seen).toHaveLength(1);
  });
});

describe("agents in workflows", () => {
  it("an agent step merges the output into the variables; score_lead sets contact.score for a branch", async () => {
    const { key } = await newOrg();
    const coder = await agent(key, {
      name: "Router",
      type: "code",
      endpoint: "https://code.test/route",
    });
    const scorer = await agent(key, {
      name: "Scorer",
      type: "code",
      endpoint: "https://code.test/never",
      configuration: { "score.field.data.title": 70 },
    });
    const seen = double(() => json({ owner: "sam" }));
    const wf = await activeWorkflow(
      key,
      [
        {
          id: "route",
          type: "agent",
          config: { agentId: coder.id, input: { source: "{{ contact.email }}" } },
        },
        { id: "score", type: "score_lead", config: { agentId: scorer.id } },
        {
          id: "hot",
          type: "condition",
          config: { field: "contact.score", operator: "gte", value: 50 },
        },
        {
          id: "yes",
          type: "log",
          config: { message: "hot lead for {{ vars.owner }} ({{ vars.score }})" },
        },
        { id: "no", type: "log", config: { message: "cold lead" } },
      ],
      {
        transitions: [
          { from: "route", to: "score", on: "succeeded" },
          { from: "score", to: "hot", on: "succeeded" },
          { from: "hot", to: "yes", on: "true" },
          { from: "hot", to: "no", on: "false" },
        ],
      },
    );
    const e = await call("POST", "/v1/enrollments", {
      key,
      body: { workflowId: wf.id, contact: { email: "lead@acme.test", data: { title: "CTO" } } },
    });
    expect(e.status, e.text).toBe(201);
    const done = await poll(
      () => enrollment(key, e.json.id),
      (x) => x.status === "completed" || x.status === "failed",
      15_000,
    );
    expect(done.status).toBe("completed");
    const messages = done.timeline.map((l: { message: string }) => l.message);
    expect(messages).toContain("hot lead for sam (70)");
    const sent = JSON.parse(seen[0].body);
    expect(sent.input).toMatchObject({ source: "lead@acme.test", contactId: e.json.contactId });
    const contact = await call("GET", `/v1/contacts/${e.json.contactId}`, { key });
    expect(contact.json.score).toBe(70);
    // The step's execution is recorded under the agent, keyed by the step.
    const xs = await call("GET", `/v1/agents/${coder.id}/executions`, { key });
    expect(xs.json.data).toHaveLength(1);
    expect(xs.json.data[0]).toMatchObject({ kind: "step", status: "succeeded" });
  });

  it("a dry run says what it would run", async () => {
    const { key } = await newOrg();
    const wf = await call("POST", "/v1/workflows", {
      key,
      body: {
        name: "Dry",
        steps: [{ id: "a", type: "agent", config: { agentId: "agt_01JD0000000000000000000000" } }],
      },
    });
    const res = await call("POST", `/v1/workflows/${wf.json.id}/test`, {
      key,
      body: {},
    });
    expect(res.status, res.text).toBe(200);
    expect(JSON.stringify(res.json)).toContain(
      "[test] Would run agent agt_01JD0000000000000000000000",
    );
  });
});

describe("monitoring", () => {
  it("reports figures equal to the executions: fleet, metrics, costs, logs", async () => {
    const { key } = await newOrg();
    await llmConnection(key);
    const t = await template(key);
    const a = await agent(key, { name: "Watched", type: "template", templateId: t.id });
    double((_, n) =>
      n <= 2 ? openaiAnswer('{"qualified": true, "reason": "ok"}') : openaiAnswer("nope"),
    );
    const ok1 = await finished(key, a.id, (await execute(key, a.id, { input: { m: 1 } })).json.id);
    const ok2 = await finished(key, a.id, (await execute(key, a.id, { input: { m: 2 } })).json.id);
    const bad = await finished(key, a.id, (await execute(key, a.id, { input: { m: 3 } })).json.id);
    expect([ok1.status, ok2.status, bad.status]).toEqual(["succeeded", "succeeded", "failed"]);
    const all = [ok1, ok2, bad];
    const spend = all.reduce((s, x) => s + x.costUsd, 0);
    const durations = all.map((x) => x.durationMs).sort((p, q) => p - q);

    const fleet = await call("GET", "/v1/monitoring/agents", { key });
    expect(fleet.json.windowHours).toBe(24);
    const mine = fleet.json.agents.find((x: { agentId: string }) => x.agentId === a.id);
    expect(mine).toMatchObject({ executions: 3, failures: 1, queuedNow: 0, paused: false });
    expect(mine.spendUsd).toBeCloseTo(spend, 12);
    expect(mine.p95DurationMs).toBe(durations[2]);

    const metrics = await call("GET", `/v1/agents/${a.id}/metrics`, { key });
    expect(metrics.json.totals).toMatchObject({ executions: 3, succeeded: 2, failed: 1 });
    expect(metrics.json.totals.successRate).toBeCloseTo(2 / 3, 12);
    expect(metrics.json.totals.p50DurationMs).toBe(durations[1]);
    expect(metrics.json.days).toHaveLength(1);

    const costs = await call("GET", `/v1/agents/${a.id}/costs`, { key });
    expect(costs.json.totalUsd).toBeCloseTo(spend, 12);
    expect(costs.json.days).toEqual([
      expect.objectContaining({
        model: "gpt-4o-mini-2024-07-18",
        executions: 3,
        tokensIn: 4000,
        tokensOut: 800,
      }),
    ]);

    const logs = await call("GET", `/v1/agents/${a.id}/logs?executionId=${bad.id}`, { key });
    const lines = logs.json.data.map((l: { message: string }) => l.message);
    expect(
      lines.some((l: string) => l.startsWith("Failed: The model's answer did not match")),
    ).toBe(true);
    expect(lines.at(-1)).toBe("Queued (execute)");
  });

  it("the cron deletes exchanges past their retention and sends a lost execution on again", async () => {
    const { key } = await newOrg();
    const a = await agent(key, { name: "Lost", type: "code", endpoint: "https://code.test/run" });
    double(() => json({ found: true }));
    // An execution whose queue job was lost: written queued, never sent.
    const id = "axn_01JD0000000000000000000001";
    const long = Date.now() - 11 * 60_000;
    await DB.prepare(
      "insert into agent_executions (id, org_id, agent_id, idempotency_key, request_hash, kind, input, status, created_at) values (?, (select org_id from agents where id = ?), ?, 'lost', 'h', 'execute', '{}', 'queued', ?)",
    )
      .bind(id, a.id, a.id, long)
      .run();
    await DB.prepare(
      "insert into agent_exchanges (id, org_id, agent_id, execution_id, attempt, model, prompt, answer, validation_errors, tokens_in, tokens_out, at, expires_at) values ('arx_01JD0000000000000000000001', 'o', ?, ?, 1, 'm', 'p', 'a', '[]', 1, 1, ?, ?)",
    )
      .bind(a.id, id, long, long + 1)
      .run();
    await runWatchdog(env, testLog);
    expect((await finished(key, a.id, id)).output).toEqual({ found: true });
    const kept = await DB.prepare("select count(*) as n from agent_exchanges where agent_id = ?")
      .bind(a.id)
      .first<{ n: number }>();
    expect(kept?.n).toBe(0);
  });
});

describe("isolation", () => {
  it("answers 404 for another org's agents and templates", async () => {
    const mine = await newOrg();
    const theirs = await newOrg("Other");
    const t = await template(theirs.key);
    const a = await agent(theirs.key, { name: "Theirs", type: "template", templateId: t.id });
    for (const [method, path, body] of [
      ["GET", `/v1/agents/${a.id}`],
      ["PATCH", `/v1/agents/${a.id}`, { status: "paused" }],
      ["DELETE", `/v1/agents/${a.id}`],
      ["POST", `/v1/agents/${a.id}/execute`, { input: {} }],
      ["POST", `/v1/agents/${a.id}/inference`, { input: {} }],
      ["GET", `/v1/agents/${a.id}/executions`],
      ["GET", `/v1/agents/${a.id}/status`],
      ["GET", `/v1/agents/${a.id}/logs`],
      ["GET", `/v1/agents/${a.id}/costs`],
      ["GET", `/v1/agents/${a.id}/metrics`],
      ["GET", `/v1/monitoring/reasoning/${a.id}`],
      ["GET", `/v1/agent-templates/${t.id}`],
      ["PATCH", `/v1/agent-templates/${t.id}/execution-policy`, { maxConcurrent: 1 }],
      ["DELETE", `/v1/agent-templates/${t.id}`],
    ] as const) {
      expectError(await call(method, path, { key: mine.key, body }), 404, "not_found");
    }
    // A template another org's agent runs cannot be named either.
    expectError(
      await call("POST", "/v1/agents", {
        key: mine.key,
        body: { name: "Sneaky", type: "template", templateId: t.id },
      }),
      404,
      "not_found",
    );
    expect((await call("GET", "/v1/monitoring/agents", { key: mine.key })).json.agents).toEqual([]);
    // Still theirs, untouched.
    expect((await call("GET", `/v1/agents/${a.id}`, { key: theirs.key })).json.status).toBe(
      "active",
    );
    expectError(
      await call("DELETE", `/v1/agent-templates/${t.id}`, { key: theirs.key }),
      409,
      "template_in_use",
    );
  });
});

describe("the skills brief", () => {
  it("has the agents section and the what-to-use-when rows for agents", async () => {
    const brief = (await call("GET", "/docs/skills-v1.md")).text;
    expect(brief).toContain("## Agents");
    for (const row of [
      "executeAgent",
      "/inference",
      "execution-policy",
      "score_lead",
      "/v1/monitoring/agents",
    ]) {
      expect(brief.split("## Auth")[0]).toContain(row);
    }
    for (const code of [
      "agent_name_taken",
      "budget_exhausted",
      "no_llm_connection",
      "output_invalid",
    ]) {
      expect(brief).toContain(code);
    }
  });
});
