// Time-zone names and local wall-clock arithmetic, correct across DST. Pure.
const validity = new Map<string, boolean>();

export function isTimeZone(tz: string): boolean {
  let ok = validity.get(tz);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: tz });
      ok = /^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/.test(tz) || tz === "UTC";
    } catch {
      ok = false;
    }
    validity.set(tz, ok);
  }
  return ok;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string) {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      weekday: "short",
    });
    formatters.set(tz, f);
  }
  return f;
}

export interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday … 6 = Saturday */
  weekday: number;
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

export function localParts(ms: number, tz: string): LocalParts {
  const parts: Record<string, string> = {};
  for (const p of formatter(tz).formatToParts(new Date(ms))) {
    parts[p.type] = p.value;
  }
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour) % 24,
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: WEEKDAYS.indexOf(parts.weekday),
  };
}

/** Offset of `tz` from UTC at instant `ms`, in ms. */
function offsetAt(ms: number, tz: string): number {
  const p = localParts(ms, tz);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - (ms - (ms % 1000));
}

/**
 * The instant at which the wall clock in `tz` reads the given local time. A time that does
 * not exist (skipped by a spring-forward) resolves to the first instant after the gap; an
 * ambiguous one (fall-back) to its first occurrence.
 */
export function zonedTime(
  tz: string,
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
): number {
  const guess = Date.UTC(year, month - 1, day, hour, minute);
  const o1 = offsetAt(guess - offsetAt(guess, tz), tz);
  const candidates = [
    guess - o1,
    guess - offsetAt(guess, tz),
    guess - offsetAt(guess - 86_400_000, tz),
    guess - offsetAt(guess + 86_400_000, tz),
  ];
  const exact = candidates.filter((t) => {
    const p = localParts(t, tz);
    return (
      p.year === year &&
      p.month === month &&
      p.day === day &&
      p.hour === hour &&
      p.minute === minute
    );
  });
  if (exact.length > 0) {
    return Math.min(...exact);
  }
  // In a DST gap: the wall time never occurs; take the moment the clock jumps past it.
  const before =
    guess - Math.max(offsetAt(guess - 86_400_000, tz), offsetAt(guess + 86_400_000, tz));
  const after =
    guess - Math.min(offsetAt(guess - 86_400_000, tz), offsetAt(guess + 86_400_000, tz));
  let lo = Math.min(before, after);
  let hi = Math.max(before, after);
  // Whole local date-times are compared, not minutes of the day: a gap at midnight (Santiago,
  // Havana, Asunción) or a skipped day (Samoa 2011) starts on the day before.
  const target = Date.UTC(year, month - 1, day, hour, minute);
  while (hi - lo > 60_000) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const p = localParts(mid, tz);
    if (Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute) < target) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return hi - (hi % 60_000);
}

/** Adds whole local days to a local date (calendar arithmetic, not 24 h steps). */
export function addLocalDays(year: number, month: number, day: number, days: number) {
  const d = new Date(Date.UTC(year, month - 1, day + days));
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    weekday: d.getUTCDay(),
  };
}

export function parseHhMm(s: string): { hour: number; minute: number } {
  const [h, m] = s.split(":").map(Number);
  return { hour: h, minute: m };
}
