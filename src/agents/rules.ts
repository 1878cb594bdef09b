// Agents, the pure part: an agent's configuration and execution policy, the transparent
// lead-scoring model read from that configuration, the day an execution counts in, and the
// redaction of personal data from the model exchanges kept for review.
import { type Schema, Validator } from "@cfworker/json-schema";
import { z } from "@hono/zod-openapi";
import { capReopens } from "../engine/governance";
import { dayKey } from "../engine/metrics";
import type { Admission, ExecutionPolicy } from "../ground/rpc";

export const AGENT_TYPES = ["workflow", "template", "code"] as const;
export type AgentType = (typeof AGENT_TYPES)[number];

// ---- configuration -------------------------------------------------------------------------

export const MAX_CONFIGURATION_BYTES = 16 * 1024;

export type Configuration = Record<string, string | number | boolean>;

/** A flat map of strings, numbers and booleans (≤ 16 KiB as JSON); scoring keys are checked too. */
export const ConfigurationSchema = z
  .record(
    z
      .string()
      .min(1)
      .max(200)
      .regex(/^[\w.:@/-]+$/, "Letters, digits and . _ : @ / - only"),
    z.union([
      z
        .string()
        .max(8_000)
        // Control characters other than tab and newline have no place in a setting.
        // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
        .transform((s) => s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, "")),
      z.number().finite(),
      z.boolean(),
    ]),
  )
  .superRefine((value, ctx) => {
    const bytes = new TextEncoder().encode(JSON.stringify(value)).length;
    if (bytes > MAX_CONFIGURATION_BYTES) {
      ctx.addIssue({
        code: "custom",
        message: `The configuration is ${bytes} bytes; at most ${MAX_CONFIGURATION_BYTES} are allowed`,
      });
    }
    for (const p of scoringProblems(value as Configuration)) {
      ctx.addIssue({ code: "custom", path: [p.key], message: p.message });
    }
  })
  .openapi("AgentConfiguration", {
    description:
      "A flat map of settings (strings, numbers, booleans; ≤ 16 KiB), rendered into template prompts as `configuration`. Keys under `score.` configure lead scoring (see POST /v1/agents/{id}/score_lead).",
    example: { tone: "friendly", "score.field.data.title": 10, "score.event.demo_requested": 30 },
  });

// ---- execution policy ----------------------------------------------------------------------

export const ExecutionPolicySchema = z
  .strictObject({
    maxConcurrent: z.number().int().min(1).max(100).nullable().default(5).openapi({
      description: "Executions running at once (null: no limit); more wait in `queued`",
    }),
    maxPerDay: z.number().int().min(1).max(1_000_000).nullable().default(null).openapi({
      description:
        "Executions started per day in the org's reporting time zone; more wait in `queued` until the next day",
    }),
    budgetUsdPerDay: z.number().min(0).max(1_000_000).nullable().default(null).openapi({
      description:
        "Model spend per day (org time zone); once spent, new executions fail with `budget_exhausted` until the next day",
    }),
    retries: z.number().int().min(0).max(5).default(2).openapi({
      description: "Retries of a failed model or endpoint call (timeouts, 429, 5xx)",
    }),
    timeoutSeconds: z.number().int().min(1).max(300).default(30).openapi({
      description: "Per attempt; inference is capped at 30 s whatever this says",
    }),
  })
  .openapi("ExecutionPolicy");

// The stored and RPC shape is declared on the ground floor; parsing the defaults into it below
// checks that the schema produces it.
export type { Admission, ExecutionPolicy };

export const DEFAULT_POLICY: ExecutionPolicy = ExecutionPolicySchema.parse({});

/** The day (org time zone) an execution counts in for `maxPerDay` and the budget, and when it ends. */
export function policyDay(now: number, tz: string): { day: string; endsAt: number } {
  return { day: dayKey(now, tz), endsAt: capReopens(now, tz, "day") };
}

// ---- lead scoring --------------------------------------------------------------------------

