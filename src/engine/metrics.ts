// Analytics, pure: the metric catalog, rate definitions, day keys and buckets in a time zone,
// and the step-gap histogram the funnel reads its medians from.
import { localParts } from "./timezones";

/** Counted facts. Each is counted once, where it happens (see src/analytics/facts.ts). */
export const COUNTS = {
  enrolled: "Enrollments created",
  completed: "Enrollments that ended completed (an exit step or exit reason included)",
  cancelled: "Enrollments cancelled",
  failed: "Enrollments that ended failed",
  exited: "Enrollments that ended with an exit reason (exit step, exitOn event, reply, ...)",
  converted: "Enrollments whose contact tracked the workflow's goal event within its window",
  assigned: "Enrollments an A/B split assigned to a variant (groupBy=variant)",
  sent: "Emails handed to a provider",
  delivered: "Emails the provider reported delivered (providers with delivery receipts only)",
  bounced: "Emails that bounced",
  complained: "Emails marked as spam",
  sendFailed: "Emails that failed for good",
  suppressed: "Emails not sent: no address, unsubscribed, or suppressed",
  opened: "Human opens (repeated opens of one message within 60 s count once)",
  uniqueOpened: "Messages opened by a human at least once",
  machineOpened: "Opens by mail scanners and privacy proxies",
  clicked: "Human clicks",
  uniqueClicked: "Messages clicked by a human at least once",
  machineClicked: "Clicks by link scanners",
  replied: "Messages that got a human reply",
  autoReplied: "Messages that got an automatic reply",
  unsubscribed: "One-click unsubscribes from a message",
  smsSent: "Text messages handed to a provider (or the outbox)",
  smsDelivered: "Text messages the carrier reported delivered",
  smsFailed: "Text messages that failed or were undelivered",
  callsPlaced: "Calls placed",
  callsAnswered: "Calls answered by a person",
  callsVoicemail: "Calls that reached voicemail or a machine",
  callsNoAnswer: "Calls not answered",
  callsBusy: "Calls that found the line busy",
  callsFailed: "Calls that could not be placed or connected",
  tasksCreated: "Tasks created for people",
  tasksCompleted: "Tasks completed (any outcome)",
  tasksSkipped: "Tasks skipped",
  webhookSucceeded: "Webhook deliveries that succeeded",
  webhookFailed: "Webhook deliveries that failed for good",
} as const;
export type CountName = keyof typeof COUNTS;
export const COUNT_NAMES = Object.keys(COUNTS) as CountName[];

/**
 * What an enrollment notes about its steps (entered, completed, failed, ended there, the time
 * since the previous step): kept per step and day in step_daily, read by the funnel and stats.
 */
export type StepFact =
  | { kind: "entered" | "completed" | "failed" }
  | { kind: "gap"; bucket: number }
  | { kind: "ended"; how: string };

/** Rates, from the counts of the same period and group; null when the denominator is 0. */
export const RATES = {
  openRate: {
    of: ["uniqueOpened", "sent", "bounced"],
    doc: "uniqueOpened ÷ (sent − bounced): messages opened by a human at least once (machine opens excluded) over messages delivered, counted as sent and not bounced",
    compute: (v: Values) => ratio(v.uniqueOpened, v.sent - v.bounced),
  },
  clickRate: {
    of: ["uniqueClicked", "sent", "bounced"],
    doc: "uniqueClicked ÷ (sent − bounced) (machine clicks excluded)",
    compute: (v: Values) => ratio(v.uniqueClicked, v.sent - v.bounced),
  },
  clickToOpenRate: {
    of: ["uniqueClicked", "uniqueOpened"],
    doc: "uniqueClicked ÷ uniqueOpened",
    compute: (v: Values) => ratio(v.uniqueClicked, v.uniqueOpened),
  },
  replyRate: {
    of: ["replied", "sent"],
    doc: "replied ÷ sent (human replies; automatic replies excluded)",
    compute: (v: Values) => ratio(v.replied, v.sent),
  },
  bounceRate: {
    of: ["bounced", "sent"],
    doc: "bounced ÷ sent",
    compute: (v: Values) => ratio(v.bounced, v.sent),
  },
  complaintRate: {
    of: ["complained", "sent", "bounced"],
    doc: "complained ÷ (sent − bounced)",
    compute: (v: Values) => ratio(v.complained, v.sent - v.bounced),
  },
  unsubscribeRate: {
    of: ["unsubscribed", "sent", "bounced"],
    doc: "unsubscribed ÷ (sent − bounced)",
    compute: (v: Values) => ratio(v.unsubscribed, v.sent - v.bounced),
  },
  completionRate: {
    of: ["completed", "enrolled"],
    doc: "completed ÷ enrolled",
    compute: (v: Values) => ratio(v.completed, v.enrolled),
  },
  conversionRate: {
    of: ["converted", "enrolled", "assigned"],
    doc: "converted ÷ enrolled; grouped by variant (enrollments get theirs after enrolling): converted ÷ assigned",
    compute: (v: Values) => ratio(v.converted, v.enrolled > 0 ? v.enrolled : v.assigned),
  },
} as const satisfies Record<
  string,
  { of: readonly CountName[]; doc: string; compute: (v: Values) => number | null }
