// What the dashboard reads beyond the rest of the API, public like the rest: active enrollment
// counts on the workflow list, the enrollment lists by current step, contacts by phone; and
// the dashboard's page with its security headers.
import { describe, expect, it } from "vitest";
import { activeWorkflow, call, expectError, newOrg, poll } from "../helpers/api";

describe("the dashboard's reads", () => {
  it("counts active enrollments per workflow on request, filters enrollments by step, finds contacts by phone", async () => {
    const { key } = await newOrg();
    const wf = await activeWorkflow(key, [
      { id: "hello", type: "log", config: { message: "hi" } },
      { id: "hold", type: "wait_for_event", config: { eventName: "go", timeout: 86400 } },
    ]);
    const quick = await activeWorkflow(key, [
      { id: "only", type: "log", config: { message: "x" } },
    ]);
    for (const [i, phone] of ["+14155550101", "+14155550102", "+14155550103"].entries()) {
      const e = await call("POST", "/v1/enrollments", {
        key,
        body: { workflowId: wf.id, contact: { email: `p${i}@x.test`, phone } },
      });
      expect(e.status).toBe(201);
    }
    await call("POST", "/v1/enrollments", {
      key,
      body: { workflowId: quick.id, contact: { email: "q@x.test" } },
    });
    await poll(
      () => call("GET", `/v1/enrollments?workflowId=${wf.id}&stepId=hold`, { key }),
      (r) => r.json.data.length === 3,
    );

    const plain = await call("GET", "/v1/workflows", { key });
    expect(plain.json.data[0].activeEnrollments).toBeUndefined();
    const counted = await poll(
      () => call("GET", "/v1/workflows?withCounts=true", { key }),
      (r) => r.json.data.find((w: { id: string }) => w.id === quick.id)?.activeEnrollments === 0,
    );
    const byId = new Map(
      counted.json.data.map((w: { id: string; activeEnrollments: number }) => [
        w.id,
        w.activeEnrollments,
      ]),
    );
    expect(byId.get(wf.id)).toBe(3);
    expect(byId.get(quick.id)).toBe(0);

    expect(
      (await call("GET", `/v1/enrollments?workflowId=${wf.id}&stepId=hello`, { key })).json.data,
    ).toEqual([]);
    const tab = await call("GET", `/v1/workflows/${wf.id}/enrollments?stepId=hold&limit=2`, {
      key,
    });
    expect(tab.json.data).toHaveLength(2);
    expect(tab.json.data.every((e: { currentStepId: string }) => e.currentStepId === "hold")).toBe(
      true,
    );
    expect(tab.json.nextCursor).not.toBeNull();

    const found = await call(
      "GET",
      `/v1/contacts?phone=${encodeURIComponent("+1 (415) 555-0102")}`,
      { key },
    );
    expect(found.json.data.map((c: { email: string }) => c.email)).toEqual(["p1@x.test"]);
    expect((await call("GET", "/v1/contacts?phone=%2B14155550199", { key })).json.data).toEqual([]);
    expectError(
      await call("GET", "/v1/workflows?withCounts=maybe", { key }),
      422,
      "validation_failed",
    );
  });

  it("serves /app with a strict policy and no framing, without a key", async () => {
    const res = await call("GET", "/app");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const csp = res.headers.get("content-security-policy") ?? "";
    for (const d of [
      "default-src 'none'",
      "script-src 'self'",
      "connect-src 'self'",
      "frame-ancestors 'none'",
    ]) {
      expect(csp).toContain(d);
    }
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.text).toContain('<script type="module" src="/app/app.js"></script>');
    expect(res.text).not.toMatch(/<script>/);
  });
});
