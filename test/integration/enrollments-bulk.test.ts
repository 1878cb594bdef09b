// Many enrollments at once: bulk enrollment with per-contact results and its refusals, the
// funnel and per-step stats, cancel-all, and bulk results kept to their org.
import { describe, expect, it } from "vitest";
import { activeWorkflow, call, expectError, newOrg, poll } from "../helpers/api";
import { enrollment, expireWait, fireAlarm, settle } from "../helpers/enrollments";
import { delay, enroll, log, mail } from "../helpers/journeys";

describe("bulk, funnel, cancel-all and imports", () => {
  it("enrolls in bulk with per-contact results", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [delay(3600)]);
    const existing = (await call("POST", "/v1/contacts", { key, body: { email: "dup@x.co" } }))
      .json;
    await enroll(key, w.id, { email: "dup@x.co" });
    const res = await call("POST", "/v1/enrollments/bulk", {
      key,
      body: {
        enrollment: {
          workflowId: w.id,
          contacts: [
            { email: "ok1@x.co" },
            { email: "bad" },
            { email: "dup@x.co" },
            42,
            { email: "ok2@x.co" },
          ],
        },
      },
    });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ createdCount: 2, skippedCount: 3 });
    expect(res.json.results.map((r: { status: string }) => r.status)).toEqual([
      "enrolled",
      "invalid",
      "skipped",
      "invalid",
      "enrolled",
    ]);
    expect(res.json.results[2]).toMatchObject({
      contactId: existing.id,
      reason: "already_enrolled",
    });
    const ids = await call("POST", "/v1/enrollments/bulk", {
      key,
      body: { workflowId: w.id, contactIds: [existing.id, "con_missing"] },
    });
    expectError(ids, 422, "no_enrollments_created");
    expect(ids.json.results).toHaveLength(2);
  });

  it.each([
    [{}, "contacts_required"],
    [{ contacts: [] }, "contacts_empty"],
    [
      { contacts: Array.from({ length: 101 }, (_, i) => ({ email: `x${i}@x.co` })) },
      "too_many_contacts",
    ],
  ])("answers %j with 422 %s", async (body, code) => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [log("x")]);
    expectError(
      await call("POST", "/v1/enrollments/bulk", { key, body: { workflowId: w.id, ...body } }),
      422,
      code,
    );
  });

  it("counts the funnel by true positions and cancels all", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [delay(3600, "d1"), delay(3600, "d2")]);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      ids.push((await enroll(key, w.id)).json.id);
    }
    for (const id of ids) {
      await settle(key, id);
    }
    await expireWait(ids[0]);
    const res = await call("GET", `/v1/workflows/${w.id}/enrollments`, { key });
    expect(res.json.data).toHaveLength(4);
    const steps = Object.fromEntries(
      res.json.stepFunnel.steps.map((s: { stepId: string }) => [s.stepId, s]),
    );
    expect(steps.d1).toMatchObject({ active: 3, waiting: 3, running: 0 });
    expect(steps.d2).toMatchObject({ active: 1, waiting: 1, running: 0 });
    expect(res.json.stepFunnel.totals).toEqual({
      active: 4,
      completed: 0,
      failed: 0,
      cancelled: 0,
      total: 4,
    });
    const cancelled = await call("POST", `/v1/workflows/${w.id}/enrollments/cancel-all`, { key });
    expect(cancelled.json).toEqual({ cancelled: 4 });
    const after = await call("GET", `/v1/workflows/${w.id}/enrollments?status=cancelled`, { key });
    expect(after.json.data).toHaveLength(4);
    expect(after.json.stepFunnel.totals).toMatchObject({ active: 0, cancelled: 4 });
  });

  it("reports per-step stats", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [mail("S", "m"), log("l", "l")]);
    const e = await enroll(key, w.id, { email: "stats@x.co" });
    await settle(key, e.json.id);
    const stats = await poll(
      async () => (await call("GET", `/v1/workflows/${w.id}/stats`, { key })).json,
      (s) => s.steps[0].email.sent === 1,
    );
    expect(stats.steps[0]).toMatchObject({ stepId: "m", entered: 1, completed: 1, failed: 0 });
    expect(stats.steps[1]).toMatchObject({ stepId: "l", entered: 1, completed: 1 });
  });

  it("keeps enrollments to their org", async () => {
    const a = await newOrg("A");
    const b = await newOrg("B");
    const w = await activeWorkflow(a.key, [delay(3600)]);
    const e = await enroll(a.key, w.id);
    for (const [method, path] of [
      ["GET", `/v1/enrollments/${e.json.id}`],
      ["GET", `/v1/enrollments/${e.json.id}/logs`],
      ["POST", `/v1/enrollments/${e.json.id}/cancel`],
      ["DELETE", `/v1/enrollments/${e.json.id}`],
      ["POST", `/v1/workflows/${w.id}/enrollments/cancel-all`],
    ]) {
      expectError(await call(method, path, { key: b.key }), 404, "not_found");
    }
    expectError(await enroll(b.key, w.id), 404, "not_found");
    expect((await call("GET", "/v1/enrollments", { key: b.key })).json.data).toEqual([]);
    // A's enrollment is untouched by B's cancel, cancel-all and DELETE.
    expect(await enrollment(a.key, e.json.id)).toMatchObject({
      id: e.json.id,
      status: expect.stringMatching(/^(running|waiting)$/),
    });
    expect(await fireAlarm(e.json.id)).toBe(true); // its object is alive and armed
  });
});
