import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { chooseVariant } from "../../src/engine/split";
import type { EnrollmentDO } from "../../src/enrollments/object/enrollment";
import type { EmailJob } from "../../src/ground/queues";
import { runWatchdog } from "../../src/watchdog";
import {
  ADMIN_TOKEN,
  activeWorkflow,
  call,
  expectError,
  newOrg,
  poll,
  testLog,
} from "../helpers/api";
import { drained, enrollment, expireWait, fireAlarm, settle, stubOf } from "../helpers/enrollments";
import { captureQueue, consume } from "../helpers/queues";

const log = (message: string, id?: string) => ({
  ...(id ? { id } : {}),
  type: "log",
  config: { message },
});
const mail = (subject: string, id?: string) => ({
  ...(id ? { id } : {}),
  type: "send_email",
  config: { subject, html: `<p>${subject} <a href="https://example.com/x">link</a></p>` },
});
const delay = (seconds: number, id?: string) => ({
  ...(id ? { id } : {}),
  type: "delay",
  config: { amount: seconds, unit: "seconds" },
});

async function enroll(
  key: string,
  workflowId: string,
  contact: Record<string, unknown> = { email: `c${Math.random()}@x.co` },
  extra: Record<string, unknown> = {},
) {
  return call("POST", "/v1/enrollments", { key, body: { workflowId, contact, ...extra } });
}

/**
 * The split's specification, written here independently of src/engine/split.ts: FNV-1a over
 * `enrollmentId:stepId`, finished with murmur3's avalanche, as a fraction of the total weight;
 * the variant whose cumulative weight first exceeds it.
 */
function expectedVariant(
  enrollmentId: string,
  stepId: string,
  variants: { key: string; weight: number }[],
) {
  let h = 0x811c9dc5;
  for (const ch of `${enrollmentId}:${stepId}`) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  const point = ((h >>> 0) / 2 ** 32) * variants.reduce((n, v) => n + v.weight, 0);
  let acc = 0;
  for (const v of variants) {
    acc += v.weight;
    if (point < acc) {
      return v.key;
    }
  }
  return variants[variants.length - 1].key;
}

const outboxFor = async (key: string, to: string) =>
  (await call("GET", `/v1/outbox?to=${encodeURIComponent(to)}`, { key })).json.data as {
    subject: string;
  }[];

