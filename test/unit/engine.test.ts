import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { advance, initialState } from "../../src/engine/advance";
import { dryRun } from "../../src/engine/dry-run";
import { validateGraph } from "../../src/engine/graph";
import type {
  EnrollmentState,
  StepDef,
  TransitionDef,
  WorkflowDefinition,
} from "../../src/engine/types";

const T0 = Date.parse("2026-03-09T14:00:00Z"); // Monday 10:00 in New York

function def(
  steps: StepDef[],
  transitions?: TransitionDef[],
  extra: Partial<WorkflowDefinition> = {},
): WorkflowDefinition {
  const links =
    transitions ?? steps.slice(1).map((s, i) => ({ id: `t${i}`, from: steps[i].id, to: s.id }));
  return { id: "wf_1", name: "Test", version: 1, steps, transitions: links, ...extra };
}

function state(over: Partial<EnrollmentState> = {}): EnrollmentState {
  return initialState(
    {
      id: "enr_1",
      orgId: "org_1",
      workflowId: "wf_1",
      contactId: "con_1",
      contact: {
        email: "ada@example.com",
        firstName: "Ada",
        subscribed: true,
        suppressed: null,
        data: { plan: "pro" },
      },
      vars: { hook: "Series A" },
      event: {},
      timezone: "America/New_York",
      bypassSendWindow: false,
      ...over,
    },
    null,
  );
}

const email = (id: string): StepDef => ({
  id,
  type: "send_email",
  config: { subject: "Hi {{ contact.firstName }}", html: "<p>Hello</p>" },
});

