import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { EnrollmentDO } from "../../durable-objects/enrollment";
import { runWatchdog } from "../../src/watchdog";
import { activeWorkflow, call, expectError, newOrg, poll } from "../helpers/api";
import { enrollment, expireWait, fireAlarm, settle, stubOf } from "../helpers/enrollments";

const log = (message: string, id?: string) => ({ ...(id ? { id } : {}), type: "log", config: { message } });
const mail = (subject: string, id?: string) => ({
  ...(id ? { id } : {}),
  type: "send_email",
  config: { subject, html: `<p>${subject} <a href="https://example.com/x">link</a></p>` },
});
const delay = (seconds: number, id?: string) => ({ ...(id ? { id } : {}), type: "delay", config: { amount: seconds, unit: "seconds" } });

async function enroll(
  key: string,
  workflowId: string,
  contact: Record<string, unknown> = { email: `c${Math.random()}@x.co` },
  extra: Record<string, unknown> = {},
) {
  return call("POST", "/v1/enrollments", { key, body: { workflowId, contact, ...extra } });
}

const outboxFor = async (key: string, to: string) => (await call("GET", `/v1/outbox?to=${encodeURIComponent(to)}`, { key })).json.data as { subject: string }[];

describe("an enrollment's life", () => {
  it("runs a linear journey end to end: email, delay, email into the outbox", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [mail("First", "m1"), delay(3600, "wait"), mail("Second", "m2")]);
    const res = await enroll(key, w.id, { email: "linear@x.co", firstName: "Lin" }, { variables: { hook: "h" } });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ workflowId: w.id, workflowVersion: 1, status: "running", variables: { hook: "h" }, timezone: "UTC" });
    const id = res.json.id;
    const waiting = await settle(key, id);
    expect(waiting).toMatchObject({ status: "waiting", currentStepId: "wait" });
    expect(Date.parse(waiting.nextRunAt) - Date.now()).toBeGreaterThan(3500_000);
    await poll(
      () => outboxFor(key, "linear@x.co"),
      (o) => o.length === 1,
    );
    expect(await expireWait(id)).toBe(true); // the hour passes
    const done = await poll(
      () => enrollment(key, id),
      (e) => e.status === "completed",
    );
    expect(done.exitReason).toBe("completed");
    expect(done.completedAt).toMatch(/Z$/);
    const mails = await poll(
      () => outboxFor(key, "linear@x.co"),
      (o) => o.length === 2,
    );
    expect(mails.map((m) => m.subject).sort()).toEqual(["First", "Second"]);
    const detail = await enrollment(key, id);
    expect(detail.timeline.map((l: { stepId: string; status: string }) => `${l.stepId}:${l.status}`)).toEqual([
      "m1:started",
      "m1:completed",
      "wait:started",
      "wait:waiting",
      "wait:completed",
      "m2:started",
      "m2:completed",
    ]);
    const msgs = await poll(
      () => enrollment(key, id),
      (e) => e.messages.length === 2 && e.messages.every((m: { status: string }) => m.status === "sent"),
    );
    expect(msgs.messages[0].provider).toBe("outbox");
    const logs = await call("GET", `/v1/enrollments/${id}/logs`, { key });
    expect(logs.json).toHaveLength(7);
    expect(logs.json[0]).toMatchObject({ stepId: "m1", stepType: "send_email", status: "started" });
  });

  it("branches on a condition", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(
      key,
      [{ id: "c", type: "condition", config: { field: "contact.data.plan", operator: "equals", value: "pro" } }, log("pro", "pro"), log("free", "free")],
      {
        transitions: [
          { from: "c", to: "pro", on: "true" },
          { from: "c", to: "free", on: "false" },
        ],
      },
    );
    const pro = await settle(key, (await enroll(key, w.id, { email: "pro@x.co", data: { plan: "pro" } })).json.id);
    const free = await settle(key, (await enroll(key, w.id, { email: "free@x.co", data: { plan: "free" } })).json.id);
    expect(pro.currentStepId).toBe("pro");
    expect(free.currentStepId).toBe("free");
  });

  it("resumes a wait_for_event when the event arrives", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(
      key,
      [{ id: "w", type: "wait_for_event", config: { eventName: "replied", timeout: 86400 } }, log("got it", "yes"), log("no", "no")],
      {
        transitions: [
          { from: "w", to: "yes", on: "event" },
          { from: "w", to: "no", on: "timeout" },
        ],
      },
    );
    const e = await enroll(key, w.id, { email: "wait@x.co" });
    const waiting = await settle(key, e.json.id);
    expect(waiting.waitingFor).toMatchObject({ event: "replied" });
    const ev = await call("POST", "/v1/events", { key, body: { name: "replied", email: "wait@x.co" } });
    expect(ev.json.resumed).toEqual([e.json.id]);
    const done = await enrollment(key, e.json.id);
    expect(done).toMatchObject({ status: "completed", currentStepId: "yes" });
  });

  it("takes the timeout branch when no event comes", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(
      key,
      [{ id: "w", type: "wait_for_event", config: { eventName: "replied", timeout: 60 } }, log("yes", "yes"), log("no", "no")],
      {
        transitions: [
          { from: "w", to: "yes", on: "event" },
          { from: "w", to: "no", on: "timeout" },
        ],
      },
    );
    const e = await enroll(key, w.id);
    await settle(key, e.json.id);
    // Fire the timeout alarm (the test moves time by running it; the DO checks the deadline).
    await expireWait(e.json.id);
    const done = await enrollment(key, e.json.id);
    expect(done).toMatchObject({ status: "completed", currentStepId: "no" });
  });

  it("ignores an event that arrived before the wait began", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [
      delay(3600, "d"),
      { id: "w", type: "wait_for_event", config: { eventName: "replied", timeout: 3600 } },
      log("yes", "yes"),
    ]);
    const e = await enroll(key, w.id, { email: "early@x.co" });
    await settle(key, e.json.id);
    const early = await call("POST", "/v1/events", { key, body: { name: "replied", email: "early@x.co" } });
    expect(early.json.resumed).toEqual([]);
    await expireWait(e.json.id); // the delay ends; now it waits
    expect((await enrollment(key, e.json.id)).currentStepId).toBe("w");
    const late = await call("POST", "/v1/events", { key, body: { name: "replied", email: "early@x.co" } });
    expect(late.json.resumed).toEqual([e.json.id]);
  });

  it("ends the enrollment on an exitOn event", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [delay(3600), log("never")], { exitOn: ["replied"] });
    const e = await enroll(key, w.id, { email: "exit@x.co" });
    await settle(key, e.json.id);
    const ev = await call("POST", "/v1/events", { key, body: { name: "replied", email: "exit@x.co" } });
    expect(ev.json.exited).toEqual([e.json.id]);
    expect(await enrollment(key, e.json.id)).toMatchObject({ status: "completed", exitReason: "exit_on:replied" });
  });

  it("starts workflows triggered by an event", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [log("hi {{ event.plan }}")], { trigger: { type: "event", event: "signed_up" } });
    const ev = await call("POST", "/v1/events", { key, body: { name: "signed_up", email: "trig@x.co", data: { plan: "pro" } } });
    expect(ev.json.enrolled).toHaveLength(1);
    const done = await settle(key, ev.json.enrolled[0]);
    expect(done.workflowId).toBe(w.id);
    expect(done.timeline.find((l: { status: string; stepType: string }) => l.stepType === "log" && l.status === "completed").message).toBe("hi pro");
  });

  it("splits deterministically", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(
      key,
      [
        {
          id: "s",
          type: "split",
          config: {
            variants: [
              { key: "a", weight: 1 },
              { key: "b", weight: 1 },
            ],
          },
        },
        log("A", "A"),
        log("B", "B"),
      ],
      {
        transitions: [
          { from: "s", to: "A", on: "a" },
          { from: "s", to: "B", on: "b" },
        ],
      },
    );
    const ends = new Set<string>();
    for (let i = 0; i < 8; i++) ends.add((await settle(key, (await enroll(key, w.id)).json.id)).currentStepId);
    expect([...ends].every((s) => s === "A" || s === "B")).toBe(true);
  });

  it("holds enrollments of a paused workflow at their next step, then resumes", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [delay(3600, "d"), log("after", "after")]);
    const e = await enroll(key, w.id);
    await settle(key, e.json.id);
    await call("PATCH", `/v1/workflows/${w.id}`, { key, body: { status: "paused" } });
    await expireWait(e.json.id);
    expect(await enrollment(key, e.json.id)).toMatchObject({ status: "waiting", currentStepId: "d" });
    await call("PATCH", `/v1/workflows/${w.id}`, { key, body: { status: "active" } });
    await fireAlarm(e.json.id);
    expect(await enrollment(key, e.json.id)).toMatchObject({ status: "completed", currentStepId: "after" });
  });

  it("produces no further effects after a cancel while waiting", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [delay(3600), mail("Never")]);
    const e = await enroll(key, w.id, { email: "cancel@x.co" });
    await settle(key, e.json.id);
    const c1 = await call("POST", `/v1/enrollments/${e.json.id}/cancel`, { key });
    expect(c1.status).toBe(200);
    expect(c1.json).toMatchObject({ status: "cancelled", exitReason: "cancelled_by_api" });
    const c2 = await call("POST", `/v1/enrollments/${e.json.id}/cancel`, { key });
    expect(c2.json.status).toBe("cancelled");
    await expireWait(e.json.id); // even if its alarm fires, nothing more happens
    await new Promise((r) => setTimeout(r, 300));
    expect(await outboxFor(key, "cancel@x.co")).toEqual([]);
    expect((await enrollment(key, e.json.id)).status).toBe("cancelled");
  });

  it("refuses a second active enrollment and re-entry unless allowed", async () => {
    const { key } = await newOrg();
    const once = await activeWorkflow(key, [log("x")]);
    const again = await activeWorkflow(key, [log("x")], { allowReentry: true });
    const contact = { email: "re@x.co" };
    const first = await enroll(key, once.id, contact);
    expectError(await enroll(key, once.id, contact), 409, "already_enrolled");
    await settle(key, first.json.id);
    expectError(await enroll(key, once.id, contact), 409, "reentry_not_allowed");
    const a = await enroll(key, again.id, contact);
    await settle(key, a.json.id);
    expect((await enroll(key, again.id, contact)).status).toBe(201);
  });

  it("creates exactly one enrollment for 20 concurrent creates of one contact", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [delay(3600)]);
    const c = (await call("POST", "/v1/contacts", { key, body: { email: "race@x.co" } })).json;
    const results = await Promise.all(Array.from({ length: 20 }, () => call("POST", "/v1/enrollments", { key, body: { workflowId: w.id, contactId: c.id } })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 201)) expectError(r, 409, "already_enrolled");
    const list = await call("GET", `/v1/enrollments?workflowId=${w.id}`, { key });
    expect(list.json.data).toHaveLength(1);
  });

  it("refuses workflows that are not active", async () => {
    const { key } = await newOrg();
    const draft = (await call("POST", "/v1/workflows", { key, body: { name: "D", steps: [log("x")] } })).json;
    expectError(await enroll(key, draft.id), 422, "workflow_not_active");
    await call("PATCH", `/v1/workflows/${draft.id}`, { key, body: { status: "archived" } });
    expectError(await enroll(key, draft.id), 422, "workflow_archived");
    expectError(await enroll(key, "wf_nope"), 404, "not_found");
  });

  it("resolves the time zone: given, contact, phone, workflow, UTC", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [delay(3600)], { timezone: "Europe/Paris" });
    expect((await enroll(key, w.id, { email: "tz1@x.co" }, { timezone: "Asia/Tokyo" })).json.timezone).toBe("Asia/Tokyo");
    expect((await enroll(key, w.id, { email: "tz2@x.co", timezone: "America/Chicago" })).json.timezone).toBe("America/Chicago");
    expect((await enroll(key, w.id, { email: "tz3@x.co", phone: "+14155552671" })).json.timezone).toBe("America/Los_Angeles");
    expect((await enroll(key, w.id, { email: "tz4@x.co", phone: "+442071838750" })).json.timezone).toBe("Europe/London");
    expect((await enroll(key, w.id, { email: "tz5@x.co" })).json.timezone).toBe("Europe/Paris");
  });

  it("starts at scheduledAt", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [log("x")]);
    const at = new Date(Date.now() + 3_600_000).toISOString();
    const e = await enroll(key, w.id, undefined, { scheduledAt: at });
    expect(e.json).toMatchObject({ status: "waiting", scheduledAt: at, nextRunAt: at });
    const past = await enroll(key, w.id, undefined, { scheduledAt: "2020-01-01T00:00:00Z" });
    expect((await settle(key, past.json.id)).status).toBe("completed");
  });

  it("keeps running enrollments on their version when the workflow is edited", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [delay(3600, "d"), log("v1", "l")]);
    const e = await enroll(key, w.id);
    await settle(key, e.json.id);
    const edited = await call("PATCH", `/v1/workflows/${w.id}`, {
      key,
      body: {
        steps: [
          { id: "d", type: "delay", config: { amount: 1, unit: "hours" } },
          { id: "l", type: "log", config: { message: "v2" } },
        ],
      },
    });
    expect(edited.json.version).toBe(2);
    await expireWait(e.json.id);
    const done = await enrollment(key, e.json.id);
    expect(done.workflowVersion).toBe(1);
    expect(done.timeline.find((l: { stepId: string; status: string }) => l.stepId === "l" && l.status === "completed").message).toBe("v1");
    expect((await enroll(key, w.id)).json.workflowVersion).toBe(2);
  });

  it("ends failed with the error when the alarm keeps throwing", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [delay(3600), mail("x")]);
    const e = await enroll(key, w.id);
    await settle(key, e.json.id);
    await runInDurableObject(stubOf(e.json.id), async (instance: EnrollmentDO, state) => {
      const broken = { send: async () => Promise.reject(new Error("queue down")), sendBatch: async () => Promise.reject(new Error("queue down")) };
      (instance as unknown as { env: Record<string, unknown> }).env = { ...env, EMAIL_QUEUE: broken };
      const s = state.storage.kv.get<{ wait: { until: number } }>("state");
      if (s) {
        s.wait.until = Date.now() - 1;
        state.storage.kv.put("state", s);
      }
      await expect(instance.alarm({ retryCount: 0, isRetry: false, scheduledTime: Date.now() })).rejects.toThrow("queue down");
      await expect(instance.alarm({ retryCount: 5, isRetry: true, scheduledTime: Date.now() })).resolves.toBeUndefined();
    });
    const failed = await enrollment(key, e.json.id);
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatch(/Alarm failed after 6 attempts: queue down/);
  });

  it("the watchdog re-arms an enrollment whose alarm was lost", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [delay(1, "d"), log("after", "after")]);
    const e = await enroll(key, w.id);
    await settle(key, e.json.id);
    await runInDurableObject(stubOf(e.json.id), async (_i: EnrollmentDO, state) => {
      await state.storage.deleteAlarm();
    });
    await env.DB.prepare("UPDATE enrollments SET next_run_at = ? WHERE id = ?")
      .bind(Date.now() - 120_000, e.json.id)
      .run();
    expect(await fireAlarm(e.json.id)).toBe(false); // nothing would ever wake it
    const report = await runWatchdog(env);
    expect(report.outcomes.rearmed).toBeGreaterThanOrEqual(1);
    expect(await expireWait(e.json.id)).toBe(true);
    expect((await enrollment(key, e.json.id)).status).toBe("completed");
  });

  it("deleting a contact cancels its enrollments", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [delay(3600)]);
    const e = await enroll(key, w.id, { email: "del@x.co" });
    await settle(key, e.json.id);
    expect((await call("DELETE", `/v1/contacts/${e.json.contactId}`, { key })).status).toBe(204);
    expect(await enrollment(key, e.json.id)).toMatchObject({ status: "cancelled", exitReason: "contact_deleted" });
  });

  it("DELETE removes an enrollment", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [delay(3600)]);
    const e = await enroll(key, w.id);
    expect((await call("DELETE", `/v1/enrollments/${e.json.id}`, { key })).status).toBe(204);
    expectError(await call("GET", `/v1/enrollments/${e.json.id}`, { key }), 404, "not_found");
    expect(await fireAlarm(e.json.id)).toBe(false);
  });
});