describe("an enrollment's life", () => {
  it("runs a linear journey end to end: email, delay, email into the outbox", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [
      mail("First", "m1"),
      delay(3600, "wait"),
      mail("Second", "m2"),
    ]);
    const res = await enroll(
      key,
      w.id,
      { email: "linear@x.co", firstName: "Lin" },
      { variables: { hook: "h" } },
    );
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({
      workflowId: w.id,
      workflowVersion: 1,
      status: "running",
      variables: { hook: "h" },
      timezone: "UTC",
    });
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
    expect(
      detail.timeline.map((l: { stepId: string; status: string }) => `${l.stepId}:${l.status}`),
    ).toEqual([
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
      (e) =>
        e.messages.length === 2 && e.messages.every((m: { status: string }) => m.status === "sent"),
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
      [
        {
          id: "c",
          type: "condition",
          config: { field: "contact.data.plan", operator: "equals", value: "pro" },
        },
        log("pro", "pro"),
        log("free", "free"),
      ],
      {
        transitions: [
          { from: "c", to: "pro", on: "true" },
          { from: "c", to: "free", on: "false" },
        ],
      },
    );
    const pro = await settle(
      key,
      (await enroll(key, w.id, { email: "pro@x.co", data: { plan: "pro" } })).json.id,
    );
    const free = await settle(
      key,
      (await enroll(key, w.id, { email: "free@x.co", data: { plan: "free" } })).json.id,
    );
    expect(pro.currentStepId).toBe("pro");
    expect(free.currentStepId).toBe("free");
  });

  it("resumes a wait_for_event when the event arrives", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(
      key,
      [
        { id: "w", type: "wait_for_event", config: { eventName: "replied", timeout: 86400 } },
        log("got it", "yes"),
        log("no", "no"),
      ],
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
    const ev = await call("POST", "/v1/events?wait=true", {
      key,
      body: { name: "replied", email: "wait@x.co" },
    });
    expect(ev.json.resumed).toEqual([e.json.id]);
    const done = await enrollment(key, e.json.id);
    expect(done).toMatchObject({ status: "completed", currentStepId: "yes" });
  });

  it("takes the timeout branch when no event comes", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(
      key,
      [
        { id: "w", type: "wait_for_event", config: { eventName: "replied", timeout: 60 } },
        log("yes", "yes"),
        log("no", "no"),
      ],
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
    const early = await call("POST", "/v1/events?wait=true", {
      key,
      body: { name: "replied", email: "early@x.co" },
    });
    expect(early.json.resumed).toEqual([]);
    await expireWait(e.json.id); // the delay ends; now it waits
    expect((await enrollment(key, e.json.id)).currentStepId).toBe("w");
    const late = await call("POST", "/v1/events?wait=true", {
      key,
      body: { name: "replied", email: "early@x.co" },
    });
    expect(late.json.resumed).toEqual([e.json.id]);
  });

  it("ends the enrollment on an exitOn event", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [delay(3600), log("never")], { exitOn: ["replied"] });
    const e = await enroll(key, w.id, { email: "exit@x.co" });
    await settle(key, e.json.id);
    const ev = await call("POST", "/v1/events?wait=true", {
      key,
      body: { name: "replied", email: "exit@x.co" },
    });
    expect(ev.json.exited).toEqual([e.json.id]);
    expect(await enrollment(key, e.json.id)).toMatchObject({
      status: "completed",
      exitReason: "exit_on:replied",
    });
  });

  it("starts workflows triggered by an event", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [log("hi {{ event.plan }}")], {
      trigger: { type: "event", event: "signed_up" },
    });
    const ev = await call("POST", "/v1/events?wait=true", {
      key,
      body: { name: "signed_up", email: "trig@x.co", data: { plan: "pro" } },
    });
    expect(ev.json.enrolled).toHaveLength(1);
    const done = await settle(key, ev.json.enrolled[0]);
    expect(done.workflowId).toBe(w.id);
    expect(
      done.timeline.find(
        (l: { status: string; stepType: string }) =>
          l.stepType === "log" && l.status === "completed",
      ).message,
    ).toBe("hi pro");
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
    const variants = [
      { key: "a", weight: 1 },
      { key: "b", weight: 1 },
    ];
    for (let i = 0; i < 12; i++) {
      const e = (await enroll(key, w.id)).json;
      const chosen = expectedVariant(e.id, "s", variants);
      expect(chooseVariant(e.id, "s", variants)).toBe(chosen); // the engine's choice is the specified one
      expect(chooseVariant(e.id, "s", variants)).toBe(chosen); // and the same every time
      const done = await settle(key, e.id);
      expect(done.currentStepId).toBe(chosen === "a" ? "A" : "B");
      expect(
        done.timeline.find(
          (l: { stepId: string; status: string }) => l.stepId === "s" && l.status === "completed",
        ).outcome,
      ).toBe(chosen);
    }
  });

  it("holds enrollments of a paused workflow at their next step, then resumes", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [delay(3600, "d"), log("after", "after")]);
    const e = await enroll(key, w.id);
    await settle(key, e.json.id);
    await call("PATCH", `/v1/workflows/${w.id}`, { key, body: { status: "paused" } });
    await expireWait(e.json.id);
    expect(await enrollment(key, e.json.id)).toMatchObject({
      status: "waiting",
      currentStepId: "d",
    });
    await call("PATCH", `/v1/workflows/${w.id}`, { key, body: { status: "active" } });
    await fireAlarm(e.json.id);
    expect(await enrollment(key, e.json.id)).toMatchObject({
      status: "completed",
      currentStepId: "after",
    });
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
    await drained(e.json.id); // every job it handed to a queue has been taken up
    expect(
      (await call("GET", `/v1/messages?enrollmentId=${e.json.id}`, { key })).json.data,
    ).toEqual([]);
    expect(await outboxFor(key, "cancel@x.co")).toEqual([]);
    const after = await enrollment(key, e.json.id);
    expect(after.status).toBe("cancelled");
    expect(after.timeline.filter((l: { stepType: string }) => l.stepType === "send_email")).toEqual(
      [],
    );
  });

  it("refuses a second active enrollment and re-entry unless allowed", async () => {
    const { key } = await newOrg();
    const once = await activeWorkflow(key, [delay(3600)]);
    const again = await activeWorkflow(key, [log("x")], { allowReentry: true });
    const contact = { email: "re@x.co" };
    const first = await enroll(key, once.id, contact);
    expectError(await enroll(key, once.id, contact), 409, "already_enrolled");
    await call("POST", `/v1/enrollments/${first.json.id}/cancel`, { key });
    expectError(await enroll(key, once.id, contact), 409, "reentry_not_allowed");
    const a = await enroll(key, again.id, contact);
    await settle(key, a.json.id);
    expect((await enroll(key, again.id, contact)).status).toBe(201);
  });

  it("re-enrolling right after GET says completed follows the live state, not a lagging D1 row", async () => {
    const { key } = await newOrg();
    const once = await activeWorkflow(key, [mail("Only")]);
    const again = await activeWorkflow(key, [mail("Only")], { allowReentry: true });
    const contact = { email: `live${Math.random()}@x.co` };
    // The email jobs are held back: their effects stay unconfirmed, so the objects have not yet
    // written their end to D1 (the mirror waits for the confirmation) while GET reads it live.
    const held = captureQueue("MESSAGE_QUEUE");
    try {
      for (const w of [once, again]) {
        const first = await enroll(key, w.id, contact);
        expect(first.status).toBe(201);
        await poll(
          () => enrollment(key, first.json.id),
          (e) => e.status === "completed",
        );
      }
      // At once, with no waiting for the confirmations: completed means finished for re-entry.
      expectError(await enroll(key, once.id, contact), 409, "reentry_not_allowed");
      const rerun = await enroll(key, again.id, contact);
      expect(rerun.status).toBe(201);
      expect(held.captured.length).toBeGreaterThanOrEqual(2);
    } finally {
      held.restore();
    }
  });

  it("creates exactly one enrollment for 20 concurrent creates of one contact", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [delay(3600)]);
    const c = (await call("POST", "/v1/contacts", { key, body: { email: "race@x.co" } })).json;
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        call("POST", "/v1/enrollments", { key, body: { workflowId: w.id, contactId: c.id } }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 201)) {
      expectError(r, 409, "already_enrolled");
    }
    const list = await call("GET", `/v1/enrollments?workflowId=${w.id}`, { key });
    expect(list.json.data).toHaveLength(1);
  });

  it("refuses workflows that are not active", async () => {
    const { key } = await newOrg();
    const draft = (
      await call("POST", "/v1/workflows", { key, body: { name: "D", steps: [log("x")] } })
    ).json;
    expectError(await enroll(key, draft.id), 422, "workflow_not_active");
    await call("PATCH", `/v1/workflows/${draft.id}`, { key, body: { status: "archived" } });
    expectError(await enroll(key, draft.id), 422, "workflow_archived");
    expectError(await enroll(key, "wf_nope"), 404, "not_found");
  });

  it("resolves the time zone: given, contact, phone, workflow, UTC", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [delay(3600)], { timezone: "Europe/Paris" });
    expect(
      (await enroll(key, w.id, { email: "tz1@x.co" }, { timezone: "Asia/Tokyo" })).json.timezone,
    ).toBe("Asia/Tokyo");
    expect(
      (await enroll(key, w.id, { email: "tz2@x.co", timezone: "America/Chicago" })).json.timezone,
    ).toBe("America/Chicago");
    expect(
      (await enroll(key, w.id, { email: "tz3@x.co", phone: "+14155552671" })).json.timezone,
    ).toBe("America/Los_Angeles");
    expect(
      (await enroll(key, w.id, { email: "tz4@x.co", phone: "+442071838750" })).json.timezone,
    ).toBe("Europe/London");
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
    expect(
      done.timeline.find(
        (l: { stepId: string; status: string }) => l.stepId === "l" && l.status === "completed",
      ).message,
    ).toBe("v1");
    expect((await enroll(key, w.id)).json.workflowVersion).toBe(2);
  });

  it("ends failed with the error when the alarm keeps throwing", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [delay(3600), mail("x")]);
    const e = await enroll(key, w.id);
    await settle(key, e.json.id);
    await runInDurableObject(stubOf(e.json.id), async (instance: EnrollmentDO, state) => {
      const broken = {
        send: async () => Promise.reject(new Error("queue down")),
        sendBatch: async () => Promise.reject(new Error("queue down")),
      };
      (instance as unknown as { env: Record<string, unknown> }).env = {
        ...env,
        MESSAGE_QUEUE: broken,
      };
      const s = state.storage.kv.get<{ wait: { until: number } }>("state");
      if (s) {
        s.wait.until = Date.now() - 1;
        state.storage.kv.put("state", s);
      }
      await expect(
        instance.alarm({ retryCount: 0, isRetry: false, scheduledTime: Date.now() }),
      ).rejects.toThrow("queue down");
      await expect(
        instance.alarm({ retryCount: 5, isRetry: true, scheduledTime: Date.now() }),
      ).resolves.toBeUndefined();
    });
    const failed = await enrollment(key, e.json.id);
    expect(failed.status).toBe("failed");
    expect(failed.error).toEqual({
      code: "alarm_failed",
      message: expect.stringMatching(/^Alarm failed after 6 attempts: queue down$/),
    });
  });

  it("the watchdog re-arms an enrollment whose alarm was lost", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [delay(10, "d"), log("after", "after")]);
    const e = await enroll(key, w.id);
    await settle(key, e.json.id);
    await runInDurableObject(stubOf(e.json.id), async (_i: EnrollmentDO, state) => {
      await state.storage.deleteAlarm();
    });
    await env.DB.prepare("UPDATE enrollments SET next_run_at = ? WHERE id = ?")
      .bind(Date.now() - 120_000, e.json.id)
      .run();
    expect(await fireAlarm(e.json.id)).toBe(false); // nothing would ever wake it
    const report = await runWatchdog(env, testLog);
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
    expect(await enrollment(key, e.json.id)).toMatchObject({
      status: "cancelled",
      exitReason: "contact_deleted",
    });
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

  it("imports 2,000 contacts into a workflow with exact counts", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [delay(3600)]);
    await enroll(key, w.id, { email: "imp5@x.co" });
    const contacts: unknown[] = Array.from({ length: 2000 }, (_, i) => ({
      email: `imp${i}@x.co`,
      data: { n: i },
    }));
    contacts[10] = { email: "broken" };
    contacts[20] = { firstName: "No email, externalId or phone" };
    const res = await call("POST", "/v1/imports", { key, body: { workflowId: w.id, contacts } });
    expect(res.status).toBe(202);
    const done = await poll(
      async () => (await call("GET", `/v1/imports/${res.json.id}`, { key })).json,
      (i) => i.status === "completed",
      60_000,
    );
    expect(done).toMatchObject({
      total: 2000,
      processed: 2000,
      created: 1997,
      skipped: 1,
      failed: 2,
    });
    expect(
      done.errors.map((e: { row: number }) => e.row).sort((a: number, b: number) => a - b),
    ).toEqual([10, 20]);
  }, 90_000);

  it("imports CSV", { timeout: 90_000 }, async () => {
    const { key } = await newOrg();
    const csv = 'email,first_name,plan\nada@x.co,Ada,pro\n"grace@x.co","Grace ""G""",team\nbad,,\n';
    const res = await call("POST", "/v1/imports", {
      key,
      raw: csv,
      headers: { "content-type": "text/csv" },
    });
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

  it("imports an Excel file with semicolons, and reports every rejected row with its line and reason", {
    timeout: 90_000,
  }, async () => {
    const { key } = await newOrg();
    const csv =
      "sep=;\r\nemail;first_name;Stadt\r\nhans@x.de;Hans;Köln, Altstadt\r\n\r\nnot-an-email;X;Y\r\nada@x.co;Ada;Paris;extra\r\ngrace@x.co;Grace;Rom\r\n";
    const res = await call("POST", "/v1/imports", {
      key,
      raw: csv,
      headers: { "content-type": "text/csv; charset=utf-8" },
    });
    expect(res.status).toBe(202);
    const done = await poll(
      async () => (await call("GET", `/v1/imports/${res.json.id}`, { key })).json,
      (i) => i.status === "completed",
      60_000,
    );
    expect(done).toMatchObject({ total: 4, processed: 4, created: 2, failed: 2 });
    expect(done.errors).toEqual([
      { row: 2, line: 6, message: "Line 6 has 4 fields but the header has 3" },
      { row: 1, line: 5, message: expect.stringMatching(/^email: /) },
    ]);
    const hans = (await call("GET", "/v1/contacts?email=hans@x.de", { key })).json.data[0];
    expect(hans).toMatchObject({ firstName: "Hans", data: { Stadt: "Köln, Altstadt" } });
  });

  it("refuses a CSV file with an unterminated quote, naming the line", async () => {
    const { key } = await newOrg();
    const res = await call("POST", "/v1/imports", {
      key,
      raw: 'email,plan\na@x.co,pro\nb@x.co,"pro\nc@x.co,team\n',
      headers: { "content-type": "text/csv" },
    });
    expectError(res, 422, "validation_failed");
    expect(res.json.message).toMatch(/line 3/);
    expect(res.json.details).toEqual([{ path: "line 3", message: res.json.message }]);
  });

  it("reports rows past the contacts quota as rejected instead of stalling the import", {
    timeout: 90_000,
  }, async () => {
    const { key, orgId } = await newOrg();
    await call("PATCH", `/v1/admin/orgs/${orgId}/quotas`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      body: { contacts: 2 },
    });
    const res = await call("POST", "/v1/imports", {
      key,
      body: { contacts: [{ email: "a@x.co" }, { email: "b@x.co" }, { email: "c@x.co" }] },
    });
    const done = await poll(
      async () => (await call("GET", `/v1/imports/${res.json.id}`, { key })).json,
      (i) => i.status === "completed",
      60_000,
    );
    expect(done).toMatchObject({ total: 3, created: 2, failed: 1 });
    expect(done.errors).toEqual([
      { row: 2, message: "quota_exceeded: the org's contacts quota is reached" },
    ]);
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

describe("nothing is lost when a queue loses a job", () => {
  it("the enrollment re-sends an unconfirmed effect, and the watchdog re-queues an overdue email", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [
      { id: "m", type: "send_email", config: { subject: "Lost once", html: "<p>x</p>" } },
    ]);
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
    await env.DB.prepare(
      "UPDATE messages SET status = 'queued', sending_at = NULL, next_attempt_at = ? WHERE enrollment_id = ?",
    )
      .bind(Date.now() - 120_000, e)
      .run();
    await env.DB.prepare("DELETE FROM outbox WHERE to_address = 'lost@x.co'").run();
    const report = await runWatchdog(env, testLog);
    expect(report.requeued.messages).toBeGreaterThanOrEqual(1);
    await poll(
      () => outboxFor(key, "lost@x.co"),
      (o) => o.length === 1,
    );
  });
  it("the watchdog re-queues more overdue emails than one statement can bind (D1: 100 parameters)", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [
      { id: "m", type: "send_email", config: { subject: "Many", html: "<p>x</p>" } },
    ]);
    const e = (
      await call("POST", "/v1/enrollments", {
        key,
        body: { workflowId: w.id, contact: { email: "many@x.co" } },
      })
    ).json.id as string;
    await poll(
      () => outboxFor(key, "many@x.co"),
      (o) => o.length === 1,
    );
    const source = await env.DB.prepare("SELECT id FROM messages WHERE enrollment_id = ?")
      .bind(e)
      .first<{ id: string }>();
    expect(source).not.toBeNull();
    // 150 lost jobs of queued messages (copies of this one under other ids and effect keys).
    const columns = (
      await env.DB.prepare("PRAGMA table_info(messages)").all<{ name: string }>()
    ).results
      .map((c) => c.name)
      .filter((c) => c !== "id" && c !== "effect_key");
    const copies = Array.from({ length: 150 }, (_, i) =>
      env.DB.prepare(
        `INSERT INTO messages (id, effect_key, ${columns.join(", ")}) SELECT ?, ?, ${columns.join(", ")} FROM messages WHERE id = ?`,
      ).bind(`msg_many${String(i).padStart(22, "0")}`, `${e}:many:${i}`, source?.id),
    );
    await env.DB.batch(copies);
    await env.DB.prepare(
      "UPDATE messages SET status = 'queued', sending_at = NULL, next_attempt_at = ? WHERE enrollment_id = ?",
    )
      .bind(Date.now() - 120_000, e)
      .run();
    const queued = vi.spyOn(env.MESSAGE_QUEUE, "sendBatch").mockResolvedValue(undefined as never);
    try {
      const ours = () =>
        queued.mock.calls
          .flatMap(([jobs]) => [...jobs])
          .filter((j) => (j.body as EmailJob).enrollmentId === e);
      const report = await runWatchdog(env, testLog);
      expect(report.requeued.messages).toBeGreaterThanOrEqual(151);
      expect(ours()).toHaveLength(151);
      // Pushed forward: the next tick leaves them to the jobs just queued.
      await runWatchdog(env, testLog);
      expect(ours()).toHaveLength(151);
    } finally {
      queued.mockRestore();
    }
  });
});