describe("advance()", () => {
  it("runs steps back to back until a delay, then resumes on wake", () => {
    const d = def([
      email("e1"),
      { id: "d1", type: "delay", config: { amount: 1, unit: "hours" } },
      email("e2"),
    ]);
    const r1 = advance(d, state(), { type: "start" }, T0);
    expect(r1.state.status).toBe("waiting");
    expect(r1.state.currentStepId).toBe("d1");
    expect(r1.wakeAt).toBe(T0 + 3_600_000);
    expect(
      r1.effects.filter((e) => e.type === "send_email").map((e) => (e as { key: string }).key),
    ).toEqual(["enr_1:e1:1"]);
    expect(r1.logs.map((l) => `${l.stepId}:${l.status}`)).toEqual([
      "e1:started",
      "e1:completed",
      "d1:started",
      "d1:waiting",
    ]);

    const early = advance(d, r1.state, { type: "wake" }, T0 + 1000);
    expect(early.changed).toBe(false);
    expect(early.effects).toEqual([]);

    const r2 = advance(d, r1.state, { type: "wake" }, T0 + 3_600_000);
    expect(r2.state.status).toBe("completed");
    expect(r2.state.exitReason).toBe("completed");
    expect(r2.effects.map((e) => e.type)).toEqual(["emit", "send_email", "emit", "emit"]);
    expect(
      r2.effects.find((e) => e.type === "emit" && e.eventType === "enrollment.completed"),
    ).toBeDefined();
  });

  it("branches on a condition with `on` transitions", () => {
    const d = def(
      [
        {
          id: "c",
          type: "condition",
          config: { field: "contact.data.plan", operator: "equals", value: "pro" },
        },
        { id: "yes", type: "log", config: { message: "pro {{ vars.hook }}" } },
        { id: "no", type: "log", config: { message: "free" } },
      ],
      [
        { id: "t1", from: "c", to: "yes", on: "true" },
        { id: "t2", from: "c", to: "no", on: "false" },
      ],
    );
    const r = advance(d, state(), { type: "start" }, T0);
    expect(r.state.status).toBe("completed");
    expect(r.logs.filter((l) => l.status === "completed").map((l) => l.message)).toEqual([
      "Condition is true",
      "pro Series A",
    ]);
  });

  it("tries transitions by priority, then their conditions", () => {
    const d = def(
      [
        { id: "a", type: "log", config: { message: "a" } },
        { id: "b", type: "log", config: { message: "b" } },
        { id: "c", type: "log", config: { message: "c" } },
      ],
      [
        { id: "t1", from: "a", to: "b", priority: 5 },
        {
          id: "t2",
          from: "a",
          to: "c",
          priority: 1,
          condition: { field: "vars.hook", operator: "equals", value: "nope" },
        },
        { id: "t3", from: "b", to: "c", priority: 0 },
      ],
    );
    const r = advance(d, state(), { type: "start" }, T0);
    expect(r.logs.filter((l) => l.status === "completed").map((l) => l.stepId)).toEqual([
      "a",
      "b",
      "c",
    ]);
  });

  it("waits for an event, resumes on it, and ignores other events", () => {
    const d = def(
      [
        {
          id: "w",
          type: "wait_for_event",
          config: {
            eventName: "replied",
            timeout: 3600,
            match: { field: "event.channel", operator: "equals", value: "email" },
          },
        },
        { id: "yes", type: "log", config: { message: "got it" } },
        { id: "no", type: "log", config: { message: "timeout" } },
      ],
      [
        { id: "t1", from: "w", to: "yes", on: "event" },
        { id: "t2", from: "w", to: "no", on: "timeout" },
      ],
    );
    const r1 = advance(d, state(), { type: "start" }, T0);
    expect(r1.state.wait).toMatchObject({ kind: "event", event: "replied", until: T0 + 3_600_000 });
    expect(advance(d, r1.state, { type: "event", name: "other", data: {} }, T0 + 5).changed).toBe(
      false,
    );
    expect(
      advance(d, r1.state, { type: "event", name: "replied", data: { channel: "sms" } }, T0 + 5)
        .changed,
    ).toBe(false);
    const r2 = advance(
      d,
      r1.state,
      { type: "event", name: "replied", data: { channel: "email" } },
      T0 + 5,
    );
    expect(r2.logs.at(-1)?.message).toBe("got it");
    const r3 = advance(d, r1.state, { type: "wake" }, T0 + 3_600_000);
    expect(r3.logs.at(-1)?.message).toBe("timeout");
  });

  it("holds an email for the send window in the enrollment's zone, unless bypassed", () => {
    const window = {
      days: ["mon", "tue", "wed", "thu", "fri"] as ("mon" | "tue" | "wed" | "thu" | "fri")[],
      start: "09:00",
      end: "17:00",
    };
    const d = def([email("e1")], undefined, { sendWindow: window });
    const saturday = Date.parse("2026-03-07T15:00:00Z");
    const r = advance(d, state(), { type: "start" }, saturday);
    expect(r.state.wait).toMatchObject({ kind: "window" });
    expect(new Date(r.wakeAt as number).toISOString()).toBe("2026-03-09T13:00:00.000Z");
    expect(r.effects.filter((e) => e.type === "send_email")).toHaveLength(0);
    const r2 = advance(d, r.state, { type: "wake" }, r.wakeAt as number);
    expect(r2.effects.filter((e) => e.type === "send_email")).toHaveLength(1);
    const bypass = advance(d, state({ bypassSendWindow: true }), { type: "start" }, saturday);
    expect(bypass.effects.filter((e) => e.type === "send_email")).toHaveLength(1);
  });

  it("does not send to an unsubscribed contact: outcome suppressed", () => {
    const d = def([email("e1")]);
    const s = state();
    s.contact.subscribed = false;
    const r = advance(d, s, { type: "start" }, T0);
    expect(r.effects.filter((e) => e.type === "send_email")).toHaveLength(0);
    expect(r.logs.find((l) => l.stepId === "e1" && l.status === "skipped")?.outcome).toBe(
      "suppressed",
    );
  });

  it("merges update_contact into the contact for later steps", () => {
    const d = def([
      {
        id: "u",
        type: "update_contact",
        config: { data: { stage: "{{ vars.hook }}", plan: "team" } },
      },
      {
        id: "c",
        type: "condition",
        config: { field: "contact.data.plan", operator: "equals", value: "team" },
      },
    ]);
    const r = advance(d, state(), { type: "start" }, T0);
    expect(r.state.contact.data).toEqual({ plan: "team", stage: "Series A" });
    expect(r.logs.find((l) => l.stepId === "c" && l.status === "completed")?.outcome).toBe("true");
    expect(r.effects.find((e) => e.type === "update_contact")).toMatchObject({
      data: { stage: "Series A", plan: "team" },
    });
  });

  it("ends with the exit step's reason", () => {
    const d = def([{ id: "x", type: "exit", config: { reason: "not_a_fit" } }, email("never")], []);
    const r = advance(d, state(), { type: "start" }, T0);
    expect(r.state).toMatchObject({ status: "completed", exitReason: "not_a_fit" });
  });

  it("starts a scheduled enrollment only when its time comes", () => {
    const d = def([email("e1")]);
    const s = initialState({ ...state(), id: "enr_2" }, T0 + 60_000);
    expect(advance(d, s, { type: "wake" }, T0).changed).toBe(false);
    const r = advance(d, s, { type: "wake" }, T0 + 60_000);
    expect(r.state.status).toBe("completed");
  });

  it("fails with the error when a step cannot run", () => {
    const d = def([
      { id: "l", type: "log", config: { message: "{{ contact.firstName | nope }}" } },
    ]);
    const r = advance(d, state(), { type: "start" }, T0);
    expect(r.state.status).toBe("failed");
    expect(r.state.error).toEqual({ code: "step_failed", message: expect.stringMatching(/nope/) });
  });
});