/** What the scoring rules read about a contact (counted over the last `days`). */
export interface ScoringFacts {
  contact: Record<string, unknown>;
  events: Record<string, number>;
  engagement: { opened: number; clicked: number; replied: number };
  tasks: Record<string, number>;
}

export interface ScoringRules {
  base: number;
  days: number;
  fields: { path: string; points: number; equals?: string | number | boolean }[];
  counted: { kind: "event" | "engagement" | "task"; name: string; points: number; max?: number }[];
  llm: { templateId: string; weight: number } | null;
}

const ENGAGEMENT = ["opened", "clicked", "replied"] as const;
const COUNTED = { event: "event", engagement: "engagement", task: "task" } as const;

/**
 * Reads the `score.` keys of a configuration:
 * `score.base`, `score.days` (default 30), `score.field.<path>` (+ `.equals`),
 * `score.event.<name>`, `score.engagement.opened|clicked|replied`, `score.task.<outcome>`
 * (each with an optional `.max`), `score.llm.templateId` and `score.llm.weight` (0–1, default 0.5).
 */
export function scoringRules(config: Configuration): ScoringRules {
  const num = (k: string, d: number) => (typeof config[k] === "number" ? (config[k] as number) : d);
  const rules: ScoringRules = {
    base: num("score.base", 0),
    days: num("score.days", 30),
    fields: [],
    counted: [],
    llm:
      typeof config["score.llm.templateId"] === "string"
        ? {
            templateId: config["score.llm.templateId"] as string,
            weight: num("score.llm.weight", 0.5),
          }
        : null,
  };
  for (const [key, value] of Object.entries(config)) {
    if (typeof value !== "number" || key.endsWith(".max")) {
      continue;
    }
    const field = /^score\.field\.(.+)$/.exec(key);
    if (field && !key.endsWith(".equals")) {
      const equals = config[`${key}.equals`];
      rules.fields.push({
        path: field[1],
        points: value,
        ...(equals !== undefined ? { equals } : {}),
      });
      continue;
    }
    const counted = /^score\.(event|engagement|task)\.(.+)$/.exec(key);
    if (counted) {
      const max = config[`${key}.max`];
      rules.counted.push({
        kind: COUNTED[counted[1] as keyof typeof COUNTED],
        name: counted[2],
        points: value,
        ...(typeof max === "number" ? { max } : {}),
      });
    }
  }
  return rules;
}

/** Problems with the `score.` keys, so a mistyped weight is refused when the agent is saved. */
export function scoringProblems(config: Configuration): { key: string; message: string }[] {
  const out: { key: string; message: string }[] = [];
  const number = (key: string) => {
    if (typeof config[key] !== "number") {
      out.push({ key, message: "A number" });
      return false;
    }
    return true;
  };
  for (const key of Object.keys(config)) {
    if (!key.startsWith("score.")) {
      continue;
    }
    if (key === "score.base") {
      number(key);
    } else if (key === "score.days") {
      if (
        number(key) &&
        !(
          Number.isInteger(config[key]) &&
          (config[key] as number) >= 1 &&
          (config[key] as number) <= 365
        )
      ) {
        out.push({ key, message: "Whole days from 1 to 365" });
      }
    } else if (key === "score.llm.templateId") {
      if (typeof config[key] !== "string") {
        out.push({ key, message: "An agent template id (atp_…)" });
      }
    } else if (key === "score.llm.weight") {
      if (number(key) && ((config[key] as number) < 0 || (config[key] as number) > 1)) {
        out.push({ key, message: "From 0 to 1" });
      }
    } else if (/^score\.field\..+\.equals$/.test(key)) {
      if (config[key.slice(0, -".equals".length)] === undefined) {
        out.push({ key, message: `Set ${key.slice(0, -".equals".length)} (the points) too` });
      }
    } else if (
      /^score\.(field|event|task)\..+$/.test(key) ||
      /^score\.engagement\.(opened|clicked|replied)(\.max)?$/.test(key)
    ) {
      number(key);
    } else {
      out.push({
        key,
        message:
          "Not a scoring key: score.base, score.days, score.field.<path>[.equals], score.event.<name>[.max], score.engagement.opened|clicked|replied[.max], score.task.<outcome>[.max], score.llm.templateId, score.llm.weight",
      });
    }
  }
  return out;
}

