// How an enrollment runs a workflow: steps in order, branches, waits for events and their
// timeouts, exit events, event triggers and deterministic splits.
import { describe, expect, it } from "vitest";
import { chooseVariant } from "../../src/engine/split";
import { activeWorkflow, call, newOrg, poll } from "../helpers/api";
import { enrollment, expireWait, settle } from "../helpers/enrollments";
import { delay, enroll, log, mail, outboxFor } from "../helpers/journeys";

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
});
