// advance() at its edges: endings decided outside the steps (cancel, exit_on, fail), ended
// enrollments left alone, what each step's completion emits, chains, transitions by priority,
// and the failures of a definition that no longer fits the enrollment.
import { describe, expect, it } from "vitest";
import { advance, chooseTransition, initialState, lifecycleEffect } from "../../src/engine/advance";
import type {
  EnrollmentState,
  StepDef,
  TransitionDef,
  WorkflowDefinition,
} from "../../src/engine/types";

const T0 = Date.parse("2026-03-09T14:00:00Z");
const log = (id: string): StepDef => ({ id, type: "log", config: { message: id } });
const def = (
  steps: StepDef[],
  transitions?: TransitionDef[],
  extra: Partial<WorkflowDefinition> = {},
) => ({
  id: "wf_1",
  name: "Test",
  version: 3,
  steps,
  transitions:
    transitions ?? steps.slice(1).map((s, i) => ({ id: `t${i}`, from: steps[i].id, to: s.id })),
  ...extra,
});
const fresh = (startAt: number | null = null): EnrollmentState =>
  initialState(
    {
      id: "enr_1",
      orgId: "org_1",
      workflowId: "wf_1",
      contactId: "con_1",
      contact: { email: "ada@example.com", data: { plan: "pro" } },
      vars: {},
      event: {},
      timezone: "UTC",
      bypassSendWindow: false,
    },
    startAt,
  );
const summary = { enrollmentId: "enr_1", workflowId: "wf_1", contactId: "con_1" };

describe("initialState", () => {
  it("starts running, or waiting on a schedule when given a start time", () => {
    expect(fresh()).toMatchObject({
      status: "running",
      currentStepId: null,
      wait: null,
      visits: {},
    });
    expect(fresh(T0)).toMatchObject({
      status: "waiting",
      wait: { kind: "schedule", stepId: null, until: T0 },
      exitReason: null,
      error: null,
      completedAt: null,
    });
  });
});

describe("endings decided outside the steps", () => {
  const waiting = advance(
    def([{ id: "d", type: "delay", config: { amount: 1, unit: "hours" } }]),
    fresh(),
    { type: "start" },
    T0,
  ).state;

  it("cancels with the reason, one log line and one lifecycle event", () => {
    const r = advance(def([]), waiting, { type: "cancel", reason: "by_api" }, T0 + 5);
    expect(r.state).toMatchObject({
      status: "cancelled",
      wait: null,
      exitReason: "by_api",
      error: null,
      completedAt: T0 + 5,
    });
    expect(r.logs).toEqual([
      {
        at: T0 + 5,
        stepId: "d",
        stepType: null,
        status: "completed",
        message: "Enrollment cancelled: by_api",
      },
    ]);
    expect(r.effects).toEqual([
      {
        type: "emit",
        key: "enr_1:enrollment.cancelled",
        eventType: "enrollment.cancelled",
        data: { ...summary, status: "cancelled", exitReason: "by_api", error: null },
      },
    ]);
    expect(r).toMatchObject({ wakeAt: null, changed: true });
  });

  it("completes on an exit event, with its own reason or one naming the event", () => {
    const named = advance(def([]), waiting, { type: "exit_on", event: "purchased" }, T0);
    expect(named.state).toMatchObject({ status: "completed", exitReason: "exit_on:purchased" });
    expect(named.logs[0].message).toBe("Enrollment completed: exit_on:purchased");
    expect(named.effects[0]).toMatchObject({ eventType: "enrollment.completed" });
    const own = advance(
      def([]),
      waiting,
      { type: "exit_on", event: "purchased", reason: "bought" },
      T0,
    );
    expect(own.state.exitReason).toBe("bought");
  });

  it("fails with the code and the message, naming the step when given", () => {
    const r = advance(
      def([]),
      waiting,
      { type: "fail", code: "delivery_failed", error: "bounced", stepId: "e1" },
      T0,
    );
    expect(r.state).toMatchObject({
      status: "failed",
      exitReason: null,
      error: { code: "delivery_failed", message: "Step e1: bounced" },
    });
    expect(r.logs[0]).toMatchObject({ status: "failed", message: "Step e1: bounced" });
    expect(r.effects[0]).toMatchObject({ eventType: "enrollment.failed" });
    const bare = advance(
      def([]),
      waiting,
      { type: "fail", code: "alarm_failed", error: "lost" },
      T0,
    );
    expect(bare.state.error).toEqual({ code: "alarm_failed", message: "lost" });
  });

  it("leaves an ended enrollment as it is, whatever comes", () => {
    for (const status of ["completed", "cancelled", "failed"] as const) {
      const ended = { ...waiting, status };
      for (const event of [
        { type: "wake" },
        { type: "cancel", reason: "x" },
        { type: "start" },
      ] as const) {
        const r = advance(def([log("a")]), ended, event, T0);
        expect(r).toEqual({ state: ended, effects: [], logs: [], wakeAt: null, changed: false });
      }
    }
  });
});