const valueAt = (obj: Record<string, unknown>, path: string): unknown =>
  path.split(".").reduce<unknown>((v, k) => {
    if (v && typeof v === "object" && Object.hasOwn(v, k)) {
      return (v as Record<string, unknown>)[k];
    }
    return undefined;
  }, obj);

const present = (v: unknown) => v !== undefined && v !== null && v !== "";

const signed = (n: number) => (n >= 0 ? `+${round(n)}` : `${round(n)}`);
const round = (n: number) => Math.round(n * 100) / 100;

/** The rules score (0–100) and one reason per rule that counted, largest effect first. */
export function scoreByRules(
  rules: ScoringRules,
  facts: ScoringFacts,
): { score: number; reasons: string[] } {
  let total = rules.base;
  const parts: { points: number; reason: string }[] = [];
  if (rules.base !== 0) {
    parts.push({ points: rules.base, reason: `${signed(rules.base)} base score` });
  }
  for (const f of rules.fields) {
    const v = valueAt(facts.contact, f.path);
    const hit =
      f.equals === undefined
        ? present(v)
        : typeof v === "string" && typeof f.equals === "string"
          ? v.trim().toLowerCase() === f.equals.trim().toLowerCase()
          : v === f.equals;
    if (hit) {
      total += f.points;
      parts.push({
        points: f.points,
        reason:
          f.equals === undefined
            ? `${signed(f.points)} ${f.path} is set`
            : `${signed(f.points)} ${f.path} is ${JSON.stringify(f.equals)}`,
      });
    }
  }
  for (const c of rules.counted) {
    const count =
      c.kind === "event"
        ? (facts.events[c.name] ?? 0)
        : c.kind === "task"
          ? (facts.tasks[c.name] ?? 0)
          : ENGAGEMENT.includes(c.name as (typeof ENGAGEMENT)[number])
            ? facts.engagement[c.name as (typeof ENGAGEMENT)[number]]
            : 0;
    if (count === 0) {
      continue;
    }
    const raw = count * c.points;
    const points =
      c.max === undefined ? raw : Math.sign(raw) * Math.min(Math.abs(raw), Math.abs(c.max));
    total += points;
    const what =
      c.kind === "event"
        ? `event "${c.name}"`
        : c.kind === "task"
          ? `task outcome "${c.name}"`
          : `email ${c.name}`;
    parts.push({
      points,
      reason: `${signed(points)} ${count} × ${what} in the last ${rules.days} days (${signed(c.points)} each${points !== raw ? `, capped at ${round(Math.abs(c.max ?? 0))}` : ""})`,
    });
  }
  parts.sort((a, b) => Math.abs(b.points) - Math.abs(a.points));
  return { score: clampScore(total), reasons: parts.map((p) => p.reason) };
}

export const clampScore = (n: number) => Math.max(0, Math.min(100, Math.round(n)));

/** Blends the rules score with a model's judgement: (1 − weight) · rules + weight · model. */
export function blendScores(rules: number, model: number, weight: number) {
  return clampScore((1 - weight) * rules + weight * model);
}

// ---- redaction -----------------------------------------------------------------------------

/**
 * Text folded for matching, with where each folded unit came from: letters in one case
 * (upper-cased then lower-cased, so "ß" meets "SS"), every run of whitespace as one space.
 * `from[i]`–`to[i]` is the stretch of the original that folded unit `i` stands for.
 */
interface Folded {
  text: string;
  from: number[];
  to: number[];
}

const ASCII_BLANKS = new Set([9, 10, 11, 12, 13, 32]);

