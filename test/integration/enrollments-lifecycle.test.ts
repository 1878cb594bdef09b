// An enrollment from start to end around its steps: pausing and cancelling, re-entry and
// concurrent creates, its time zone and start time, versions, failure, the watchdog, deletion.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { EnrollmentDO } from "../../src/enrollments/object/enrollment";
import { runWatchdog } from "../../src/watchdog";
import { activeWorkflow, call, expectError, newOrg, poll, testLog } from "../helpers/api";
import { DB } from "../helpers/db";
import { drained, enrollment, expireWait, fireAlarm, settle, stubOf } from "../helpers/enrollments";
import { delay, enroll, log, mail, outboxFor } from "../helpers/journeys";
import { captureQueue } from "../helpers/queues";

describe("an enrollment's life", () => {
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
    await DB.prepare("UPDATE enrollments SET next_run_at = ? WHERE id = ?")
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