describe("running steps", () => {
  it("emits each step's completion with its outcome, keyed by visit, then the ending", () => {
    const r = advance(def([log("a")]), fresh(), { type: "start" }, T0);
    expect(r.effects).toEqual([
      {
        type: "emit",
        key: "enr_1:a:1:completed",
        eventType: "enrollment.step_completed",
        data: { ...summary, status: "running", stepId: "a", stepType: "log", outcome: "done" },
      },
      lifecycleEffect(r.state, "enrollment.completed"),
    ]);
    expect(r.logs.map((l) => [l.stepId, l.stepType, l.status, l.message])).toEqual([
      ["a", "log", "started", "Step a (log) started"],
      ["a", "log", "completed", expect.any(String)],
    ]);
    expect(r.logs[1].outcome).toBe("done");
    expect(r.state).toMatchObject({
      status: "completed",
      exitReason: "completed",
      completedAt: T0,
      visits: { a: 1 },
    });
  });

  it("names a step by its name in the log when it has one", () => {
    const r = advance(def([{ ...log("a"), name: "Say hi" }]), fresh(), { type: "start" }, T0);
    expect(r.logs[0].message).toBe("Step Say hi (log) started");
  });

  it("completes at once a workflow without steps", () => {
    const r = advance(def([]), fresh(), { type: "start" }, T0);
    expect(r.state).toMatchObject({
      status: "completed",
      exitReason: "completed",
      currentStepId: null,
    });
  });

  it("marks a chain's success when a step ends with one of its outcomes", () => {
    const chained = def([log("a")], [], { chain: { successOutcomes: ["done"] } });
    expect(advance(chained, fresh(), { type: "start" }, T0).state.chainSucceeded).toBe(true);
    const other = def([log("a")], [], { chain: { successOutcomes: ["replied"] } });
    expect(advance(other, fresh(), { type: "start" }, T0).state.chainSucceeded).toBeUndefined();
  });

  it("fails on a step type it does not know, at that step", () => {
    const r = advance(
      def([{ id: "q", type: "teleport" as never, config: {} }]),
      fresh(),
      { type: "start" },
      T0,
    );
    expect(r.state).toMatchObject({
      status: "failed",
      error: { code: "step_failed", message: 'Unknown step type "teleport"' },
    });
    expect(r.logs.at(-1)).toMatchObject({ stepId: "q", status: "failed" });
  });

  it("fails when the step it waits at is gone from the version it runs", () => {
    const waiting = advance(
      def([{ id: "d", type: "delay", config: { amount: 1, unit: "hours" } }]),
      fresh(),
      { type: "start" },
      T0,
    ).state;
    const r = advance(
      def([log("other")]),
      { ...waiting, wait: { ...waiting.wait!, kind: "event" } as never },
      { type: "wake" },
      T0 + 10,
    );
    expect(r.state.error).toEqual({ code: "step_failed", message: 'Step "d" is not in version 3' });
  });

  it("goes on from the current step when woken while running, and does nothing for other input", () => {
    const d = def([log("a"), log("b")]);
    const mid = { ...fresh(), currentStepId: "b", visits: { a: 1 } };
    const r = advance(d, mid, { type: "wake" }, T0);
    expect(r.logs.filter((l) => l.status === "started").map((l) => l.stepId)).toEqual(["b"]);
    const idle = advance(d, mid, { type: "event", name: "x", data: {} }, T0);
    expect(idle).toMatchObject({ changed: false, effects: [], logs: [], wakeAt: null });
  });
});

describe("chooseTransition", () => {
  const scope = { contact: { data: { plan: "pro" } }, vars: {}, event: {} };
  const from = (t: Partial<TransitionDef>[]) =>
    def(
      [log("a")],
      t.map((x, i) => ({ id: `t${i}`, from: "a", to: `to${i}`, ...x }) as TransitionDef),
    );

  it("tries the lowest priority first, then array order, skipping other outcomes and false conditions", () => {
    const step = log("a");
    expect(
      chooseTransition(from([{ priority: 2 }, { priority: 1 }, { priority: 1 }]), step, "x", scope),
    ).toBe("to1");
    expect(chooseTransition(from([{}, { priority: -1 }]), step, "x", scope)).toBe("to1");
    expect(chooseTransition(from([{ on: "y" }, { on: "x" }]), step, "x", scope)).toBe("to1");
    expect(
      chooseTransition(
        from([
          { condition: { field: "contact.data.plan", operator: "equals", value: "free" } },
          {},
        ]),
        step,
        "x",
        scope,
      ),
    ).toBe("to1");
    expect(chooseTransition(from([{ on: "y" }]), step, "x", scope)).toBeNull();
    expect(
      chooseTransition(
        { ...from([{}]), transitions: [{ id: "t", from: "b", to: "c" }] },
        step,
        "x",
        scope,
      ),
    ).toBeNull();
  });
});
