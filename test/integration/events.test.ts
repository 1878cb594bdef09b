// Tracked events (#14): accepted durably at once, fanned out asynchronously (or inline with
// ?wait=true), up to 1,000 per batch call, a client id never processed twice, and an accepted
// event never lost when its queue job is.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runWatchdog } from "../../src/watchdog";
import { activeWorkflow, call, expectError, newOrg, poll, testLog } from "../helpers/api";
import { DB } from "../helpers/db";
import { enrollment } from "../helpers/enrollments";
import { captureQueue, consume } from "../helpers/queues";

afterEach(() => vi.restoreAllMocks());

const waitFor = (name: string) => ({
  id: "w",
  type: "wait_for_event",
  config: { eventName: name, timeout: 86_400 },
});

/** A contact enrolled in a workflow that waits for `name`. */
async function waiting(key: string, name: string, email: string) {
  const w = await activeWorkflow(key, [waitFor(name)]);
  const e = (
    await call("POST", "/v1/enrollments", { key, body: { workflowId: w.id, contact: { email } } })
  ).json;
  return { workflowId: w.id, enrollmentId: e.id as string, contactId: e.contactId as string };
}

const pendingFanouts = async () =>
  (await DB.prepare("SELECT count(*) AS n FROM event_fanouts").first<{ n: number }>())?.n ?? 0;

describe("POST /v1/events", () => {
  it("answers 202 {id} once stored, then resumes the waiting enrollment asynchronously", async () => {
    const { key } = await newOrg();
    const w = await waiting(key, "paid", "async@x.co");
    const res = await call("POST", "/v1/events", {
      key,
      body: { name: "paid", email: "async@x.co", data: { amount: 10 } },
    });
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ id: expect.stringMatching(/^evt_/) });
    const events = (await call("GET", `/v1/contacts/${w.contactId}/events`, { key })).json.data;
    expect(events.map((e: { id: string }) => e.id)).toContain(res.json.id);
    await poll(
      () => enrollment(key, w.enrollmentId),
      (e) => e.status === "completed",
    );
  });

  it("processes before answering with ?wait=true", async () => {
    const { key } = await newOrg();
    const w = await waiting(key, "paid", "sync@x.co");
    const res = await call("POST", "/v1/events?wait=true", {
      key,
      body: { name: "paid", email: "sync@x.co" },
    });
    expect(res.status).toBe(202);
    expect(res.json).toEqual({
      id: expect.stringMatching(/^evt_/),
      enrolled: [],
      resumed: [w.enrollmentId],
      exited: [],
    });
    expectError(
      await call("POST", "/v1/events?wait=yes", { key, body: { name: "x", email: "s@x.co" } }),
      422,
      "validation_failed",
    );
  });

  it("never processes a client id twice: the first id comes back as a duplicate", async () => {
    const { key } = await newOrg();
    const trigger = await activeWorkflow(
      key,
      [{ id: "l", type: "log", config: { message: "x" } }],
      {
        trigger: { type: "event", event: "order" },
        allowReentry: true,
      },
    );
    const body = { id: "order-1001", name: "order", email: "dup@x.co" };
    const first = await call("POST", "/v1/events?wait=true", { key, body });
    expect(first.json.enrolled).toHaveLength(1);
    const again = await call("POST", "/v1/events?wait=true", { key, body });
    expect(again.json).toEqual({
      id: first.json.id,
      duplicate: true,
      enrolled: [],
      resumed: [],
      exited: [],
    });
    const third = await call("POST", "/v1/events", { key, body });
    expect(third.json).toEqual({ id: first.json.id, duplicate: true });
    const list = await call("GET", `/v1/enrollments?workflowId=${trigger.id}`, { key });
    expect(list.json.data).toHaveLength(1);
    // Another org may use the same id for its own event.
    const other = await newOrg();
    const theirs = await call("POST", "/v1/events", { key: other.key, body });
    expect(theirs.json.duplicate).toBeUndefined();
    expect(theirs.json.id).not.toBe(first.json.id);
  });

  it("starts an enrollment once per event and workflow, however often the event is fanned out", async () => {
    const { key, orgId } = await newOrg();
    // Finishes at once and allows re-entry: only the event-derived id stops a second start.
    const trigger = await activeWorkflow(
      key,
      [{ id: "l", type: "log", config: { message: "x" } }],
      {
        trigger: { type: "event", event: "signup" },
        allowReentry: true,
      },
    );
    const capture = captureQueue<{ kind: string; eventIds?: string[] }>(
      "EVENT_QUEUE",
      (b) => b.kind === "fanout",
    );
    const res = await call("POST", "/v1/events", {
      key,
      body: { name: "signup", email: "once@x.co" },
    });
    capture.restore();
    // The job carries the request's trace (its x-request-id), so its fan-out's lines join it.
    expect(capture.captured).toEqual([
      {
        kind: "fanout",
        orgId,
        eventIds: [res.json.id],
        trace: res.headers.get("x-request-id"),
      },
    ]);
    const job = capture.captured[0];
    // Delivered twice, and once more after its claim went stale (a worker that died).
    await consume("nudge-event", [job, job]);
    await DB.prepare("INSERT INTO event_fanouts (event_id, org_id, queued_at) VALUES (?, ?, ?)")
      .bind(res.json.id, orgId, Date.now())
      .run();
    await consume("nudge-event", [job]);
    const list = await call("GET", `/v1/enrollments?workflowId=${trigger.id}`, { key });
    expect(list.json.data).toHaveLength(1);
  });

  it("re-queues an accepted event whose queue job was lost (watchdog)", async () => {
    const { key } = await newOrg();
    const w = await waiting(key, "lost", "lost@x.co");
    const capture = captureQueue<{ kind: string }>("EVENT_QUEUE", (b) => b.kind === "fanout");
    const res = await call("POST", "/v1/events", {
      key,
      body: { name: "lost", email: "lost@x.co" },
    });
    capture.restore(); // the job is gone
    expect(res.status).toBe(202);
    expect(await pendingFanouts()).toBeGreaterThanOrEqual(1);
    await DB.prepare("UPDATE event_fanouts SET queued_at = ? WHERE event_id = ?")
      .bind(Date.now() - 60_000, res.json.id)
      .run();
    const report = await runWatchdog(env, testLog);
    expect(report.requeued.events).toBeGreaterThanOrEqual(1);
    await poll(
      () => enrollment(key, w.enrollmentId),
      (e) => e.status === "completed",
    );
    const left = await DB.prepare("SELECT count(*) AS n FROM event_fanouts WHERE event_id = ?")
      .bind(res.json.id)
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
  });
});