/** Enrolls lost@x.co while the object's MESSAGE_QUEUE silently drops messages; returns the enrollment id. */
async function runInDurableObjectWithBrokenEmailQueue(key: string, workflowId: string) {
  const e = (
    await call("POST", "/v1/enrollments", {
      key,
      body: { workflowId, contact: { email: "lost@x.co" } },
    })
  ).json;
  await runInDurableObject(stubOf(e.id), async (instance: EnrollmentDO) => {
    const dropping = { send: async () => undefined, sendBatch: async () => undefined };
    const holder = instance as unknown as { env: Record<string, unknown> };
    const real = holder.env;
    holder.env = { ...real, MESSAGE_QUEUE: dropping };
    await instance.alarm({ retryCount: 0, isRetry: false, scheduledTime: Date.now() });
    holder.env = real;
  });
  return e.id as string;
}

describe("reservations whose start never landed", () => {
  async function orphan(key: string) {
    const w = await activeWorkflow(key, [log("ran", "l")]);
    const c = (
      await call("POST", "/v1/contacts", { key, body: { email: `orphan${Math.random()}@x.co` } })
    ).json;
    const id =
      `enr_01ORPHAN${Math.random().toString(36).slice(2, 12).toUpperCase().padEnd(18, "0")}`.slice(
        0,
        30,
      );
    const org = await env.DB.prepare("SELECT org_id FROM workflows WHERE id = ?")
      .bind(w.id)
      .first<{ org_id: string }>();
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
    const report = await runWatchdog(env, testLog);
    expect(report.outcomes.started).toBeGreaterThanOrEqual(1);
    expect((await settle(key, id)).status).toBe("completed");
  });

  it("cancelling one ends it in D1, and the watchdog never revives it", async () => {
    const { key } = await newOrg();
    const id = await orphan(key);
    expect((await call("POST", `/v1/enrollments/${id}/cancel`, { key })).json).toMatchObject({
      status: "cancelled",
      exitReason: "cancelled_by_api",
    });
    await runWatchdog(env, testLog);
    // A revival would have started the object and armed its alarm: nothing may run.
    expect(await fireAlarm(id)).toBe(false);
    expect(
      await runInDurableObject(stubOf(id), async (i: EnrollmentDO) => i.snapshot()),
    ).toBeNull();
    expect((await enrollment(key, id)).status).toBe("cancelled");
  });
});