describe("graph validation", () => {
  const templates = new Set(["tpl_ok"]);
  const problems = (steps: StepDef[], transitions: TransitionDef[]) =>
    validateGraph(steps, transitions, templates).map((p) => p.message);

  it("accepts a valid graph", () => {
    expect(
      problems(
        [
          { id: "a", type: "send_email", config: { templateId: "tpl_ok" } },
          { id: "b", type: "delay", config: { amount: 1, unit: "days" } },
        ],
        [{ id: "t", from: "a", to: "b" }],
      ),
    ).toEqual([]);
  });

  it.each([
    ["unknown type", [{ id: "a", type: "teleport", config: {} }], [], /Unknown step type/],
    ["bad config", [{ id: "a", type: "delay", config: { amount: -1, unit: "days" } }], [], /./],
    [
      "dangling transition",
      [{ id: "a", type: "log", config: { message: "x" } }],
      [{ id: "t", from: "a", to: "ghost" }],
      /unknown step "ghost"/,
    ],
    [
      "unreachable step",
      [
        { id: "a", type: "log", config: { message: "x" } },
        { id: "b", type: "log", config: { message: "y" } },
      ],
      [],
      /unreachable/,
    ],
    [
      "cycle with no wait",
      [
        { id: "a", type: "log", config: { message: "x" } },
        { id: "b", type: "log", config: { message: "y" } },
      ],
      [
        { id: "t1", from: "a", to: "b" },
        { id: "t2", from: "b", to: "a" },
      ],
      /Cycle with no delay or wait/,
    ],
    [
      "impossible outcome",
      [
        { id: "a", type: "log", config: { message: "x" } },
        { id: "b", type: "log", config: { message: "y" } },
      ],
      [{ id: "t", from: "a", to: "b", on: "true" }],
      /cannot produce outcome "true"/,
    ],
    [
      "missing template",
      [{ id: "a", type: "send_email", config: { templateId: "tpl_missing" } }],
      [],
      /does not exist/,
    ],
  ] as const)("refuses a %s", (_name, steps, transitions, message) => {
    const found = problems(
      steps as unknown as StepDef[],
      transitions as unknown as TransitionDef[],
    );
    expect(found.length).toBeGreaterThan(0);
    expect(found.join("\n")).toMatch(message);
  });

  it("allows a cycle that passes through a delay", () => {
    const steps: StepDef[] = [
      { id: "a", type: "log", config: { message: "x" } },
      { id: "d", type: "delay", config: { amount: 1, unit: "days" } },
    ];
    expect(
      problems(steps, [
        { id: "t1", from: "a", to: "d" },
        { id: "t2", from: "d", to: "a" },
      ]),
    ).toEqual([]);
  });

  const loopThrough = (pause: StepDef) =>
    problems(
      [{ id: "a", type: "log", config: { message: "x" } }, pause],
      [
        { id: "t1", from: "a", to: pause.id },
        { id: "t2", from: pause.id, to: "a" },
      ],
    );

  it.each([
    ["a delay until a fixed date (it may be in the past)", { until: "2020-01-01T00:00:00Z" }],
    ["a delay until a local time (it may be a second away)", { untilLocalTime: "09:00" }],
    ["a delay of 59 seconds", { amount: 59, unit: "seconds" }],
    ["a vanishing delay", { amount: 1e-9, unit: "days" }],
  ])("refuses a loop whose only pause is %s, naming the loop", (_name, config) => {
    const found = loopThrough({ id: "d", type: "delay", config });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(
      /^Cycle with no delay or wait in it: (a → d → a|d → a → d) \(a loop must pass through a wait_for_event, or a delay of at least 60 s/,
    );
  });

  it.each([
    [
      "a delay of exactly 60 seconds",
      { id: "d", type: "delay", config: { amount: 60, unit: "seconds" } },
    ],
    ["a delay of one minute", { id: "d", type: "delay", config: { amount: 1, unit: "minutes" } }],
    [
      "a wait for an event",
      { id: "d", type: "wait_for_event", config: { eventName: "ping", timeout: 1 } },
    ],
  ])("allows a loop through %s", (_name, pause) => {
    expect(loopThrough(pause as StepDef)).toEqual([]);
  });
});

describe("limits a runaway enrollment", () => {
  const loop = def(
    [
      { id: "l", type: "log", config: { message: "again" } },
      { id: "d", type: "delay", config: { amount: 1, unit: "minutes" } },
    ],
    [
      { id: "t1", from: "l", to: "d" },
      { id: "t2", from: "d", to: "l" },
    ],
  );

  it("fails an enrollment that executes more than 1,000 steps in its life, with step_limit_exceeded", () => {
    let r = advance(loop, state(), { type: "start" }, T0);
    let now = T0;
    let wakes = 0;
    while (r.state.status === "waiting" && wakes < 1000) {
      now = r.wakeAt as number;
      r = advance(loop, r.state, { type: "wake" }, now);
      wakes++;
    }
    expect(r.state.status).toBe("failed");
    expect(r.state.error).toEqual({
      code: "step_limit_exceeded",
      message: "The enrollment ran more than 1,000 steps",
    });
    expect(r.state.stepsRun).toBe(1001);
    expect(
      r.effects.find((e) => e.type === "emit" && e.eventType === "enrollment.failed"),
    ).toBeDefined();
  });

  it("counts from what an older object stored (no count yet means zero)", () => {
    const s = { ...state(), stepsRun: undefined };
    expect(advance(loop, s, { type: "start" }, T0).state.stepsRun).toBe(2);
  });

  it("backs off instead of waking at once when a run hits its per-run cap", () => {
    const chain = def(
      Array.from({ length: 150 }, (_, i) => ({
        id: `s${i}`,
        type: "log",
        config: { message: `${i}` },
      })),
    );
    const r = advance(chain, state(), { type: "start" }, T0);
    expect(r.state.status).toBe("running");
    expect(r.logs.filter((l) => l.status === "started")).toHaveLength(100);
    expect(r.wakeAt).toBe(T0 + 1_000);
    const next = advance(chain, r.state, { type: "wake" }, T0 + 1_000);
    expect(next.state.status).toBe("completed");
    expect(next.logs.filter((l) => l.status === "started")).toHaveLength(50);
  });
});

describe("advance() on random valid graphs", () => {
  const stepArb = fc.constantFrom<StepDef["type"]>(
    "log",
    "condition",
    "split",
    "delay",
    "wait_for_event",
    "update_contact",
    "send_email",
    "exit",
  );
  const configFor = (type: string): Record<string, unknown> => {
    switch (type) {
      case "log":
        return { message: "hi" };
      case "condition":
        return { field: "contact.data.plan", operator: "equals", value: "pro" };
      case "split":
        return {
          variants: [
            { key: "a", weight: 1 },
            { key: "b", weight: 1 },
          ],
        };
      case "delay":
        return { amount: 5, unit: "minutes" };
      case "wait_for_event":
        return { eventName: "go", timeout: 60 };
      case "update_contact":
        return { data: { n: "1" } };
      case "send_email":
        return { subject: "s", html: "<p>h</p>" };
      default:
        return {};
    }
  };

  /**
   * Valid by construction: a chain links every step (none unreachable); extra edges go forward
   * (no cycle) or back to a step that pauses (every cycle passes through a pause). Exit steps
   * get no outgoing edge.
   */
  const graphArb = fc
    .tuple(
      fc.array(stepArb, { minLength: 1, maxLength: 12 }),
      fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat({ max: 2 })), { maxLength: 20 }),
    )
    .map(([types, edges]) => {
      // The entry is never an exit when more steps follow it (they could not be reached).
      const kinds = types.length > 1 && types[0] === "exit" ? ["log", ...types.slice(1)] : types;
      const steps: StepDef[] = kinds.map((type, i) => ({
        id: `s${i}`,
        type,
        config: configFor(type),
      }));
      const pauses = (i: number) => steps[i].type === "delay" || steps[i].type === "wait_for_event";
      const transitions: TransitionDef[] = [];
      steps.forEach((s, i) => {
        if (i === 0) {
          return;
        }
        // Linked from the nearest earlier step that is not an exit.
        let from = i - 1;
        while (steps[from].type === "exit") {
          from--;
        }
        transitions.push({ id: `c${i}`, from: steps[from].id, to: s.id });
      });
      edges.forEach(([a, b, priority], i) => {
        const from = a % steps.length;
        const to = b % steps.length;
        if (steps[from].type === "exit" || (to <= from && !pauses(to))) {
          return;
        }
        transitions.push({ id: `r${i}`, from: steps[from].id, to: steps[to].id, priority });
      });
      return { steps, transitions };
    });

  it("always stops at a wait, an exit or the end", () => {
    let exercised = 0;
    let looped = 0;
    fc.assert(
      fc.property(graphArb, fc.nat(), ({ steps, transitions }, seed) => {
        expect(validateGraph(steps, transitions, new Set())).toEqual([]);
        exercised++;
        if (transitions.some((t) => Number(t.to.slice(1)) <= Number(t.from.slice(1)))) {
          looped++;
        }
        const d = def(steps, transitions);
        let s = state({ id: `enr_${seed}` });
        let r = advance(d, s, { type: "start" }, T0);
        let now = T0;
        for (let i = 0; i < 50 && r.state.status === "waiting"; i++) {
          expect(r.wakeAt).not.toBeNull();
          now = r.wakeAt as number;
          s = r.state;
          r = advance(d, s, { type: "wake" }, now);
        }
        expect(["waiting", "completed"]).toContain(r.state.status);
        if (r.state.status === "waiting") {
          expect(r.wakeAt).toBeGreaterThan(0);
        }
      }),
      { numRuns: 300 },
    );
    // Every generated graph ran, and a fair share of them had a loop through a pause.
    expect(exercised).toBe(300);
    expect(looped).toBeGreaterThan(30);
  });
});