describe("bulk, funnel, cancel-all and imports", () => {
  it("enrolls in bulk with per-contact results", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [delay(3600)]);
    const existing = (await call("POST", "/v1/contacts", { key, body: { email: "dup@x.co" } })).json;
    await enroll(key, w.id, { email: "dup@x.co" });
    const res = await call("POST", "/v1/enrollments/bulk", {
      key,
      body: { enrollment: { workflowId: w.id, contacts: [{ email: "ok1@x.co" }, { email: "bad" }, { email: "dup@x.co" }, 42, { email: "ok2@x.co" }] } },
    });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ createdCount: 2, skippedCount: 3 });
    expect(res.json.results.map((r: { status: string }) => r.status)).toEqual(["enrolled", "invalid", "skipped", "invalid", "enrolled"]);
    expect(res.json.results[2]).toMatchObject({ contactId: existing.id, reason: "already_enrolled" });
    const ids = await call("POST", "/v1/enrollments/bulk", { key, body: { workflowId: w.id, contactIds: [existing.id, "con_missing"] } });
    expectError(ids, 422, "no_enrollments_created");
    expect(ids.json.results).toHaveLength(2);
  });

  it.each([
    [{}, "contacts_required"],
    [{ contacts: [] }, "contacts_empty"],
    [{ contacts: Array.from({ length: 101 }, (_, i) => ({ email: `x${i}@x.co` })) }, "too_many_contacts"],
  ])("answers %j with 422 %s", async (body, code) => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [log("x")]);
    expectError(await call("POST", "/v1/enrollments/bulk", { key, body: { workflowId: w.id, ...body } }), 422, code);
  });

  it("counts the funnel by true positions and cancels all", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [delay(3600, "d1"), delay(3600, "d2")]);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await enroll(key, w.id)).json.id);
    for (const id of ids) await settle(key, id);
    await expireWait(ids[0]);
    const res = await call("GET", `/v1/workflows/${w.id}/enrollments`, { key });
    expect(res.json.data).toHaveLength(4);
    const steps = Object.fromEntries(res.json.stepFunnel.steps.map((s: { stepId: string }) => [s.stepId, s]));
    expect(steps.d1).toMatchObject({ active: 3, waiting: 3, running: 0 });
    expect(steps.d2).toMatchObject({ active: 1, waiting: 1, running: 0 });
    expect(res.json.stepFunnel.totals).toEqual({ active: 4, completed: 0, failed: 0, cancelled: 0, total: 4 });
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

  it("imports 2,000 contacts into a workflow with exact counts", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [delay(3600)]);
    await enroll(key, w.id, { email: "imp5@x.co" });
    const contacts: unknown[] = Array.from({ length: 2000 }, (_, i) => ({ email: `imp${i}@x.co`, data: { n: i } }));
    contacts[10] = { email: "broken" };
    contacts[20] = { phone: "+14155552671" };
    const res = await call("POST", "/v1/imports", { key, body: { workflowId: w.id, contacts } });
    expect(res.status).toBe(202);
    const done = await poll(
      async () => (await call("GET", `/v1/imports/${res.json.id}`, { key })).json,
      (i) => i.status === "completed",
      60_000,
    );
    expect(done).toMatchObject({ total: 2000, processed: 2000, created: 1997, skipped: 1, failed: 2 });
    expect(done.errors.map((e: { row: number }) => e.row).sort((a: number, b: number) => a - b)).toEqual([10, 20]);
  }, 90_000);

  it("imports CSV", { timeout: 90_000 }, async () => {
    const { key } = await newOrg();
    const csv = 'email,first_name,plan\nada@x.co,Ada,pro\n"grace@x.co","Grace ""G""",team\nbad,,\n';
    const res = await call("POST", "/v1/imports", { key, raw: csv, headers: { "content-type": "text/csv" } });
    expect(res.status).toBe(202);
    const done = await poll(
      async () => (await call("GET", `/v1/imports/${res.json.id}`, { key })).json,
      (i) => i.status === "completed",
      60_000,
    );
    expect(done).toMatchObject({ total: 3, created: 2, failed: 1 });
    const grace = (await call("GET", "/v1/contacts?email=grace@x.co", { key })).json.data[0];
    expect(grace).toMatchObject({ firstName: 'Grace "G"', data: { plan: "team" } });
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
  });
});

