// The sales sequence on the outbox: email, a delay, a call recorded by hand, an SMS and a task,
// and the answered branch; a dry run.
import { afterEach, describe, expect, it, vi } from "vitest";
import { activeWorkflow, call, expectError, newOrg, poll } from "../helpers/api";
import { enrollment, expireWait, settle } from "../helpers/enrollments";
import { enroll, outbox, waitFor } from "../helpers/outreach";

afterEach(() => vi.restoreAllMocks());

/** The sales sequence of the issue: email → wait 2 days → call → if no answer, SMS → task. */
const salesSteps = [
  {
    id: "intro",
    type: "send_email",
    config: { subject: "Hi {{ contact.firstName }}", html: "<p>Quick question</p>" },
  },
  { id: "wait", type: "delay", config: { amount: 2, unit: "days" } },
  {
    id: "ring",
    type: "call",
    config: { script: "Hello {{ contact.firstName }}, this is Acme calling." },
  },
  {
    id: "text",
    type: "send_sms",
    config: { body: "Sorry we missed you, {{ contact.firstName }}!" },
  },
  {
    id: "rep",
    type: "task",
    config: {
      taskType: "call",
      title: "Call {{ contact.firstName }} back",
      instructions: "They did not answer; the SMS went out.",
      assignee: "sam@acme.test",
      dueIn: 86_400,
      outcomes: ["connected", "not_interested"],
    },
  },
  { id: "won", type: "log", config: { message: "Connected" } },
];

const salesTransitions = [
  { from: "intro", to: "wait" },
  { from: "wait", to: "ring" },
  { from: "ring", to: "text", on: "no_answer" },
  { from: "ring", to: "won", on: "answered" },
  { from: "text", to: "rep" },
  { from: "rep", to: "won", on: "connected" },
];