describe("what the README promises about enrollments", () => {
  it("update_contact merges templated values into the stored contact", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [
      {
        id: "u",
        type: "update_contact",
        config: { data: { stage: "{{ vars.stage }}", plan: "pro" } },
      },
    ]);
    const e = await enroll(
      key,
      w.id,
      { email: "upd@x.co", data: { plan: "free", keep: 1 } },
      { variables: { stage: "warm" } },
    );
    expect((await settle(key, e.json.id)).status).toBe("completed");
    const c = await poll(
      async () => (await call("GET", `/v1/contacts/${e.json.contactId}`, { key })).json,
      (c) => c.data.stage === "warm",
    );
    expect(c.data).toEqual({ plan: "pro", keep: 1, stage: "warm" });
  });

  it("waits for the send window when enrolled outside it, unless bypassSendWindow", async () => {
    const { key } = await newOrg();
    const now = new Date();
    const startHour = (now.getUTCHours() + 2) % 24;
    const hh = (h: number) => `${String(h).padStart(2, "0")}:00`;
    const sendWindow = {
      days: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
      start: hh(startHour),
      end: startHour === 23 ? "23:59" : hh(startHour + 1),
    };
    let opens = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), startHour);
    if (opens <= now.getTime()) {
      opens += 86_400_000;
    }
    const w = await activeWorkflow(key, [mail("Windowed", "m")], { sendWindow });
    const held = (await enroll(key, w.id, { email: "win@x.co" })).json;
    const waiting = await settle(key, held.id);
    expect(waiting).toMatchObject({
      status: "waiting",
      currentStepId: "m",
      nextRunAt: new Date(opens).toISOString(),
    });
    expect(waiting.timeline.at(-1).message).toMatch(/Outside the send window/);
    await drained(held.id);
    expect((await call("GET", `/v1/messages?enrollmentId=${held.id}`, { key })).json.data).toEqual(
      [],
    );
    const bypass = (await enroll(key, w.id, { email: "bypass@x.co" }, { bypassSendWindow: true }))
      .json;
    expect(bypass.bypassSendWindow).toBe(true);
    expect((await settle(key, bypass.id)).status).toBe("completed");
    await poll(
      () => outboxFor(key, "bypass@x.co"),
      (o) => o.length === 1,
    );
  });

  it("DELETE /v1/workflows/{id}: 409 while enrollments are active, ?force=true cancels them", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [delay(3600)]);
    const e = (await enroll(key, w.id)).json;
    await settle(key, e.id);
    expectError(
      await call("DELETE", `/v1/workflows/${w.id}`, { key }),
      409,
      "workflow_has_active_enrollments",
    );
    expect((await enrollment(key, e.id)).status).toBe("waiting");
    expect((await call("DELETE", `/v1/workflows/${w.id}?force=true`, { key })).status).toBe(204);
    expect(await enrollment(key, e.id)).toMatchObject({
      status: "cancelled",
      exitReason: "workflow_deleted",
    });
    expectError(await call("GET", `/v1/workflows/${w.id}`, { key }), 404, "not_found");
    expectError(await enroll(key, w.id), 404, "not_found");
    const idle = await activeWorkflow(key, [log("x")]);
    expect((await call("DELETE", `/v1/workflows/${idle.id}`, { key })).status).toBe(204);
  });

  it("lists a contact's enrollments, newest first, with cursor paging", async () => {
    const { key } = await newOrg();
    const w1 = await activeWorkflow(key, [delay(3600)]);
    const w2 = await activeWorkflow(key, [delay(3600)]);
    const first = (await enroll(key, w1.id, { email: "many@x.co" })).json;
    const second = (await enroll(key, w2.id, { email: "many@x.co" })).json;
    await enroll(key, w1.id, { email: "other@x.co" });
    const page1 = await call("GET", `/v1/contacts/${first.contactId}/enrollments?limit=1`, { key });
    expect(page1.json.data.map((e: { id: string }) => e.id)).toEqual([second.id]);
    const page2 = await call(
      "GET",
      `/v1/contacts/${first.contactId}/enrollments?limit=1&cursor=${page1.json.nextCursor}`,
      { key },
    );
    expect(page2.json.data.map((e: { id: string }) => e.id)).toEqual([first.id]);
    expect(page2.json.nextCursor).toBeNull();
  });

  it("honours Idempotency-Key on POST /v1/enrollments and /bulk", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [delay(3600)]);
    const body = { workflowId: w.id, contact: { email: "idem@x.co" } };
    const a = await call("POST", "/v1/enrollments", {
      key,
      body,
      headers: { "idempotency-key": "enr-1" },
    });
    const b = await call("POST", "/v1/enrollments", {
      key,
      body,
      headers: { "idempotency-key": "enr-1" },
    });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.json.id).toBe(a.json.id);
    expect(b.headers.get("idempotent-replayed")).toBe("true");
    const bulkBody = { workflowId: w.id, contacts: [{ email: "b1@x.co" }, { email: "b2@x.co" }] };
    const c = await call("POST", "/v1/enrollments/bulk", {
      key,
      body: bulkBody,
      headers: { "idempotency-key": "bulk-1" },
    });
    const d = await call("POST", "/v1/enrollments/bulk", {
      key,
      body: bulkBody,
      headers: { "idempotency-key": "bulk-1" },
    });
    expect(d.json).toEqual(c.json);
    expect(d.headers.get("idempotent-replayed")).toBe("true");
    expectError(
      await call("POST", "/v1/enrollments/bulk", {
        key,
        body: { ...bulkBody, contacts: [{ email: "b3@x.co" }] },
        headers: { "idempotency-key": "bulk-1" },
      }),
      422,
      "idempotency_key_reused",
    );
    expect(
      (await call("GET", `/v1/enrollments?workflowId=${w.id}`, { key })).json.data,
    ).toHaveLength(3);
  });

  it("resumes an enrollment whose wait is not yet mirrored to D1 (an event arriving mid-run)", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(
      key,
      [
        { id: "w", type: "wait_for_event", config: { eventName: "ping", timeout: 3600 } },
        log("got it", "yes"),
      ],
      {
        transitions: [{ from: "w", to: "yes", on: "event" }],
      },
    );
    const e = (await enroll(key, w.id, { email: "midrun@x.co" })).json;
    await settle(key, e.id);
    // The object is waiting; D1 still shows it running, as between persisting the wait and mirroring it.
    await env.DB.prepare(
      "UPDATE enrollments SET status = 'running', waiting_event = NULL WHERE id = ?",
    )
      .bind(e.id)
      .run();
    const ev = await call("POST", "/v1/events?wait=true", {
      key,
      body: { name: "ping", email: "midrun@x.co" },
    });
    expect(ev.json.resumed).toEqual([e.id]);
    expect(await enrollment(key, e.id)).toMatchObject({
      status: "completed",
      currentStepId: "yes",
    });
  });
});