function fold(s: string): Folded {
  const parts: string[] = [];
  const from: number[] = [];
  const to: number[] = [];
  let i = 0;
  let blank = false;
  for (const ch of s) {
    const code = ch.charCodeAt(0);
    const isBlank = code < 128 ? ASCII_BLANKS.has(code) : /\s/.test(ch);
    if (isBlank) {
      if (blank) {
        to[to.length - 1] = i + ch.length;
      } else {
        parts.push(" ");
        from.push(i);
        to.push(i + ch.length);
      }
      blank = true;
    } else {
      blank = false;
      const f =
        code < 128
          ? code >= 65 && code <= 90
            ? String.fromCharCode(code + 32)
            : ch
          : ch.toUpperCase().toLowerCase();
      parts.push(f);
      for (let k = 0; k < f.length; k++) {
        from.push(i);
        to.push(i + ch.length);
      }
    }
    i += ch.length;
  }
  return { text: parts.join(""), from, to };
}

/** Whether the folded text has a letter or digit at `i` (outside it: no). */
const wordAt = (text: string, i: number) => {
  if (i < 0 || i >= text.length) {
    return false;
  }
  const code = text.charCodeAt(i);
  if (code < 128) {
    return (code >= 48 && code <= 57) || (code >= 97 && code <= 122) || (code >= 65 && code <= 90);
  }
  // The whole code point: a low surrogate belongs with the high one before it.
  const start = i > 0 && /[\udc00-\udfff]/.test(text[i]) ? i - 1 : i;
  return /[\p{L}\p{N}]/u.test(String.fromCodePoint(text.codePointAt(start) ?? 0));
};

/** What to look for: a declared value (folded), the path it is replaced by, how to match. */
interface Needle {
  text: string;
  path: string;
  /** A derived form (an email's local part): not a whole value, so only as a whole word. */
  word: boolean;
}

function needles(scope: Record<string, unknown>, paths: string[]): Needle[] {
  const out: Needle[] = [];
  for (const path of paths) {
    const v = valueAt(scope, path);
    if (typeof v !== "string" && typeof v !== "number") {
      continue;
    }
    const value = String(v).trim();
    if (value.length < 2) {
      continue;
    }
    out.push({ text: fold(value).text, path, word: false });
    const at = value.lastIndexOf("@");
    if (typeof v === "string" && at > 0 && at < value.length - 1) {
      const local = fold(value.slice(0, at).trim()).text;
      if (local.length >= 3) {
        out.push({ text: local, path, word: true });
      }
    }
  }
  // Longest first, so a value inside another goes with it; whole values before derived forms.
  return out.sort((a, b) => b.text.length - a.text.length || Number(a.word) - Number(b.word));
}

/**
 * The text with the values found at `paths` in `scope` (strings and numbers of 2+ characters)
 * replaced by `[redacted:<path>]`, longest value first so a value inside another goes too.
 * A value is found whatever its case and whitespace (a model repeating "ADA LOVELACE" or
 * "ada\n lovelace" for "Ada Lovelace"), and an email's local part (3+ characters) as a whole
 * word too ("Ada" for ada@example.com). Values are looked up with `indexOf` over the folded
 * text, never a pattern built from them, and each unit of the text is examined a bounded
 * number of times per value: linear in the text for a given set of fields.
 */
export function redact(text: string, scope: Record<string, unknown>, paths: string[]): string {
  const wanted = needles(scope, paths);
  if (wanted.length === 0 || text.length === 0) {
    return text;
  }
  const folded = fold(text);
  const t = folded.text;
  // taken[i]: the end (exclusive) of the replaced stretch covering folded unit i, else 0.
  const taken = new Int32Array(t.length);
  const hits: { start: number; end: number; path: string }[] = [];
  for (const n of wanted) {
    let p = 0;
    for (;;) {
      const s = t.indexOf(n.text, p);
      if (s < 0) {
        break;
      }
      const e = s + n.text.length;
      let clash = -1;
      for (let j = s; j < e; j++) {
        if (taken[j] !== 0) {
          clash = j;
          break;
        }
      }
      if (clash >= 0) {
        // Every later start before that stretch's end overlaps it too.
        p = taken[clash];
        continue;
      }
      if (n.word && (wordAt(t, s - 1) || wordAt(t, e))) {
        p = s + 1;
        continue;
      }
      taken.fill(e, s, e);
      hits.push({ start: folded.from[s], end: folded.to[e - 1], path: n.path });
      p = e;
    }
  }
  hits.sort((a, b) => a.start - b.start);
  let out = "";
  let at = 0;
  for (const h of hits) {
    // Two stretches may share an original character that folded into two units ("ß" → "ss").
    out += `${text.slice(at, Math.max(at, h.start))}[redacted:${h.path}]`;
    at = Math.max(at, h.end);
  }
  return out + text.slice(at);
}