describe("nothing is lost when a queue loses a job", () => {
  it("the enrollment re-sends an unconfirmed effect, and the watchdog re-queues an overdue email", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [{ id: "m", type: "send_email", config: { subject: "Lost once", html: "<p>x</p>" } }]);
    // Drop the first email job on the floor, as a crashed local queue would.
    const e = await runInDurableObjectWithBrokenEmailQueue(key, w.id);
    expect((await enrollment(key, e)).status).toBe("completed");
    expect(await outboxFor(key, "lost@x.co")).toEqual([]);
    // Past the redelivery window the object's alarm sends it again; the consumer confirms it.
    await runInDurableObject(stubOf(e), async (_i: EnrollmentDO, state) => {
      state.storage.sql.exec("UPDATE pending_effects SET dispatched_at = dispatched_at - 3600000");
    });
    expect(await fireAlarm(e)).toBe(true);
    await poll(
      () => outboxFor(key, "lost@x.co"),
      (o) => o.length === 1,
    );
    await poll(
      () =>
        runInDurableObject(stubOf(e), async (_i: EnrollmentDO, state) =>
          state.storage.sql
            .exec<{ key: string }>("SELECT key FROM pending_effects")
            .toArray()
            .map((r) => r.key),
        ),
      (keys) => !keys.includes(`${e}:m:1`),
    );
    // A message row whose job vanished mid-retry is re-queued by the watchdog from the stored job.
    await env.DB.prepare("UPDATE messages SET status = 'queued', sending_at = NULL, next_attempt_at = ? WHERE enrollment_id = ?")
      .bind(Date.now() - 120_000, e)
      .run();
    await env.DB.prepare("DELETE FROM outbox WHERE to_address = 'lost@x.co'").run();
    const report = await runWatchdog(env);
    expect(report.requeued.messages).toBeGreaterThanOrEqual(1);
    await poll(
      () => outboxFor(key, "lost@x.co"),
      (o) => o.length === 1,
    );
  });
});

