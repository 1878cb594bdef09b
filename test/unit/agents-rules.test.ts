// The agents' pure rules at their edges: each gate decision (leases, order, concurrency, the
// day's count and budget), the scoring keys and their problems, redaction and output schemas.
import { describe, expect, it } from "vitest";
import {
  admit,
  blendScores,
  type Configuration,
  ConfigurationSchema,
  checkOutput,
  current,
  DEFAULT_POLICY,
  EMPTY_GATE,
  type ExecutionPolicy,
  ExecutionPolicySchema,
  type GateBook,
  gateWakeAt,
  leaseMs,
  policyDay,
  redact,
  release,
  schemaProblems,
  scoreByRules,
  scoringProblems,
  scoringRules,
} from "../../src/agents/rules";

const T0 = Date.parse("2026-11-26T10:00:00Z");
const policy = (p: Partial<ExecutionPolicy>): ExecutionPolicy => ({ ...DEFAULT_POLICY, ...p });
const book = (b: Partial<GateBook>): GateBook => ({ ...EMPTY_GATE, day: "2026-11-26", ...b });

describe("the gate's clock", () => {
  it("leases a run for both model turns, every attempt timing out and the retry waits, plus two minutes", () => {
    expect(DEFAULT_POLICY).toEqual({
      maxConcurrent: 5,
      maxPerDay: null,
      budgetUsdPerDay: null,
      retries: 2,
      timeoutSeconds: 30,
    });
    expect(leaseMs(DEFAULT_POLICY)).toBe(380_000);
    expect(leaseMs(policy({ timeoutSeconds: 10, retries: 0 }))).toBe(140_000);
  });

  it("counts days in the org's zone and ends them at its midnight", () => {
    expect(policyDay(Date.parse("2026-11-26T23:30:00Z"), "Europe/Paris")).toEqual({
      day: "2026-11-27",
      endsAt: Date.parse("2026-11-27T23:00:00Z"),
    });
  });

  it("drops leases at their end and resets the day's counters on a new day only", () => {
    const b = book({ running: { a: T0, b: T0 + 1 }, waiting: ["w"], started: 3, spentUsd: 2 });
    expect(current(b, T0, "UTC")).toEqual({ ...b, running: { b: T0 + 1 } });
    const next = Date.parse("2026-11-27T00:00:00Z");
    expect(current({ ...b, running: { b: next + 5 } }, next, "UTC")).toEqual({
      running: { b: next + 5 },
      waiting: ["w"],
      day: "2026-11-27",
      started: 0,
      spentUsd: 0,
    });
  });
});

describe("the execution policy", () => {
  it("takes each limit within its bounds, null for no limit where allowed", () => {
    const ok = (p: Record<string, unknown>) => ExecutionPolicySchema.safeParse(p).success;
    for (const [key, low, high] of [
      ["maxConcurrent", 1, 100],
      ["maxPerDay", 1, 1_000_000],
      ["budgetUsdPerDay", 0, 1_000_000],
      ["retries", 0, 5],
      ["timeoutSeconds", 1, 300],
    ] as const) {
      expect([ok({ [key]: low }), ok({ [key]: high })]).toEqual([true, true]);
      expect([ok({ [key]: low - 1 }), ok({ [key]: high + 1 })]).toEqual([false, false]);
    }
    expect(ok({ maxConcurrent: null, maxPerDay: null, budgetUsdPerDay: null })).toBe(true);
    expect(ok({ retries: null })).toBe(false);
    expect(ok({ budgetUsdPerDay: 0.5 })).toBe(true);
    expect(ok({ maxPerDay: 1.5 })).toBe(false);
    expect(ok({ priority: 1 })).toBe(false);
  });
});

