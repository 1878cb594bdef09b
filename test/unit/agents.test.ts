// The pure part of agents: the gate's decisions, the scoring rules, redaction, output schemas.
import { describe, expect, it } from "vitest";
import {
  admit,
  checkOutput,
  DEFAULT_POLICY,
  EMPTY_GATE,
  type ExecutionPolicy,
  type GateBook,
  gateWakeAt,
  leaseMs,
  MAX_ANSWER_CHARS,
  redact,
  release,
  schemaProblems,
  scoreByRules,
  scoringRules,
} from "../../src/agents/rules";

const T0 = Date.parse("2026-11-26T10:00:00Z");
const policy = (p: Partial<ExecutionPolicy>) => ({ ...DEFAULT_POLICY, ...p });

describe("the gate", () => {
  it("admits up to maxPerDay a day, keeps the rest waiting in order, and lets them go the next day", () => {
    const p = policy({ maxConcurrent: null, maxPerDay: 2 });
    let book: GateBook = EMPTY_GATE;
    const verdicts = [];
    for (const id of ["a", "b", "c", "d"]) {
      const r = admit(book, id, p, T0, "Europe/Paris");
      verdicts.push(r.verdict);
      book = r.book;
    }
    expect(verdicts).toEqual(["run", "run", "wait", "wait"]);
    // Ending runs frees no daily room.
    const ended = release(
      release(book, "a", 0, p, T0 + 1000, "Europe/Paris").book,
      "b",
      0,
      p,
      T0 + 1000,
      "Europe/Paris",
    );
    expect(ended.admitted).toEqual([]);
    // The gate wakes at the next local midnight (23:00 UTC in Paris in November).
    expect(gateWakeAt(ended.book, T0, "Europe/Paris")).toBe(Date.parse("2026-11-26T23:00:00Z"));
    const nextDay = release(
      ended.book,
      null,
      0,
      p,
      Date.parse("2026-11-26T23:00:01Z"),
      "Europe/Paris",
    );
    expect(nextDay.admitted).toEqual(["c", "d"]);
    expect(nextDay.book.started).toBe(2);
    // Admitted by the release: asking again says run, without counting twice.
    const again = admit(nextDay.book, "c", p, Date.parse("2026-11-26T23:00:02Z"), "Europe/Paris");
    expect(again.verdict).toBe("run");
    expect(again.book.started).toBe(2);
  });

  it("frees the slot of a run whose lease lapsed (its worker vanished)", () => {
    const p = policy({ maxConcurrent: 1, timeoutSeconds: 10, retries: 0 });
    const first = admit(EMPTY_GATE, "a", p, T0, "UTC");
    const blocked = admit(first.book, "b", p, T0 + 1000, "UTC");
    expect(blocked.verdict).toBe("wait");
    expect(gateWakeAt(blocked.book, T0, "UTC")).toBe(T0 + 140_000);
    const lapsed = release(blocked.book, null, 0, p, T0 + 140_001, "UTC");
    expect(lapsed.admitted).toEqual(["b"]);
  });

  it("holds a run's slot for every turn it can take: the answer, then the retry with the errors", () => {
    const p = policy({ maxConcurrent: 1, timeoutSeconds: 30, retries: 2 });
    // Two turns, each three attempts timing out with two 20 s backoffs: 2 × (90 + 40) s.
    const twoTurns = 2 * (30 * 3 + 20 * 2) * 1000;
    expect(leaseMs(p)).toBeGreaterThanOrEqual(twoTurns);
    // A run still in its second turn keeps its slot: nobody else gets in beside it.
    const first = admit(EMPTY_GATE, "a", p, T0, "UTC");
    expect(admit(first.book, "b", p, T0 + twoTurns - 1000, "UTC", false).verdict).toBe("busy");
    expect(
      release(first.book, null, 0, p, T0 + twoTurns - 1000, "UTC").book.running,
    ).toHaveProperty("a");
  });

  it("refuses once the budget is spent, and synchronous calls do not wait", () => {
    const p = policy({ maxConcurrent: 1, budgetUsdPerDay: 1 });
    const a = admit(EMPTY_GATE, "a", p, T0, "UTC");
    expect(admit(a.book, "sync", p, T0, "UTC", false).verdict).toBe("busy");
    const spent = release(a.book, "a", 1.5, p, T0, "UTC");
    expect(admit(spent.book, "b", p, T0, "UTC").verdict).toBe("budget_exhausted");
    expect(admit(spent.book, "b", p, T0 + 86_400_000, "UTC").verdict).toBe("run");
  });
});

describe("lead scoring rules", () => {
  const facts = {
    contact: { email: "a@b.test", phone: null, data: { title: "CEO", seats: 10 } },
    events: { visit: 7 },
    engagement: { opened: 3, clicked: 1, replied: 0 },
    tasks: { connected: 1, no_answer: 2 },
  };

  it("adds each rule's points, caps counted rules, clamps to 0–100 and explains each", () => {
    const rules = scoringRules({
      "score.field.data.title": 10,
      "score.field.phone": 50,
      "score.event.visit": 5,
      "score.event.visit.max": 20,
      "score.engagement.opened": 2,
      "score.task.no_answer": -4,
      "score.days": 14,
    });
    expect(scoreByRules(rules, facts)).toEqual({
      score: 28,
      reasons: [
        '+20 7 × event "visit" in the last 14 days (+5 each, capped at 20)',
        "+10 data.title is set",
        '-8 2 × task outcome "no_answer" in the last 14 days (-4 each)',
        "+6 3 × email opened in the last 14 days (+2 each)",
      ],
    });
    expect(scoreByRules(scoringRules({ "score.base": 150 }), facts).score).toBe(100);
    expect(scoreByRules(scoringRules({ "score.task.no_answer": -40 }), facts).score).toBe(0);
  });
});

