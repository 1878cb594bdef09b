// Nothing is lost when infrastructure drops work: lost queue jobs, reservations whose start never
// landed, lost import chunks and the dead-letter consumers.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { database } from "../../src/db/client";
import type { EnrollmentDO } from "../../src/enrollments/object/enrollment";
import type { EmailJob } from "../../src/ground/queues";
import { CLAIM_STALE_MS, claimMessage } from "../../src/messaging/store";
import { runWatchdog } from "../../src/watchdog";
import { activeWorkflow, call, newOrg, poll, testLog } from "../helpers/api";
import { DB } from "../helpers/db";
import { enrollment, fireAlarm, settle, stubOf } from "../helpers/enrollments";
import { delay, enroll, log, mail, outboxFor } from "../helpers/journeys";
import { captureQueue, consume } from "../helpers/queues";

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
    await DB.prepare(
      "UPDATE messages SET status = 'queued', sending_at = NULL, next_attempt_at = ? WHERE enrollment_id = ?",
    )
      .bind(Date.now() - 120_000, e)
      .run();
    await DB.prepare("DELETE FROM outbox WHERE to_address = 'lost@x.co'").run();
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
    const source = await DB.prepare("SELECT id FROM messages WHERE enrollment_id = ?")
      .bind(e)
      .first<{ id: string }>();
    expect(source).not.toBeNull();
    // 150 lost jobs of queued messages (copies of this one under other ids and effect keys).
    const columns = (
      await DB.prepare("PRAGMA table_info(messages)").all<{ name: string }>()
    ).results
      .map((c) => c.name)
      .filter((c) => c !== "id" && c !== "effect_key");
    const copies = Array.from({ length: 150 }, (_, i) =>
      DB.prepare(
        `INSERT INTO messages (id, effect_key, ${columns.join(", ")}) SELECT ?, ?, ${columns.join(", ")} FROM messages WHERE id = ?`,
      ).bind(`msg_many${String(i).padStart(22, "0")}`, `${e}:many:${i}`, source?.id),
    );
    await DB.batch(copies);
    await DB.prepare(
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

describe("a send that died mid-call, when the crash loses the re-queued job too", () => {
  /** A sent email of a new enrollment made to look as a killed consumer left it: claimed, unsent. */
  async function abandonedSend(email: string, claimedAgoMs: number | null) {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [
      { id: "m", type: "send_email", config: { subject: "Cut off", html: "<p>x</p>" } },
    ]);
    const e = (
      await call("POST", "/v1/enrollments", { key, body: { workflowId: w.id, contact: { email } } })
    ).json.id as string;
    await poll(
      () => outboxFor(key, email),
      (o) => o.length === 1,
    );
    const now = Date.now();
    await DB.prepare(
      "UPDATE messages SET status = 'queued', sent_at = NULL, sending_at = ?, next_attempt_at = ? WHERE enrollment_id = ?",
    )
      .bind(claimedAgoMs === null ? null : now - claimedAgoMs, now - 60_000, e)
      .run();
    await DB.prepare("DELETE FROM outbox WHERE to_address = ?").bind(email).run();
    const row = await DB.prepare("SELECT id FROM messages WHERE enrollment_id = ?")
      .bind(e)
      .first<{ id: string }>();
    return { key, e, id: row?.id as string, now };
  }

  /** Runs `fn` while the message queue drops what it is given (a killed local queue); returns the jobs of `e` it dropped. */
  async function dropping(e: string, fn: () => Promise<unknown>) {
    const queued = vi.spyOn(env.MESSAGE_QUEUE, "sendBatch").mockResolvedValue(undefined as never);
    try {
      await fn();
      return queued.mock.calls
        .flatMap(([jobs]) => [...jobs])
        .filter((j) => (j.body as EmailJob).enrollmentId === e).length;
    } finally {
      queued.mockRestore();
    }
  }

  it("is queued again one grace later, not five minutes later, and sent once", async () => {
    const { key, e, now } = await abandonedSend("cut@x.co", 60_000);
    const requeued = await dropping(e, async () => {
      await runWatchdog(env, testLog, now);
      // Not on every tick: its re-queued job gets the grace to be taken up.
      await runWatchdog(env, testLog, now + 5_000);
      // That job was lost with the queue: the next tick past the grace queues it again.
      await runWatchdog(env, testLog, now + 21_000);
    });
    expect(requeued).toBe(2);
    // Its queue works again: the next re-queue is taken up and sent, once.
    await runWatchdog(env, testLog, now + 42_000);
    await poll(
      () =>
        DB.prepare("SELECT status FROM messages WHERE enrollment_id = ?")
          .bind(e)
          .first<{ status: string }>(),
      (m) => m?.status === "sent",
    );
    expect(await outboxFor(key, "cut@x.co")).toHaveLength(1);
  });

  it("a re-queued job taken up and cut off is overdue one grace after its claim", async () => {
    const { e, id, now } = await abandonedSend("late@x.co", null);
    const db = database(DB);
    const requeued = await dropping(e, async () => {
      await runWatchdog(env, testLog, now);
      // Unclaimed, it may be waiting its turn in a busy queue: the re-queued job gets the long push.
      await runWatchdog(env, testLog, now + 21_000);
      // An attempt takes it up late, then dies before settling it.
      expect(await claimMessage(db, id, now + 30_000, CLAIM_STALE_MS)).toBe(true);
      await runWatchdog(env, testLog, now + 30_000 + 21_000);
    });
    expect(requeued).toBe(2);
  });
});

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
    const org = await DB.prepare("SELECT org_id FROM workflows WHERE id = ?")
      .bind(w.id)
      .first<{ org_id: string }>();
    const old = Date.now() - 120_000;
    await DB.prepare(
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
    await DB.prepare("UPDATE imports SET updated_at = ? WHERE id = ?")
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