describe("admit", () => {
  it("runs an execution with room, leasing its slot and counting it", () => {
    const r = admit(book({}), "a", DEFAULT_POLICY, T0, "UTC");
    expect(r).toEqual({
      verdict: "run",
      book: book({ running: { a: T0 + 380_000 }, started: 1 }),
    });
    // Asking again while it holds the slot: run, counted once.
    expect(admit(r.book, "a", DEFAULT_POLICY, T0 + 5, "UTC")).toEqual({
      verdict: "run",
      book: r.book,
    });
  });

  it("fills maxConcurrent exactly, then queues in order without repeats", () => {
    const p = policy({ maxConcurrent: 2 });
    let b = book({});
    const verdicts: string[] = [];
    for (const id of ["a", "b", "c", "d", "c"]) {
      const r = admit(b, id, p, T0, "UTC");
      verdicts.push(r.verdict);
      b = r.book;
    }
    expect(verdicts).toEqual(["run", "run", "wait", "wait", "wait"]);
    expect(b.waiting).toEqual(["c", "d"]);
    expect(b.started).toBe(2);
  });

  it("runs a waiting execution that asks again only once nobody else waits (release hands out the rest)", () => {
    const two = book({ waiting: ["c", "d"] });
    expect(admit(two, "c", DEFAULT_POLICY, T0, "UTC")).toEqual({ verdict: "wait", book: two });
    expect(admit(two, "d", DEFAULT_POLICY, T0, "UTC").verdict).toBe("wait");
    const alone = admit(book({ waiting: ["c"] }), "c", DEFAULT_POLICY, T0, "UTC");
    expect(alone.verdict).toBe("run");
    expect(alone.book.waiting).toEqual([]);
  });

  it("stops at maxPerDay and runs without limits when both are null", () => {
    expect(admit(book({ started: 2 }), "a", policy({ maxPerDay: 2 }), T0, "UTC").verdict).toBe(
      "wait",
    );
    expect(admit(book({ started: 1 }), "a", policy({ maxPerDay: 2 }), T0, "UTC").verdict).toBe(
      "run",
    );
    const running = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`r${i}`, T0 + 1000]));
    const free = policy({ maxConcurrent: null, maxPerDay: null });
    expect(admit(book({ running, started: 10_000 }), "a", free, T0, "UTC").verdict).toBe("run");
  });

  it("refuses once the day's spend reaches the budget, dropping the refused from the queue", () => {
    const p = policy({ budgetUsdPerDay: 1 });
    const spent = book({ spentUsd: 1, waiting: ["a", "b"] });
    expect(admit(spent, "a", p, T0, "UTC")).toEqual({
      verdict: "budget_exhausted",
      book: { ...spent, waiting: ["b"] },
    });
    expect(admit(book({ spentUsd: 0.99 }), "a", p, T0, "UTC").verdict).toBe("run");
    expect(
      admit(book({ spentUsd: 0 }), "a", policy({ budgetUsdPerDay: 0 }), T0, "UTC").verdict,
    ).toBe("budget_exhausted");
    expect(admit(book({ spentUsd: 1e9 }), "a", DEFAULT_POLICY, T0, "UTC").verdict).toBe("run");
  });

  it("answers busy to a synchronous call without queueing it", () => {
    const full = book({ running: { x: T0 + 1000 } });
    expect(admit(full, "a", policy({ maxConcurrent: 1 }), T0, "UTC", false)).toEqual({
      verdict: "busy",
      book: full,
    });
  });
});

describe("release", () => {
  it("ends a run, adds its cost, and hands the freed slot to the first waiting", () => {
    const p = policy({ maxConcurrent: 1 });
    const b = book({ running: { a: T0 + 1000 }, waiting: ["b", "c"], started: 1, spentUsd: 0.5 });
    expect(release(b, "a", 0.25, p, T0, "UTC")).toEqual({
      admitted: ["b"],
      book: book({ running: { b: T0 + 380_000 }, waiting: ["c"], started: 2, spentUsd: 0.75 }),
    });
  });

  it("hands out as many slots as are free, and none when a release names no run", () => {
    const p = policy({ maxConcurrent: 3 });
    const b = book({ running: { a: T0 + 1000 }, waiting: ["b", "c", "d"], started: 1 });
    const r = release(b, null, 5, p, T0, "UTC");
    expect(r.admitted).toEqual(["b", "c"]);
    expect(r.book.spentUsd).toBe(0);
    expect(r.book.waiting).toEqual(["d"]);
    expect(Object.keys(r.book.running).sort()).toEqual(["a", "b", "c"]);
    expect(release(book({}), null, 0, p, T0, "UTC")).toEqual({ admitted: [], book: book({}) });
  });

  it("drops a released execution that was still waiting", () => {
    const r = release(
      book({ waiting: ["a"], running: { x: T0 + 1000 } }),
      "a",
      0,
      policy({ maxConcurrent: 1 }),
      T0,
      "UTC",
    );
    expect(r.book.waiting).toEqual([]);
    expect(r.admitted).toEqual([]);
  });

  it("lets the waiting go on once the budget is spent, without holding slots (each is refused on admission)", () => {
    const p = policy({ maxConcurrent: 1, budgetUsdPerDay: 1 });
    const b = book({ running: { a: T0 + 1000 }, waiting: ["b", "c"], started: 1 });
    const r = release(b, "a", 2, p, T0, "UTC");
    expect(r.admitted).toEqual(["b", "c"]);
    expect(r.book).toEqual(book({ running: {}, waiting: [], started: 1, spentUsd: 2 }));
  });
});

