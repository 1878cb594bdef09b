// Delays, local times and send windows in the enrollment's time zone. Pure: `now` is an argument.
import { addLocalDays, localParts, parseHhMm, zonedTime } from "./timezones";
import {
  DAY_NAMES,
  type DayName,
  type EnrollmentState,
  type SendWindow,
  type WorkflowDefinition,
} from "./types";

export const UNIT_MS = {
  seconds: 1_000,
  minutes: 60_000,
  hours: 3_600_000,
  days: 86_400_000,
  weeks: 604_800_000,
} as const;
export type DelayUnit = keyof typeof UNIT_MS;

/** `amount` units after `now`; days and weeks keep the local wall-clock time across DST. */
export function addDelay(now: number, amount: number, unit: DelayUnit, tz: string): number {
  if (unit !== "days" && unit !== "weeks") {
    return now + amount * UNIT_MS[unit];
  }
  const days = unit === "weeks" ? amount * 7 : amount;
  if (!Number.isInteger(days)) {
    return now + days * UNIT_MS.days;
  }
  const p = localParts(now, tz);
  const d = addLocalDays(p.year, p.month, p.day, days);
  return zonedTime(tz, d.year, d.month, d.day, p.hour, p.minute) + p.second * 1000 + (now % 1000);
}

/**
 * The next instant, strictly after `now`, when the local clock reads `hhmm` on an allowed day.
 * `afterDays` first moves that many local days ahead (then the first allowed day at `hhmm`).
 */
export function nextLocalTime(
  now: number,
  tz: string,
  hhmm: string,
  allowed?: DayName[],
  afterDays = 0,
): number {
  const { hour, minute } = parseHhMm(hhmm);
  const p = localParts(now, tz);
  for (let i = afterDays; i < afterDays + 15; i++) {
    const d = addLocalDays(p.year, p.month, p.day, i);
    if (allowed && allowed.length > 0 && !allowed.includes(DAY_NAMES[d.weekday])) {
      continue;
    }
    const t = zonedTime(tz, d.year, d.month, d.day, hour, minute);
    if (t > now || (afterDays > 0 && i >= afterDays && t >= now)) {
      return t;
    }
  }
  throw new Error(`no local time ${hhmm} found in ${tz}`);
}

function minutesOfDay(hhmm: string) {
  const { hour, minute } = parseHhMm(hhmm);
  return hour * 60 + minute;
}

/** Is `now` inside the window (local days, [start, end))? */
export function inSendWindow(now: number, tz: string, w: SendWindow): boolean {
  const p = localParts(now, tz);
  if (!w.days.includes(DAY_NAMES[p.weekday])) {
    return false;
  }
  const m = p.hour * 60 + p.minute;
  return m >= minutesOfDay(w.start) && m < minutesOfDay(w.end);
}

/** `now` when inside the window, else the next moment it opens. */
export function nextWindowOpen(now: number, tz: string, w: SendWindow): number {
  if (inSendWindow(now, tz, w)) {
    return now;
  }
  const p = localParts(now, tz);
  const { hour, minute } = parseHhMm(w.start);
  for (let i = 0; i < 15; i++) {
    const d = addLocalDays(p.year, p.month, p.day, i);
    if (!w.days.includes(DAY_NAMES[d.weekday])) {
      continue;
    }
    const t = zonedTime(tz, d.year, d.month, d.day, hour, minute);
    if (t > now) {
      return t;
    }
  }
  throw new Error("send window never opens");
}

/**
 * SMS and calls are placed only between 08:00 and 21:00 in the contact's time zone (the TCPA's
 * quiet hours, applied everywhere), every day, unless the enrollment sets `bypassCallWindow`.
 * A workflow's `callWindow` narrows this; it cannot widen it.
 */
export const DEFAULT_CALL_WINDOW: SendWindow = {
  days: [...DAY_NAMES],
  start: "08:00",
  end: "21:00",
};

/** When a phone channel may act: now, or the next moment the call window opens. */
export function callWindowOpen(
  now: number,
  state: EnrollmentState,
  def: WorkflowDefinition,
): number {
  if (state.bypassCallWindow) {
    return now;
  }
  return nextWindowOpen(now, state.timezone, def.callWindow ?? DEFAULT_CALL_WINDOW);
}