describe("POST /v1/events/batch", () => {
  it("accepts up to 1,000 events, rejecting bad ones alone, and fans them all out", async () => {
    const { key } = await newOrg();
    const w = await waiting(key, "ping", "batch0@x.co");
    const events: unknown[] = Array.from({ length: 998 }, (_, i) => ({
      name: i === 0 ? "ping" : "noise",
      email: `batch${i % 300}@x.co`,
      data: { i },
    }));
    events.splice(5, 0, { name: "bad name!", email: "x@x.co" });
    events.splice(7, 0, { name: "ping", contactId: "con_nope" });
    const res = await call("POST", "/v1/events/batch", { key, body: { events } });
    expect(res.status).toBe(202);
    expect(res.json.ids).toHaveLength(1000);
    expect(res.json.ids.filter((x: string | null) => x === null)).toHaveLength(2);
    expect(res.json.rejected).toEqual([
      {
        index: 5,
        error: "validation_failed",
        message: "The event is invalid",
        details: [expect.objectContaining({ path: "name" })],
      },
      { index: 7, error: "not_found", message: "Contact not found" },
    ]);
    await poll(
      () => enrollment(key, w.enrollmentId),
      (e) => e.status === "completed",
    );
    await poll(pendingFanouts, (n) => n === 0);
    const contact = (await call("GET", "/v1/contacts?email=batch1@x.co", { key })).json.data[0];
    const stored = (await call("GET", `/v1/contacts/${contact.id}/events?limit=100`, { key })).json
      .data;
    expect(stored.length).toBeGreaterThanOrEqual(3);
  });

  it("dedupes client ids within a batch and against earlier calls", async () => {
    const { key } = await newOrg();
    const before = await call("POST", "/v1/events", {
      key,
      body: { id: "a", name: "x", email: "c@x.co" },
    });
    const res = await call("POST", "/v1/events/batch", {
      key,
      body: {
        events: [
          { id: "a", name: "x", email: "c@x.co" },
          { id: "b", name: "x", email: "c@x.co" },
          { id: "b", name: "x", email: "c@x.co" },
        ],
      },
    });
    expect(res.json.ids[0]).toBe(before.json.id);
    expect(res.json.ids[1]).toBe(res.json.ids[2]);
    expect(res.json.ids[1]).not.toBe(before.json.id);
    const contact = (await call("GET", "/v1/contacts?email=c@x.co", { key })).json.data[0];
    const stored = (await call("GET", `/v1/contacts/${contact.id}/events`, { key })).json.data;
    expect(stored).toHaveLength(2);
  });

  it("refuses an empty batch or one over 1,000 events", async () => {
    const { key } = await newOrg();
    expectError(
      await call("POST", "/v1/events/batch", { key, body: { events: [] } }),
      422,
      "validation_failed",
    );
    const many = Array.from({ length: 1001 }, () => ({ name: "x", email: "m@x.co" }));
    expectError(
      await call("POST", "/v1/events/batch", { key, body: { events: many } }),
      422,
      "validation_failed",
    );
  });
});