describe("gateWakeAt", () => {
  it("is nothing while nobody waits, else the first lapse or the day's end", () => {
    expect(gateWakeAt(book({ running: { a: T0 + 5 } }), T0, "UTC")).toBeNull();
    expect(gateWakeAt(book({ waiting: ["w"] }), T0, "UTC")).toBe(
      Date.parse("2026-11-27T00:00:00Z"),
    );
    expect(gateWakeAt(book({ waiting: ["w"], running: { a: T0 + 9, b: T0 + 5 } }), T0, "UTC")).toBe(
      T0 + 5,
    );
  });
});

describe("scoring keys", () => {
  it("read defaults, the model's template and weight, fields with equals and counted rules with max", () => {
    expect(scoringRules({})).toEqual({ base: 0, days: 30, fields: [], counted: [], llm: null });
    expect(
      scoringRules({
        "score.base": 5,
        "score.days": 7,
        "score.llm.templateId": "atp_1",
        "score.field.data.plan": 10,
        "score.field.data.plan.equals": "pro",
        "score.field.data.seats.equals": 3,
        "score.event.demo": 30,
        "score.event.demo.max": 60,
        "score.task.done": 4,
        "score.task.done.max": "x",
        "score.engagement.opened": 1,
        "score.other.thing": 9,
        "score.field.data.title": "ten",
      }),
    ).toEqual({
      base: 5,
      days: 7,
      llm: { templateId: "atp_1", weight: 0.5 },
      fields: [{ path: "data.plan", points: 10, equals: "pro" }],
      counted: [
        { kind: "event", name: "demo", points: 30, max: 60 },
        { kind: "task", name: "done", points: 4 },
        { kind: "engagement", name: "opened", points: 1 },
      ],
    });
    expect(scoringRules({ "score.llm.templateId": "atp_1", "score.llm.weight": 0.2 }).llm).toEqual({
      templateId: "atp_1",
      weight: 0.2,
    });
    expect(scoringRules({ "score.llm.templateId": 1 as never, "score.base": "5" }).llm).toBeNull();
    expect(scoringRules({ "score.base": "5" }).base).toBe(0);
  });

  it("name each problem, and leave other keys alone", () => {
    expect(
      scoringProblems({
        tone: "x",
        "score.base": "5",
        "score.days": 0,
        "score.llm.templateId": 1,
        "score.llm.weight": 1.5,
        "score.field.data.plan.equals": "pro",
        "score.event.demo": "many",
        "score.engagement.bounced": 1,
        "score.whatever": 1,
      }),
    ).toEqual([
      { key: "score.base", message: "A number" },
      { key: "score.days", message: "Whole days from 1 to 365" },
      { key: "score.llm.templateId", message: "An agent template id (atp_…)" },
      { key: "score.llm.weight", message: "From 0 to 1" },
      {
        key: "score.field.data.plan.equals",
        message: "Set score.field.data.plan (the points) too",
      },
      { key: "score.event.demo", message: "A number" },
      { key: "score.engagement.bounced", message: expect.stringContaining("Not a scoring key") },
      { key: "score.whatever", message: expect.stringContaining("Not a scoring key") },
    ]);
    const fine: Configuration[] = [
      { "score.days": 1 },
      { "score.days": 365 },
      { "score.llm.weight": 0 },
      { "score.llm.weight": 1 },
      { "score.llm.templateId": "atp_1" },
      { "score.field.data.plan": 1, "score.field.data.plan.equals": "pro" },
      { "score.engagement.clicked.max": 10, "score.engagement.replied": 5 },
      { "score.task.done.max": 3 },
    ];
    for (const ok of fine) {
      expect(scoringProblems(ok)).toEqual([]);
    }
    for (const days of [366, 1.5, -1]) {
      expect(scoringProblems({ "score.days": days })).toEqual([
        { key: "score.days", message: "Whole days from 1 to 365" },
      ]);
    }
    expect(scoringProblems({ "score.llm.weight": -0.1 })).toEqual([
      { key: "score.llm.weight", message: "From 0 to 1" },
    ]);
    expect(scoringProblems({ "score.days": "7" })).toEqual([
      { key: "score.days", message: "A number" },
    ]);
  });

  it("are checked with the configuration, which strips control characters and caps its size", () => {
    expect(ConfigurationSchema.parse({ tone: "a\u0000b\u0007c\td\ne\u007f" })).toEqual({
      tone: "abc\td\ne",
    });
    const bad = ConfigurationSchema.safeParse({ "score.days": 0 });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => [i.path.join("."), i.message])).toEqual([
      ["score.days", "Whole days from 1 to 365"],
    ]);
    const big = Object.fromEntries(
      Array.from({ length: 3 }, (_, i) => [`k${i}`, "x".repeat(6000)]),
    );
    expect(ConfigurationSchema.safeParse(big).error?.issues[0].message).toMatch(
      /^The configuration is \d+ bytes; at most 16384 are allowed$/,
    );
    // 16,384 bytes of JSON exactly is allowed, one more is not.
    const sized = (bytes: number) => {
      const c: Record<string, string> = { a: "x".repeat(8000), b: "x".repeat(8000), c: "" };
      c.c = "x".repeat(bytes - JSON.stringify(c).length);
      return c;
    };
    expect(JSON.stringify(sized(16_384)).length).toBe(16_384);
    expect(ConfigurationSchema.safeParse(sized(16_384)).success).toBe(true);
    expect(ConfigurationSchema.safeParse(sized(16_385)).success).toBe(false);
    expect(ConfigurationSchema.safeParse({ "bad key": 1 }).success).toBe(false);
    expect(ConfigurationSchema.safeParse({ "a.b:c@d/e-f_g": 1 }).success).toBe(true);
  });
});