describe("redaction and output schemas", () => {
  it("redacts the declared fields' values wherever they appear", () => {
    const scope = { input: { contact: { email: "ada@example.com", name: "Ada" } } };
    expect(
      redact("Mail ada@example.com (Ada), ada@example.com", scope, [
        "input.contact.email",
        "input.contact.name",
        "input.missing",
      ]),
    ).toBe(
      "Mail [redacted:input.contact.email] ([redacted:input.contact.name]), [redacted:input.contact.email]",
    );
  });

  it("redacts a value however a model repeats it: any case, other whitespace, an email's local part", () => {
    const scope = {
      input: { contact: { email: "Ada.L@Example.com", name: "  Ada   Lovelace ", seats: 40 } },
    };
    const paths = ["input.contact.email", "input.contact.name"];
    expect(
      redact(
        'Lead ADA LOVELACE (ada.l@EXAMPLE.COM) said "ada \n\t lovelace" is ready; Ada.L signed.',
        scope,
        paths,
      ),
    ).toBe(
      'Lead [redacted:input.contact.name] ([redacted:input.contact.email]) said "[redacted:input.contact.name]" is ready; [redacted:input.contact.email] signed.',
    );
    // The local part alone only as a whole word: inside another word it is not the person.
    expect(redact("ada.lx and xada.l stay; ADA.L goes", scope, paths)).toBe(
      "ada.lx and xada.l stay; [redacted:input.contact.email] goes",
    );
    // A local part under 3 characters is too common to take out; the whole address still goes.
    const short = { input: { contact: { email: "al@example.com" } } };
    expect(redact("Al wrote from AL@example.com", short, ["input.contact.email"])).toBe(
      "Al wrote from [redacted:input.contact.email]",
    );
    // Numbers too, and characters whose case folds to several ("ß" ~ "SS").
    const more = { input: { contact: { seats: 40, street: "Große Straße 5" } } };
    expect(
      redact("40 seats at GROSSE STRASSE 5", more, ["input.contact.seats", "input.contact.street"]),
    ).toBe("[redacted:input.contact.seats] seats at [redacted:input.contact.street]");
  });

  it("redacts in linear time: a 200 KB answer against repetitive values in under 200 ms", () => {
    // Values that nearly match everywhere: each attempt starts over a character later.
    const scope = {
      input: { contact: { email: `${"a".repeat(60)}@x.test`, name: `${"a ".repeat(500)}b` } },
    };
    const answer = `${"a ".repeat(50_000)}${"a".repeat(100_000)}`;
    const started = performance.now();
    const out = redact(answer, scope, ["input.contact.email", "input.contact.name"]);
    const took = performance.now() - started;
    expect(out).toBe(answer);
    expect(took).toBeLessThan(200);
  });

  it("finds problems in a schema and checks answers against a good one", () => {
    expect(schemaProblems({ type: "object", properties: { a: { type: "nope" } } })).toEqual([
      { path: "properties.a.type", message: expect.stringContaining("One of") },
    ]);
    expect(schemaProblems({ type: "object", properties: { a: { $ref: "#/$defs/x" } } })).toEqual([
      { path: "properties.a.$ref", message: expect.stringContaining("Not a reference") },
    ]);
    const defs = { x: { type: "string" } };
    expect(
      schemaProblems({ type: "object", $defs: defs, properties: { a: { $ref: "#/$defs/x" } } }),
    ).toEqual([]);
    const schema = { type: "object", properties: { n: { type: "integer" } }, required: ["n"] };
    expect(schemaProblems(schema)).toEqual([]);
    expect(checkOutput('```json\n{"n": 3}\n```', schema)).toEqual({ ok: true, value: { n: 3 } });
    const bad = checkOutput('{"n": "3"}', schema);
    expect(bad.ok).toBe(false);
  });

  it("reads an answer in linear time: an adversarial 100 KB fence is refused in under 50 ms", () => {
    const schema = { type: "object", properties: { n: { type: "integer" } }, required: ["n"] };
    // An opening fence, a long run of blanks and no closing fence: a lazy capture between two
    // \s* runs tries every split of the blanks (cubic in their length).
    const adversarial = `\`\`\`json${" ".repeat(100_000)}x`;
    const started = performance.now();
    const r = checkOutput(adversarial, schema);
    const took = performance.now() - started;
    expect(r.ok).toBe(false);
    expect(took).toBeLessThan(50);
    // Fenced (with or without a language, with blanks around) and bare JSON still parse.
    for (const answer of [
      '{"n": 3}',
      '  {"n": 3}\n',
      '```json\n{"n": 3}\n```',
      '```\n{"n": 3}\n```',
      '```JSON {"n": 3} ```',
      '\n```json\n\n{"n": 3}\n\n```\n',
    ]) {
      expect(checkOutput(answer, schema)).toEqual({ ok: true, value: { n: 3 } });
    }
    // A fence that is never closed is not JSON; neither is an answer past the cap.
    expect(checkOutput('```json\n{"n": 3}', schema).ok).toBe(false);
    const huge = `{"n": 3, "pad": "${"x".repeat(MAX_ANSWER_CHARS)}"}`;
    expect(checkOutput(huge, schema)).toEqual({
      ok: false,
      errors: [expect.stringContaining("longer than")],
    });
  });
});