/** Enrolls lost@x.co while the object's EMAIL_QUEUE silently drops messages; returns the enrollment id. */
async function runInDurableObjectWithBrokenEmailQueue(key: string, workflowId: string) {
  const e = (await call("POST", "/v1/enrollments", { key, body: { workflowId, contact: { email: "lost@x.co" } } })).json;
  await runInDurableObject(stubOf(e.id), async (instance: EnrollmentDO) => {
    const dropping = { send: async () => undefined, sendBatch: async () => undefined };
    const holder = instance as unknown as { env: Record<string, unknown> };
    const real = holder.env;
    holder.env = { ...real, EMAIL_QUEUE: dropping };
    await instance.alarm({ retryCount: 0, isRetry: false, scheduledTime: Date.now() });
    holder.env = real;
  });
  return e.id as string;
}

describe("reservations whose start never landed", () => {
  async function orphan(key: string) {
    const w = await activeWorkflow(key, [log("ran", "l")]);
    const c = (await call("POST", "/v1/contacts", { key, body: { email: `orphan${Math.random()}@x.co` } })).json;
    const id = `enr_01ORPHAN${Math.random().toString(36).slice(2, 12).toUpperCase().padEnd(18, "0")}`.slice(0, 30);
    const org = await env.DB.prepare("SELECT org_id FROM workflows WHERE id = ?").bind(w.id).first<{ org_id: string }>();
    const old = Date.now() - 120_000;
    await env.DB.prepare(
      "INSERT INTO enrollments (id, org_id, workflow_id, workflow_version, contact_id, status, next_run_at, variables, timezone, bypass_send_window, seq, created_at, updated_at) VALUES (?, ?, ?, 1, ?, 'running', ?, '{}', 'UTC', 0, 0, ?, ?)",
    )
      .bind(id, org?.org_id, w.id, c.id, old, old, old)
      .run();
    return id;
  }

  it("the watchdog starts them from what the row holds", async () => {
    const { key } = await newOrg();
    const id = await orphan(key);
    const report = await runWatchdog(env);
    expect(report.outcomes.started).toBeGreaterThanOrEqual(1);
    expect((await settle(key, id)).status).toBe("completed");
  });

  it("cancelling one ends it in D1, and the watchdog never revives it", async () => {
    const { key } = await newOrg();
    const id = await orphan(key);
    expect((await call("POST", `/v1/enrollments/${id}/cancel`, { key })).json).toMatchObject({ status: "cancelled", exitReason: "cancelled_by_api" });
    await runWatchdog(env);
    expect((await enrollment(key, id)).status).toBe("cancelled");
  });
});