// ---- the execution gate --------------------------------------------------------------------

/** What an agent's gate keeps: who runs (with a lease), who waits (in order), today's counts. */
export interface GateBook {
  /** Execution id → lease end: a run whose worker vanished frees its slot then. */
  running: Record<string, number>;
  waiting: string[];
  day: string;
  started: number;
  spentUsd: number;
}

export const EMPTY_GATE: GateBook = { running: {}, waiting: [], day: "", started: 0, spentUsd: 0 };

/**
 * The model turns one run may take: the question, then once more with the validation errors
 * fed back (model-call.ts).
 */
export const MODEL_TURNS = 2;

/** The longest wait before a retry (run.ts caps its backoff there, a Retry-After included). */
export const RETRY_WAIT_CAP_SECONDS = 20;

/**
 * How long a run may hold its slot: every turn it can take with every attempt timing out and
 * the longest backoffs between them, plus a margin for the rest of the run (rendering, the
 * database, the webhook). Shorter, and a slow run that is still going loses its slot to the
 * next while its second turn is under way, overrunning `maxConcurrent`.
 */
export const leaseMs = (p: ExecutionPolicy) =>
  (MODEL_TURNS * (p.timeoutSeconds * (p.retries + 1) + RETRY_WAIT_CAP_SECONDS * p.retries) + 120) *
  1000;

/** The book as of `now`: expired leases dropped, the day's counters reset on a new day. */
export function current(book: GateBook, now: number, tz: string): GateBook {
  const { day } = policyDay(now, tz);
  const running = Object.fromEntries(
    Object.entries(book.running).filter(([, until]) => until > now),
  );
  return book.day === day
    ? { ...book, running }
    : { running, waiting: book.waiting, day, started: 0, spentUsd: 0 };
}

const budgetSpent = (b: GateBook, p: ExecutionPolicy) =>
  p.budgetUsdPerDay !== null && b.spentUsd >= p.budgetUsdPerDay;
const hasRoom = (b: GateBook, p: ExecutionPolicy) =>
  (p.maxConcurrent === null || Object.keys(b.running).length < p.maxConcurrent) &&
  (p.maxPerDay === null || b.started < p.maxPerDay);

/**
 * Admits an execution: `run` (it holds a slot; asking again while it holds one says `run`
 * again), `wait` (queued behind the others, released in order), or `budget_exhausted`.
 */
export function admit(
  book: GateBook,
  id: string,
  policy: ExecutionPolicy,
  now: number,
  tz: string,
  waits = true,
): { verdict: Admission; book: GateBook } {
  const b = current(book, now, tz);
  if (Object.hasOwn(b.running, id)) {
    return { verdict: "run", book: b };
  }
  if (budgetSpent(b, policy)) {
    return {
      verdict: "budget_exhausted",
      book: { ...b, waiting: b.waiting.filter((w) => w !== id) },
    };
  }
  const ahead = b.waiting.filter((w) => w !== id);
  if (ahead.length === 0 && hasRoom(b, policy)) {
    return {
      verdict: "run",
      book: {
        ...b,
        waiting: [],
        running: { ...b.running, [id]: now + leaseMs(policy) },
        started: b.started + 1,
      },
    };
  }
  if (!waits) {
    return { verdict: "busy", book: b };
  }
  return {
    verdict: "wait",
    book: { ...b, waiting: b.waiting.includes(id) ? b.waiting : [...b.waiting, id] },
  };
}

