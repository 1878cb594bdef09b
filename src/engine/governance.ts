// Sending governance, decided in the engine: a message's category, the org's quiet hours, and
// the frequency-cap windows (calendar day and ISO week in the contact's time zone) a marketing
// send is counted in. Whether a cap still has room is decided outside (the enrollment object
// claims a slot atomically in D1) and comes back as `blocked`. Pure.
import { z } from "zod";
import { addLocalDays, isTimeZone, localParts, parseHhMm, zonedTime } from "./timezones";
import { type Category, DAY_NAMES, type DayName, type QuietHoursWindow } from "./types";

/** What a cap counts: marketing messages of one channel. */
export type CapKey = "email.marketing" | "sms.marketing";

export const Cap = z
  .strictObject({
    perDay: z.number().int().min(0).max(1000).optional(),
    perWeek: z.number().int().min(0).max(10_000).optional(),
  })
  .refine((c) => c.perDay !== undefined || c.perWeek !== undefined, {
    message: "Give perDay, perWeek or both",
  });
export type Cap = z.infer<typeof Cap>;

const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "Use HH:MM (24 h)");

/** Hours when no marketing message goes out; `start` after `end` wraps past midnight. */
export const QuietHours = z
  .strictObject({
    days: z
      .array(z.enum(DAY_NAMES))
      .min(1)
      .default([...DAY_NAMES]),
    start: HHMM,
    end: HHMM,
  })
  .refine((q) => q.start !== q.end, { message: "start and end must differ", path: ["end"] });
export type QuietHours = QuietHoursWindow;

export interface SendingPolicy {
  caps: Partial<Record<CapKey, Cap>>;
  quietHours: QuietHours | null;
}

export const NO_POLICY: SendingPolicy = { caps: {}, quietHours: null };

const minutes = (hhmm: string) => {
  const { hour, minute } = parseHhMm(hhmm);
  return hour * 60 + minute;
};

/**
 * `now` when outside the quiet hours, else when they end. A window that wraps midnight
 * belongs to the day it starts on (22:00–07:00 on fri covers Friday night into Saturday).
 */
export function quietHoursEnd(now: number, tz: string, q: QuietHours): number {
  const p = localParts(now, tz);
  const m = p.hour * 60 + p.minute;
  const start = minutes(q.start);
  const end = minutes(q.end);
  const day = (offset: number) => DAY_NAMES[(p.weekday + 7 + offset) % 7] as DayName;
  const endOn = (offset: number) => {
    const d = addLocalDays(p.year, p.month, p.day, offset);
    const { hour, minute } = parseHhMm(q.end);
    return zonedTime(tz, d.year, d.month, d.day, hour, minute);
  };
  if (start < end) {
    return q.days.includes(day(0)) && m >= start && m < end ? endOn(0) : now;
  }
  // Wrapping: tonight's window (started today), or last night's (started yesterday).
  if (q.days.includes(day(0)) && m >= start) {
    return endOn(1);
  }
  if (q.days.includes(day(-1)) && m < end) {
    return endOn(0);
  }
  return now;
}

/** The calendar day and ISO week (both in `tz`) a send at `now` counts in. */
export function capWindows(now: number, tz: string): { day: string; week: string } {
  const p = localParts(now, tz);
  const pad = (n: number) => String(n).padStart(2, "0");
  // ISO week: the Thursday of this week decides the year.
  const dow = (p.weekday + 6) % 7; // Monday 0
  const thursday = new Date(Date.UTC(p.year, p.month - 1, p.day - dow + 3));
  const yearStart = Date.UTC(thursday.getUTCFullYear(), 0, 1);
  const week = Math.floor((thursday.getTime() - yearStart) / 86_400_000 / 7) + 1;
  return {
    day: `${p.year}-${pad(p.month)}-${pad(p.day)}`,
    week: `${thursday.getUTCFullYear()}-W${pad(week)}`,
  };
}

/** When a full cap has room again: the next local midnight, or the next local Monday. */
export function capReopens(now: number, tz: string, unit: "day" | "week"): number {
  const p = localParts(now, tz);
  const days = unit === "day" ? 1 : 7 - ((p.weekday + 6) % 7);
  const d = addLocalDays(p.year, p.month, p.day, days);
  return zonedTime(tz, d.year, d.month, d.day, 0, 0);
}

/**
 * What governs a marketing send before it goes: the org's quiet hours (when the channel has no
 * window of its own on the workflow and the enrollment does not bypass it), then the frequency
 * cap (a slot refused for this very send). Null: send. Transactional sends are not governed.
 */
