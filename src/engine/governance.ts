// Sending governance, decided in the engine: a message's category, the org's quiet hours, and
// the frequency-cap windows (calendar day and ISO week in the contact's time zone) a marketing
// send is counted in. Whether a cap still has room is decided outside (the enrollment object
// claims a slot atomically in D1) and comes back as `blocked`. Pure.
import { z } from "@hono/zod-openapi";
import { addLocalDays, localParts, parseHhMm, zonedTime } from "./timezones";
import { type Category, DAY_NAMES, type DayName, type QuietHoursWindow } from "./types";

export const CATEGORIES = ["marketing", "transactional"] as const satisfies readonly Category[];

/** The channels a cap can count, as `<channel>.marketing` keys. */
export const CAP_CHANNELS = ["email", "sms"] as const;
export type CapKey = `${(typeof CAP_CHANNELS)[number]}.marketing`;
export const CAP_KEYS = CAP_CHANNELS.map((c) => `${c}.marketing` as CapKey);

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