describe("the sales sequence on the outbox", () => {
  it("email → 2 days → call (no answer, recorded by hand) → SMS → task completed", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, salesSteps, { transitions: salesTransitions });
    const res = await enroll(
      key,
      w.id,
      { email: "pat@prospect.test", phone: "+14155550142", name: "Pat Prospect" },
      { bypassCallWindow: true },
    );
    expect(res.status).toBe(201);
    expect(res.json.bypassCallWindow).toBe(true);
    const id = res.json.id;
    expect(await settle(key, id)).toMatchObject({ status: "waiting", currentStepId: "wait" });
    expect(await expireWait(id)).toBe(true); // the two days pass

    const [placed] = await poll(
      () => outbox(key, "call"),
      (o) => o.length === 1,
    );
    expect(placed).toMatchObject({
      channel: "call",
      to: "+14155550142",
      text: "Hello Pat, this is Acme calling.",
      outcome: null,
    });
    const ringing = await waitFor(key, id, (e) => e.currentStepId === "ring");
    expect(ringing.status).toBe("waiting");

    const rec = await call("POST", `/v1/outbox/${placed.id}/outcome`, {
      key,
      body: { outcome: "no_answer" },
    });
    expect(rec.status).toBe(200);
    expect(rec.json).toMatchObject({ channel: "call", outcome: "no_answer" });
    // The same outcome again is harmless; another one is refused.
    expect(
      (
        await call("POST", `/v1/outbox/${placed.id}/outcome`, {
          key,
          body: { outcome: "no_answer" },
        })
      ).status,
    ).toBe(200);
    expectError(
      await call("POST", `/v1/outbox/${placed.id}/outcome`, { key, body: { outcome: "answered" } }),
      409,
      "conflict",
    );

    const [sms] = await poll(
      () => outbox(key, "sms"),
      (o) => o.length === 1,
    );
    expect(sms).toMatchObject({ to: "+14155550142", text: "Sorry we missed you, Pat!" });
    expectError(
      await call("POST", `/v1/outbox/${sms.id}/outcome`, { key, body: { outcome: "answered" } }),
      422,
      "validation_failed",
    );

    const tasks = await poll(
      async () => (await call("GET", "/v1/tasks?status=open", { key })).json.data,
      (d: any[]) => d.length === 1,
    );
    expect(tasks[0]).toMatchObject({
      taskType: "call",
      title: "Call Pat back",
      assignee: "sam@acme.test",
      status: "open",
      outcomes: ["connected", "not_interested"],
      enrollmentId: id,
      stepId: "rep",
    });
    expectError(
      await call("POST", `/v1/tasks/${tasks[0].id}/complete`, { key, body: { outcome: "maybe" } }),
      422,
      "invalid_outcome",
    );
    const done = await call("POST", `/v1/tasks/${tasks[0].id}/complete`, {
      key,
      body: { outcome: "connected", note: "Demo booked" },
    });
    expect(done.status).toBe(200);
    expect(done.json).toMatchObject({
      status: "completed",
      outcome: "connected",
      note: "Demo booked",
    });
    // A retry of the same completion answers the task; a skip after it is refused.
    expect(
      (
        await call("POST", `/v1/tasks/${tasks[0].id}/complete`, {
          key,
          body: { outcome: "connected" },
        })
      ).status,
    ).toBe(200);
    expectError(
      await call("POST", `/v1/tasks/${tasks[0].id}/skip`, { key, body: {} }),
      409,
      "task_closed",
    );

    const finished = await waitFor(key, id, (e) => e.status === "completed");
    const path = finished.timeline
      .filter((l: { status: string }) => l.status === "completed" || l.status === "skipped")
      .map((l: { stepId: string; outcome?: string }) => `${l.stepId}:${l.outcome ?? ""}`);
    expect(path).toEqual([
      "intro:sent",
      "wait:done",
      "ring:no_answer",
      "text:sent",
      "rep:connected",
      "won:done",
    ]);
    const channels = (
      await poll(
        () => enrollment(key, id),
        (e) => e.messages.length === 3,
      )
    ).messages.map((m: { channel: string }) => m.channel);
    expect(channels.sort()).toEqual(["call", "email", "sms"]);

    const stats = (await call("GET", `/v1/workflows/${w.id}/stats`, { key })).json.steps;
    const of = (id: string) => stats.find((s: { stepId: string }) => s.stepId === id);
    expect(of("ring").calls).toMatchObject({ placed: 1, pending: 0, no_answer: 1, answered: 0 });
    expect(of("text").sms).toMatchObject({ sent: 1, delivered: 0, failed: 0 });
    expect(of("rep").tasks).toEqual({
      open: 0,
      completed: 1,
      skipped: 0,
      expired: 0,
      byOutcome: { connected: 1 },
    });
    const metrics = await call(
      "GET",
      "/v1/analytics/metrics?metrics=callsPlaced,callsNoAnswer,smsSent,tasksCreated,tasksCompleted",
      { key },
    );
    expect(metrics.status).toBe(200);
    expect(metrics.json.totals).toMatchObject({
      callsPlaced: 1,
      callsNoAnswer: 1,
      smsSent: 1,
      tasksCreated: 1,
      tasksCompleted: 1,
    });
  });

  it("an answered call takes its own branch; a dry run shows what each channel would do", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, salesSteps, { transitions: salesTransitions });
    const test = await call("POST", `/v1/workflows/${w.id}/test`, {
      key,
      body: { startAt: "2026-03-10T15:00:00Z", timezone: "America/New_York" },
    });
    expect(test.status).toBe(200);
    const messages = test.json.trace.map((t: { message: string }) => t.message);
    expect(messages).toContain("[test] Would call +14155552671");
    const res = await enroll(
      key,
      w.id,
      { phone: "+14155550143", firstName: "Ann" },
      { bypassCallWindow: true },
    );
    const id = res.json.id;
    await settle(key, id);
    await expireWait(id);
    const [placed] = await poll(
      () => outbox(key, "call", "+14155550143"),
      (o) => o.length === 1,
    );
    await call("POST", `/v1/outbox/${placed.id}/outcome`, { key, body: { outcome: "answered" } });
    const done = await waitFor(key, id, (e) => e.status === "completed");
    expect(done.currentStepId).toBe("won");
    expect(await outbox(key, "sms", "+14155550143")).toEqual([]);
  });
});