/**
 * Ends a run (adding its cost to the day's spend), then hands free slots to the waiting in
 * order: `admitted` now hold a slot and must be sent on to run.
 */
export function release(
  book: GateBook,
  id: string | null,
  costUsd: number,
  policy: ExecutionPolicy,
  now: number,
  tz: string,
): { book: GateBook; admitted: string[] } {
  let b = current(book, now, tz);
  if (id !== null) {
    const { [id]: _, ...running } = b.running;
    b = {
      ...b,
      running,
      waiting: b.waiting.filter((w) => w !== id),
      spentUsd: b.spentUsd + costUsd,
    };
  }
  const admitted: string[] = [];
  while (b.waiting.length > 0 && hasRoom(b, policy)) {
    const next = b.waiting[0];
    admitted.push(next);
    // An exhausted budget still lets the waiting go on: each is then refused on admission.
    b = budgetSpent(b, policy)
      ? { ...b, waiting: b.waiting.slice(1) }
      : {
          ...b,
          waiting: b.waiting.slice(1),
          running: { ...b.running, [next]: now + leaseMs(policy) },
          started: b.started + 1,
        };
  }
  return { book: b, admitted };
}

/** When the gate must look again while some wait: the next day, or the first lease to lapse. */
export function gateWakeAt(book: GateBook, now: number, tz: string): number | null {
  if (book.waiting.length === 0) {
    return null;
  }
  const leases = Object.values(book.running);
  return Math.min(policyDay(now, tz).endsAt, ...leases);
}

// ---- output schemas ------------------------------------------------------------------------

const JSON_TYPES = new Set(["object", "array", "string", "number", "integer", "boolean", "null"]);
const SCHEMA_MAPS = ["properties", "patternProperties", "$defs", "definitions"];
const SCHEMA_LISTS = ["anyOf", "oneOf", "allOf", "prefixItems"];
const SCHEMA_ONES = ["items", "additionalProperties", "not", "contains", "if", "then", "else"];

/**
 * Problems with an output JSON Schema, found when a template is saved: the root must describe
 * an object (what structured-output APIs accept), keywords must have the right shapes, and
 * every `$ref` must resolve.
 */
export function schemaProblems(schema: unknown): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  if (!schema || typeof schema !== "object" || Array.isArray(schema)) {
    return [{ path: "", message: "A JSON Schema object" }];
  }
  if ((schema as Record<string, unknown>).type !== "object") {
    out.push({
      path: "type",
      message: 'The root must be `"type": "object"` (structured output is an object)',
    });
  }
  const walk = (node: unknown, path: string, depth: number) => {
    if (typeof node === "boolean") {
      return;
    }
    if (!node || typeof node !== "object" || Array.isArray(node)) {
      out.push({ path, message: "A schema (an object or a boolean)" });
      return;
    }
    if (depth > 32) {
      out.push({ path, message: "Nested more than 32 levels" });
      return;
    }
    const n = node as Record<string, unknown>;
    const at = (k: string) => (path ? `${path}.${k}` : k);
    if (n.type !== undefined) {
      const types = Array.isArray(n.type) ? n.type : [n.type];
      if (types.length === 0 || !types.every((t) => typeof t === "string" && JSON_TYPES.has(t))) {
        out.push({
          path: at("type"),
          message: `One of ${[...JSON_TYPES].join(", ")} (or a list of them)`,
        });
      }
    }
    if (
      n.required !== undefined &&
      !(Array.isArray(n.required) && n.required.every((r) => typeof r === "string"))
    ) {
      out.push({ path: at("required"), message: "A list of property names" });
    }
    if (n.$ref !== undefined && (typeof n.$ref !== "string" || !resolves(schema, n.$ref))) {
      out.push({ path: at("$ref"), message: "Not a reference within this schema (#/$defs/…)" });
    }
    if (n.enum !== undefined && !Array.isArray(n.enum)) {
      out.push({ path: at("enum"), message: "A list of values" });
    }
    for (const k of SCHEMA_MAPS) {
      if (n[k] === undefined) {
        continue;
      }
      if (!n[k] || typeof n[k] !== "object" || Array.isArray(n[k])) {
        out.push({ path: at(k), message: "An object of schemas" });
        continue;
      }
      for (const [name, sub] of Object.entries(n[k] as object)) {
        walk(sub, at(`${k}.${name}`), depth + 1);
      }
    }
    for (const k of SCHEMA_LISTS) {
      if (n[k] === undefined) {
        continue;
      }
      if (!Array.isArray(n[k])) {
        out.push({ path: at(k), message: "A list of schemas" });
        continue;
      }
      for (const [i, sub] of (n[k] as unknown[]).entries()) {
        walk(sub, at(`${k}.${i}`), depth + 1);
      }
    }
    for (const k of SCHEMA_ONES) {
      if (n[k] !== undefined) {
        walk(n[k], at(k), depth + 1);
      }
    }
  };
  walk(schema, "", 0);
  if (out.length === 0) {
    try {
      new Validator(schema as Schema, "2020-12", false).validate({});
    } catch (err) {
      out.push({ path: "", message: `Not usable: ${(err as Error).message}` });
    }
  }
  return out;
}