describe("recovery paths", () => {
  it("the watchdog re-queues an import chunk whose queue job was lost", {
    timeout: 60_000,
  }, async () => {
    const { key } = await newOrg();
    const lost = captureQueue<{ kind: string }>("EVENT_QUEUE", (b) => b.kind === "import");
    const res = await call("POST", "/v1/imports", {
      key,
      body: { contacts: [{ email: "lostchunk@x.co" }] },
    });
    lost.restore();
    expect(res.status).toBe(202);
    expect(lost.captured).toHaveLength(1);
    expect((await call("GET", `/v1/imports/${res.json.id}`, { key })).json.status).toBe("queued");
    await env.DB.prepare("UPDATE imports SET updated_at = ? WHERE id = ?")
      .bind(Date.now() - 120_000, res.json.id)
      .run();
    const report = await runWatchdog(env, testLog);
    expect(report.requeued.importChunks).toBeGreaterThanOrEqual(1);
    const done = await poll(
      async () => (await call("GET", `/v1/imports/${res.json.id}`, { key })).json,
      (i) => i.status === "completed",
      30_000,
    );
    expect(done).toMatchObject({ total: 1, processed: 1, created: 1 });
  });

  it("the email dead-letter consumer records the failure and fails the enrollment", async () => {
    const { key } = await newOrg();
    const jobs = captureQueue<EmailJob>("MESSAGE_QUEUE");
    const w = await activeWorkflow(key, [mail("Dead", "m"), delay(3600)]);
    const e = (await enroll(key, w.id, { email: "dlq@x.co" })).json;
    await poll(
      async () => jobs.captured.length,
      (n) => n === 1,
    );
    jobs.restore();
    const r = await consume("nudge-messages-dlq", jobs.captured);
    expect(r.delayOf(0)).toBeNull();
    const [msg] = (await call("GET", `/v1/messages?enrollmentId=${e.id}`, { key })).json.data;
    expect(msg).toMatchObject({
      stepId: "m",
      status: "failed",
      error: "Dead-lettered after exhausting queue retries",
    });
    expect(
      await poll(
        () => enrollment(key, e.id),
        (x) => x.status !== "running" && x.status !== "waiting",
      ),
    ).toMatchObject({
      status: "failed",
      error: { code: "delivery_failed", message: expect.stringContaining("Dead-lettered") },
    });
  });

  it("the event dead-letter consumer acknowledges what it is given", async () => {
    const r = await consume("nudge-event-dlq", [
      { kind: "import", importId: "imp_gone", chunk: 0 },
    ]);
    expect(r.delayOf(0)).toBeNull();
  });
});
