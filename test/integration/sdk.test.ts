// The SDK (sdk/) against the Worker: the seed's calls, typed errors, idempotency keys,
// retries honouring Retry-After, and pagination.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Nudge, NudgeError } from "../../sdk/src/index";
import { newOrg, poll } from "../helpers/api";

const BASE = "https://nudge.test";
const worker: typeof fetch = (input, init) => exports.default.fetch(new Request(input, init));

describe("the SDK against the Worker", () => {
  it("creates a workflow, activates it, enrolls and reads the logs", async () => {
    const { key } = await newOrg();
    const client = new Nudge({ apiKey: key, baseUrl: BASE, fetch: worker });
    const wf = await client.workflows.create({
      name: "SDK",
      steps: [{ id: "hi", type: "log", config: { message: "hi {{ contact.firstName }}" } }],
    });
    expect(wf.status).toBe("draft");
    const trace = await client.workflows.test(wf.id, { sampleData: { firstName: "Ada" } });
    expect(trace.trace.map((t) => t.message)).toContain("hi Ada");
    expect((await client.workflows.activate(wf.id)).status).toBe("active");
    const c1 = await client.contacts.upsert({ email: "ada@sdk.test", firstName: "Ada" });
    const c2 = await client.contacts.upsert({ email: "bob@sdk.test", firstName: "Bob" });
    const bulk = await client.bulkEnroll(wf.id, [c1.id, c2.id]);
    expect(bulk.createdCount).toBe(2);
    const id = bulk.results[0].enrollmentId as string;
    await poll(
      () => client.getEnrollment(id),
      (e) => e.status === "completed",
    );
    const logs = await client.listEnrollmentLogs(id);
    expect(logs.map((l) => l.message)).toContain("hi Ada");
    const seen: string[] = [];
    for await (const e of client.enrollments.list({ workflowId: wf.id, limit: 1 })) {
      seen.push(e.id);
    }
    expect(seen.sort()).toEqual(bulk.results.map((r) => r.enrollmentId).sort());
    expect((await client.listEnrollments({ workflowId: wf.id })).data).toHaveLength(2);
  });

  it("runs a call → task sequence on the outbox: enroll by phone, record the outcome, complete the task", async () => {
    const { key } = await newOrg();
    const client = new Nudge({ apiKey: key, baseUrl: BASE, fetch: worker });
    const wf = await client.workflows.create({
      name: "Outbound",
      status: "active",
      steps: [
        { id: "ring", type: "call", config: { script: "Hi {{ contact.firstName }}" } },
        {
          id: "rep",
          type: "task",
          config: { taskType: "call", title: "Call back", dueIn: 3600, outcomes: ["connected"] },
        },
      ],
    });
    const e = await client.enrollments.create({
      workflowId: wf.id,
      contact: { phone: "+14155550199", name: "Pat Prospect" },
      bypassCallWindow: true,
    });
    const calls = await poll(
      async () => {
        const out = [];
        for await (const item of client.outbox.list({ channel: "call" })) {
          out.push(item);
        }
        return out;
      },
      (o) => o.length === 1,
    );
    expect(calls[0].text).toBe("Hi Pat");
    await client.outbox.recordCallOutcome(calls[0].id, { outcome: "no_answer" });
    const open = await poll(
      async () => {
        const out = [];
        for await (const t of client.tasks.list({ status: "open" })) {
          out.push(t);
        }
        return out;
      },
      (t) => t.length === 1,
    );
    const done = await client.tasks.complete(open[0].id, { outcome: "connected" });
    expect(done.status).toBe("completed");
    await poll(
      () => client.enrollments.get(e.id),
      (x) => x.status === "completed",
    );
  });

  it("throws NudgeError with the API's code, message, details, request id and status", async () => {
    const { key } = await newOrg();
    const client = new Nudge({ apiKey: key, baseUrl: BASE, fetch: worker });
    const err = await client.getEnrollment("enr_missing").catch((e) => e);
    expect(err).toBeInstanceOf(NudgeError);
    expect(err).toMatchObject({ status: 404, error: "not_found" });
    expect(err.requestId).toMatch(/\S/);
    const invalid = await client.contacts.upsert({ email: "nope" }).catch((e) => e);
    expect(invalid).toMatchObject({ status: 422, error: "validation_failed" });
    expect(invalid.details.length).toBeGreaterThan(0);
    const unauthorized = await new Nudge({ apiKey: "nk_live_wrong", baseUrl: BASE, fetch: worker })
      .listEnrollments()
      .catch((e) => e);
    expect(unauthorized).toMatchObject({ status: 401, error: "unauthorized" });
  });

  it("sends an Idempotency-Key on every POST and keeps it across retries of a 503 and a 429", async () => {
    const { key } = await newOrg();
    const seen: { method: string; key: string | null; status: number }[] = [];
    let failures = [503, 429];
    const flaky: typeof fetch = async (input, init) => {
      const req = new Request(input, init);
      const fail = req.method === "POST" ? failures.shift() : undefined;
      const res = fail
        ? new Response(JSON.stringify({ error: "service_unavailable", message: "x" }), {
            status: fail,
            headers: fail === 429 ? { "retry-after": "0.01" } : {},
          })
        : await worker(req);
      seen.push({
        method: req.method,
        key: req.headers.get("idempotency-key"),
        status: res.status,
      });
      return res;
    };
    const client = new Nudge({ apiKey: key, baseUrl: BASE, fetch: flaky });
    const contact = await client.contacts.upsert({ email: "retry@sdk.test" });
    expect(contact.email).toBe("retry@sdk.test");
    expect(seen.map((s) => s.status)).toEqual([503, 429, 201]);
    expect(new Set(seen.map((s) => s.key)).size).toBe(1);
    expect(seen[0].key).toMatch(/^[0-9a-f-]{36}$/);
    // A new call gets a new key; a GET gets none.
    failures = [];
    await client.contacts.upsert({ email: "retry2@sdk.test" });
    await client.contacts.get(contact.id);
    expect(seen[3].key).not.toBe(seen[0].key);
    expect(seen[4]).toMatchObject({ method: "GET", key: null });
  });
});