describe("scoreByRules", () => {
  const facts = {
    contact: { data: { plan: " Pro ", seats: 3, empty: "", nil: null } },
    events: { demo: 3 },
    engagement: { opened: 0, clicked: 2, replied: 1 },
    tasks: { no_answer: 3 },
  };

  it("matches equals on text trimmed and in any case, other values exactly, and 'set' as non-empty", () => {
    const r = scoreByRules(
      scoringRules({
        "score.field.data.plan": 10,
        "score.field.data.plan.equals": "pro",
        "score.field.data.seats": 7,
        "score.field.data.seats.equals": 3,
        "score.field.data.empty": 50,
        "score.field.data.nil": 50,
        "score.field.data.missing": 50,
        "score.field.data.seats.toString": 50,
      }),
      facts,
    );
    expect(r).toEqual({ score: 17, reasons: ['+10 data.plan is "pro"', "+7 data.seats is 3"] });
    expect(
      scoreByRules(
        scoringRules({ "score.field.data.seats": 7, "score.field.data.seats.equals": "3" }),
        facts,
      ).score,
    ).toBe(0);
  });

  it("explains the base, negative caps and fractional points, largest effect first", () => {
    const r = scoreByRules(
      scoringRules({
        "score.base": 50,
        "score.task.no_answer": -5,
        "score.task.no_answer.max": 10,
        "score.engagement.clicked": 0.125,
        "score.engagement.opened": 10,
        "score.event.demo": 4,
        "score.event.none": 4,
        "score.engagement.replied": 2,
        "score.engagement.replied.max": 2,
      }),
      facts,
    );
    expect(r).toEqual({
      score: 54,
      reasons: [
        "+50 base score",
        '+12 3 × event "demo" in the last 30 days (+4 each)',
        '-10 3 × task outcome "no_answer" in the last 30 days (-5 each, capped at 10)',
        "+2 1 × email replied in the last 30 days (+2 each)",
        "+0.25 2 × email clicked in the last 30 days (+0.13 each)",
      ],
    });
    expect(scoreByRules(scoringRules({ "score.base": -5 }), facts).reasons).toEqual([
      "-5 base score",
    ]);
    expect(scoreByRules(scoringRules({ "score.base": 49.5 }), facts).score).toBe(50);
  });
});

describe("blendScores", () => {
  it("weighs the model's judgement against the rules, clamped to 0–100", () => {
    expect(blendScores(80, 20, 0.25)).toBe(65);
    expect(blendScores(80, 20, 0)).toBe(80);
    expect(blendScores(80, 20, 1)).toBe(20);
    expect(blendScores(100, 300, 0.5)).toBe(100);
    expect(blendScores(-50, 0, 0.5)).toBe(0);
  });
});

describe("redact", () => {
  it("redacts trimmed values of two characters or more, numbers too, longest first", () => {
    const scope = {
      c: { name: "  Ada  ", full: "Ada Lovelace", seats: 42, one: "X", n: 7, flag: true },
    };
    expect(
      redact("Ada Lovelace (Ada) has 42 seats, X, 7, true", scope, [
        "c.name",
        "c.full",
        "c.seats",
        "c.one",
        "c.n",
        "c.flag",
        "c.toString",
      ]),
    ).toBe("[redacted:c.full] ([redacted:c.name]) has [redacted:c.seats] seats, X, 7, true");
  });
});