>;
export type RateName = keyof typeof RATES;
export const RATE_NAMES = Object.keys(RATES) as RateName[];
export type MetricName = CountName | RateName;
export const METRIC_NAMES: MetricName[] = [...COUNT_NAMES, ...RATE_NAMES];

export type Values = Record<CountName, number>;

function ratio(n: number, d: number): number | null {
  return d > 0 ? Math.round((n / d) * 10_000) / 10_000 : null;
}

export const zeroValues = (): Values =>
  Object.fromEntries(COUNT_NAMES.map((k) => [k, 0])) as Values;

/** The counts `names` need to be computed (a rate needs its inputs). */
export function countsNeeded(names: MetricName[]): CountName[] {
  const out = new Set<CountName>();
  for (const n of names) {
    if (n in RATES) {
      for (const c of RATES[n as RateName].of) {
        out.add(c);
      }
    } else {
      out.add(n as CountName);
    }
  }
  return [...out];
}

/** The requested metrics of `counts` (missing counts are 0), rates computed. */
export function shape(
  counts: Partial<Record<string, number>>,
  names: MetricName[],
): Record<string, number | null> {
  const v = zeroValues();
  for (const k of COUNT_NAMES) {
    v[k] = counts[k] ?? 0;
  }
  const out: Record<string, number | null> = {};
  for (const n of names) {
    out[n] = n in RATES ? RATES[n as RateName].compute(v) : v[n as CountName];
  }
  for (const [k, n] of Object.entries(counts)) {
    // Exit reasons ride along with `exited`: exited.replied, exited.unsubscribed, ...
    if (k.startsWith("exited.") && names.includes("exited")) {
      out[k] = n ?? 0;
    }
  }
  return out;
}

/** The calendar day of `ms` in `zone`, as YYYY-MM-DD. */
export function dayKey(ms: number, zone: string): string {
  const p = localParts(ms, zone);
  return `${p.year}-${pad(p.month)}-${pad(p.day)}`;
}

const pad = (n: number) => String(n).padStart(2, "0");
const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Days as UTC-midnight epoch numbers, for arithmetic on calendar days. */
export function dayNumber(day: string): number {
  const m = DAY_RE.exec(day);
  if (!m) {
    throw new Error(`Not a day: ${day}`);
  }
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / 86_400_000;
}

export function dayOfNumber(n: number): string {
  const d = new Date(n * 86_400_000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

export function isDay(s: string): boolean {
  const m = DAY_RE.exec(s);
  return !!m && dayOfNumber(dayNumber(s)) === s;
}

export type Interval = "day" | "week" | "month";

/** The bucket a day falls in: the day, the Monday of its ISO week, or the first of its month. */
export function bucketOf(day: string, interval: Interval): string {
  if (interval === "day") {
    return day;
  }
  if (interval === "month") {
    return `${day.slice(0, 7)}-01`;
  }
  const n = dayNumber(day);
  const weekday = (new Date(n * 86_400_000).getUTCDay() + 6) % 7; // Monday = 0
  return dayOfNumber(n - weekday);
}

/** Every bucket from the one holding `from` to the one holding `to`, in order. */
export function bucketsBetween(from: string, to: string, interval: Interval): string[] {
  const out: string[] = [];
  let n = dayNumber(bucketOf(from, interval));
  const last = dayNumber(to);
  while (n <= last) {
    const day = dayOfNumber(n);
    out.push(day);
    if (interval === "day") {
      n += 1;
    } else if (interval === "week") {
      n += 7;
    } else {
      const d = new Date(n * 86_400_000);
      n = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / 86_400_000;
    }
  }
  return out;
}

/**
 * The time between entering one step and the next, kept as a histogram whose buckets are 10 %
 * wide: bucket 0 holds gaps under a second, bucket b ≥ 1 gaps in [1.1^(b−1), 1.1^b) seconds.
 * A median read from it is within 5 % of the true one.
 */
const GAP_BASE = 1.1;
export function gapBucket(ms: number): number {
  const s = ms / 1000;
  return s < 1 ? 0 : Math.floor(Math.log(s) / Math.log(GAP_BASE)) + 1;
}

/** The middle (geometric) of a gap bucket, in seconds. */
export function gapBucketSeconds(b: number): number {
  return b === 0 ? 0 : GAP_BASE ** (b - 1) * Math.sqrt(GAP_BASE);
}

/** The median of a gap histogram, in seconds (rounded), or null when it is empty. */
export function medianGapSeconds(buckets: Map<number, number>): number | null {
  const total = [...buckets.values()].reduce((a, b) => a + b, 0);
  if (total === 0) {
    return null;
  }
  let seen = 0;
  for (const b of [...buckets.keys()].sort((x, y) => x - y)) {
    seen += buckets.get(b) ?? 0;
    if (seen * 2 >= total) {
      return Math.round(gapBucketSeconds(b));
    }
  }
  return null;
}