export function governSend(
  ctx: {
    key: string;
    now: number;
    state: { timezone: string };
    step: { id: string };
    def: { onCap?: "defer" | "skip" };
    opts: { sending?: { quietHours: QuietHoursWindow | null; blocked: Record<string, number> } };
  },
  channel: "email" | "sms",
  category: Category,
  ownWindow: boolean,
):
  | { kind: "wait"; wait: { kind: "window"; stepId: string; until: number }; message: string }
  | { kind: "outcome"; outcome: "capped"; message: string }
  | null {
  if (category !== "marketing") {
    return null;
  }
  const what = channel === "email" ? "email" : "SMS";
  const quiet = ctx.opts.sending?.quietHours;
  if (quiet && !ownWindow) {
    const end = quietHoursEnd(ctx.now, ctx.state.timezone, quiet);
    if (end > ctx.now) {
      return {
        kind: "wait",
        wait: { kind: "window", stepId: ctx.step.id, until: end },
        message: `Inside the org's quiet hours; the marketing ${what} waits until ${new Date(end).toISOString()}`,
      };
    }
  }
  const until = ctx.opts.sending?.blocked[ctx.key];
  if (until === undefined) {
    return null;
  }
  if (ctx.def.onCap === "skip") {
    return {
      kind: "outcome",
      outcome: "capped",
      message: `Not sent: the contact reached the org's frequency cap on marketing ${what}`,
    };
  }
  return {
    kind: "wait",
    wait: { kind: "window", stepId: ctx.step.id, until },
    message: `Deferred by the org's frequency cap on marketing ${what}; waiting until ${new Date(until).toISOString()}`,
  };
}

// ---- mailbox (connection) limits -----------------------------------------------------------

/**
 * How fast one connection (mailbox) may send: a daily allowance in its time zone, a gap (plus
 * jitter) between sends, and a warm-up ramp; see nextSlot.
 */
export const MailboxLimits = z.strictObject({
  perDay: z.number().int().min(1).max(100_000).optional(),
  minGapSeconds: z.number().int().min(0).max(86_400).optional(),
  jitterSeconds: z.number().int().min(0).max(3_600).optional(),
  warmup: z
    .strictObject({
      startPerDay: z.number().int().min(1).max(100_000),
      increasePerDay: z.number().int().min(0).max(100_000),
    })
    .optional(),
  timezone: z
    .string()
    .max(100)
    .refine(isTimeZone, { message: "Must be an IANA time zone, e.g. America/New_York" })
    .optional(),
});
export type MailboxLimits = z.infer<typeof MailboxLimits>;

/** What a mailbox's scheduler remembers between slots. */
export interface MailboxBook {
  /** The latest slot handed out (epoch ms), and the local day it fell on. */
  last: number | null;
  /** Slots handed out per local day (recent days only). */
  days: Record<string, number>;
  /** The first local day a slot fell on: day 0 of the warm-up. */
  firstDay: string | null;
}

const DAY_MS = 86_400_000;

/** A deterministic fraction in [0, 1) of a key: the same send gets the same jitter. */
function fraction(key: string): number {
  let h = 2166136261;
  for (const ch of key) {
    h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  }
  return (h >>> 0) / 2 ** 32;
}

/** The day's allowance: perDay, or the warm-up ramp on its `n`th day, whichever is lower. */
export function allowance(limits: MailboxLimits, dayIndex: number): number {
  const ramp = limits.warmup
    ? limits.warmup.startPerDay + limits.warmup.increasePerDay * Math.max(0, dayIndex)
    : Number.POSITIVE_INFINITY;
  return Math.min(limits.perDay ?? Number.POSITIVE_INFINITY, ramp);
}

const dayNumber = (day: string) => Date.parse(`${day}T00:00:00Z`) / DAY_MS;

/**
 * The next slot for a send (`key`) from `now`: after the last slot by the minimum gap (plus
 * its jitter), on a local day whose allowance is not used up. Returns the slot and the book
 * with it counted.
 */
export function nextSlot(
  book: MailboxBook,
  limits: MailboxLimits,
  key: string,
  now: number,
): { at: number; book: MailboxBook } {
  const tz = limits.timezone ?? "UTC";
  const gap = ((limits.minGapSeconds ?? 0) + fraction(key) * (limits.jitterSeconds ?? 0)) * 1000;
  let at = Math.max(now, book.last === null ? now : book.last + gap);
  for (let guard = 0; guard < 400; guard++) {
    const { day } = capWindows(at, tz);
    const first = book.firstDay ?? day;
    const used = book.days[day] ?? 0;
    if (used < allowance(limits, dayNumber(day) - dayNumber(first))) {
      const days = { ...book.days, [day]: used + 1 };
      // Keep a fortnight of days: enough for today's count and the warm-up's start.
      for (const d of Object.keys(days)) {
        if (dayNumber(d) < dayNumber(day) - 14) {
          delete days[d];
        }
      }
      return { at, book: { last: at, days, firstDay: first } };
    }
    at = capReopens(at, tz, "day");
  }
  throw new Error("no slot within 400 days");
}

/**
 * Why consent stops this send, or null: a contact awaiting its double opt-in gets nothing; a
 * marketing send under a topic goes only to contacts subscribed to it (their own choice, else
 * the topic's default; an unknown topic counts as subscribed).
 */
export function consentRefusal(
  contact: Record<string, unknown>,
  category: Category,
  topic: string | undefined,
  topicDefaults: Record<string, boolean> | undefined,
): string | null {
  if (contact.consent === "pending") {
    return "the contact has not confirmed its subscription (double opt-in)";
  }
  if (category !== "marketing" || !topic) {
    return null;
  }
  const own = (contact.topics as Record<string, boolean> | undefined)?.[topic];
  const subscribed = own ?? topicDefaults?.[topic] ?? true;
  return subscribed ? null : `the contact is not subscribed to topic "${topic}"`;
}