describe("schemaProblems", () => {
  const obj = (extra: Record<string, unknown>) => ({ type: "object", ...extra });

  it("wants an object schema at the root", () => {
    for (const s of [null, [], "x", 3]) {
      expect(schemaProblems(s)).toEqual([{ path: "", message: "A JSON Schema object" }]);
    }
    expect(schemaProblems({ type: "array" })).toEqual([
      {
        path: "type",
        message: 'The root must be `"type": "object"` (structured output is an object)',
      },
    ]);
    expect(schemaProblems({})).toHaveLength(1);
  });

  it("checks the shape of each keyword, at its path", () => {
    expect(
      schemaProblems(
        obj({
          properties: {
            a: [],
            b: true,
            c: { type: [] },
            d: { type: ["string", "null"] },
            e: { type: 3 },
          },
          required: ["a", 1],
          enum: "x",
          anyOf: {},
          $defs: [],
          items: { type: "nope" },
          prefixItems: [{ required: "a" }],
        }),
      ),
    ).toEqual([
      { path: "required", message: "A list of property names" },
      { path: "enum", message: "A list of values" },
      { path: "properties.a", message: "A schema (an object or a boolean)" },
      {
        path: "properties.c.type",
        message: expect.stringMatching(
          /^One of object, array, string, number, integer, boolean, null/,
        ),
      },
      { path: "properties.e.type", message: expect.stringContaining("One of") },
      { path: "$defs", message: "An object of schemas" },
      { path: "anyOf", message: "A list of schemas" },
      { path: "prefixItems.0.required", message: "A list of property names" },
      { path: "items.type", message: expect.stringContaining("One of") },
    ]);
  });

  it("resolves local references, escapes included, and refuses others", () => {
    const defs = { $defs: { "a/b": { type: "string" }, "t~x": { type: "string" } } };
    expect(schemaProblems(obj({ ...defs, properties: { x: { $ref: "#/$defs/a~1b" } } }))).toEqual(
      [],
    );
    expect(schemaProblems(obj({ ...defs, properties: { x: { $ref: "#/$defs/t~0x" } } }))).toEqual(
      [],
    );
    expect(schemaProblems(obj({ properties: { x: { $ref: "#" } } }))).toEqual([]);
    for (const ref of ["#/$defs/none", "https://example.com/s.json", 3, "#/type/x"]) {
      expect(schemaProblems(obj({ ...defs, properties: { x: { $ref: ref } } }))).toEqual([
        { path: "properties.x.$ref", message: "Not a reference within this schema (#/$defs/…)" },
      ]);
    }
  });

  it("stops at 32 levels of nesting", () => {
    let deep: Record<string, unknown> = { type: "string" };
    for (let i = 0; i < 33; i++) {
      deep = { type: "object", properties: { x: deep } };
    }
    const problems = schemaProblems(deep);
    expect(problems).toEqual([
      { path: `${"properties.x.".repeat(33)}`.slice(0, -1), message: "Nested more than 32 levels" },
    ]);
    let ok: Record<string, unknown> = { type: "string" };
    for (let i = 0; i < 32; i++) {
      ok = { type: "object", properties: { x: ok } };
    }
    expect(schemaProblems(ok)).toEqual([]);
  });
});

describe("checkOutput", () => {
  const schema = {
    type: "object",
    properties: { n: { type: "integer" }, s: { type: "string" } },
    required: ["n"],
  };

  it("says why an answer is not JSON", () => {
    const r = checkOutput("nope", schema);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors).toEqual([expect.stringMatching(/^Not JSON: /)]);
    expect(checkOutput("```", schema).ok).toBe(false);
    expect(checkOutput('```json{"n":1}```', schema)).toEqual({ ok: true, value: { n: 1 } });
  });

  it("lists the schema's errors by location, without the summary line when there are others", () => {
    const r = checkOutput('{"n": "x", "s": 1}', schema);
    expect(r.ok).toBe(false);
    const errors = r.ok ? [] : r.errors;
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => e.startsWith("#/n: ") || e.startsWith("#/s: "))).toBe(true);
    const missing = checkOutput("{}", schema);
    expect(missing.ok ? [] : missing.errors).toEqual([expect.stringMatching(/^#: /)]);
    const many = {
      type: "object",
      properties: Object.fromEntries(
        Array.from({ length: 15 }, (_, i) => [`p${i}`, { type: "string" }]),
      ),
    };
    const wrong = JSON.stringify(
      Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`p${i}`, i])),
    );
    const r15 = checkOutput(wrong, many);
    expect(r15.ok ? [] : r15.errors).toHaveLength(10);
  });
});