/** Whether a local reference (`#`, `#/$defs/x`) points at something in the schema. */
function resolves(root: object, ref: string): boolean {
  if (!ref.startsWith("#")) {
    return false;
  }
  let node: unknown = root;
  for (const raw of ref.slice(1).split("/").filter(Boolean)) {
    const key = decodeURIComponent(raw).replaceAll("~1", "/").replaceAll("~0", "~");
    if (!node || typeof node !== "object" || !Object.hasOwn(node, key)) {
      return false;
    }
    node = (node as Record<string, unknown>)[key];
  }
  return node !== undefined;
}

/**
 * The longest answer read (characters): well above what the largest `maxTokens` (32,000) can
 * produce, so only a runaway or hostile answer is refused unread.
 */
export const MAX_ANSWER_CHARS = 256 * 1024;

/**
 * The JSON inside a Markdown code fence (```json … ``` or ``` … ```), else the text itself:
 * found with string operations, linear in the length (a regular expression with a lazy
 * capture between two `\s*` runs took time cubic in a long run of blanks).
 */
function unfence(text: string): string {
  const t = text.trim();
  if (!t.startsWith("```") || t.length < 6 || !t.endsWith("```")) {
    return t;
  }
  let body = t.slice(3, -3);
  // The fence's language tag, if any ("json" in any case), is not part of the content.
  if (body.slice(0, 4).toLowerCase() === "json") {
    body = body.slice(4);
  }
  return body.trim();
}

/** The answer parsed and checked against the schema: the value, or the errors to feed back. */
export function checkOutput(
  text: string,
  schema: Record<string, unknown>,
): { ok: true; value: unknown } | { ok: false; errors: string[] } {
  if (text.length > MAX_ANSWER_CHARS) {
    return {
      ok: false,
      errors: [`Not read: the answer is longer than ${MAX_ANSWER_CHARS} characters`],
    };
  }
  let value: unknown;
  try {
    // Models sometimes fence JSON in a code block despite being asked not to.
    value = JSON.parse(unfence(text));
  } catch (err) {
    return { ok: false, errors: [`Not JSON: ${(err as Error).message}`] };
  }
  const result = new Validator(schema as Schema, "2020-12", false).validate(value);
  if (result.valid) {
    return { ok: true, value };
  }
  const errors = result.errors
    .filter((e) => e.keyword !== "properties" || result.errors.length === 1)
    .slice(0, 10)
    .map((e) => `${e.instanceLocation || "#"}: ${e.error}`);
  return { ok: false, errors };
}