describe("dry run", () => {
  it("merges sample data over the fixture, skips delays in simulated time and stubs effects", () => {
    const d = def([
      email("e1"),
      { id: "d1", type: "delay", config: { amount: 3, unit: "days" } },
      { id: "u", type: "update_contact", config: { data: { stage: "nurtured" } } },
      { id: "w", type: "webhook", config: { url: "https://example.com/hook" } },
    ]);
    const out = dryRun(d, {
      profile: "demo",
      sampleData: { firstName: "Grace", extra: 1 },
      variables: {},
      startAt: T0,
      timezone: "America/New_York",
      templateSubjects: {},
    });
    expect(out.finalStatus).toBe("completed");
    expect(out.sampleData).toMatchObject({
      firstName: "Grace",
      lastName: "Lovelace",
      company: "Analytical Engines Ltd",
      extra: 1,
      stage: "nurtured",
    });
    expect(out.trace.map((t) => t.stepId)).toEqual(["e1", "d1", "u", "w"]);
    expect(out.trace[0].message).toBe(
      '[test] Would send "Hi {{ contact.firstName }}" to ada@example.com',
    );
    expect(out.trace[3].message).toBe("[test] Would call POST https://example.com/hook");
    expect(new Set(out.trace.map((t) => t.simulatedAt))).toEqual(
      new Set([new Date(T0).toISOString()]),
    );
  });

  it("applies send windows and local-time delays in simulated time", () => {
    const d = def(
      [{ id: "d", type: "delay", config: { untilLocalTime: "09:00" } }, email("e1")],
      undefined,
      {
        sendWindow: { days: ["mon"], start: "10:00", end: "11:00" },
      },
    );
    const out = dryRun(d, {
      profile: "minimal",
      sampleData: {},
      variables: {},
      startAt: Date.parse("2026-03-07T15:00:00Z"),
      timezone: "America/New_York",
      templateSubjects: {},
    });
    const sent = out.trace.find((t) => t.stepId === "e1" && t.outcome === "sent");
    expect(sent?.simulatedAt).toBe("2026-03-09T14:00:00.000Z"); // Monday 10:00 EDT
  });
});
