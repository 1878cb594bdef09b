// Reading analytics: metrics over time from the daily rollups (never from events or messages),
// and a workflow's funnel. A read costs one indexed range scan of rollup rows, aggregated in
// SQL by day, group and metric — a year of one workflow is at most 365 × metrics rows.
import type { Db } from "../db/client";
import {
  bucketOf,
  bucketsBetween,
  countsNeeded,
  dayKey,
  dayNumber,
  dayOfNumber,
  type Interval,
  type MetricName,
  medianGapSeconds,
  shape,
} from "../engine/metrics";
import type { StepDef, TransitionDef } from "../engine/types";
import { notFound, validationFailed } from "../ground/errors";
import { getWorkflow, workflowNames } from "../workflows";
import { zoneOf } from "./facts";
import { type GroupBy, readRollups, stepDays } from "./store";

/** The longest period one read may cover. */
export const MAX_DAYS = 1_096;
export const DEFAULT_DAYS = 30;

export const DEFAULT_METRICS: MetricName[] = [
  "enrolled",
  "completed",
  "converted",
  "sent",
  "delivered",
  "uniqueOpened",
  "uniqueClicked",
  "replied",
  "bounced",
  "complained",
  "unsubscribed",
  "openRate",
  "clickRate",
  "replyRate",
  "bounceRate",
  "conversionRate",
];

export interface MetricsQuery {
  from?: string;
  to?: string;
  interval?: Interval;
  groupBy?: GroupBy;
  workflowId?: string;
  metrics?: MetricName[];
  timezone?: string;
}

export interface Period {
  from: string;
  to: string;
  zone: string;
}

/** The period asked for, in the zone asked for (UTC or the org's reporting zone). */
export async function periodOf(
  db: Db,
  orgId: string,
  q: Pick<MetricsQuery, "from" | "to" | "timezone">,
  now = Date.now(),
): Promise<Period> {
  const orgZone = await zoneOf(db, orgId, now);
  const zone = q.timezone ?? orgZone;
  if (zone !== "UTC" && zone !== orgZone) {
    throw validationFailed(
      [
        {
          path: "timezone",
          message: `Days are counted in UTC and in the org's reporting time zone (${orgZone}); set another with PATCH /v1/account`,
        },
      ],
      "Unknown analytics time zone",
    );
  }
  const to = q.to ?? dayKey(now, zone);
  const from = q.from ?? dayOfNumber(dayNumber(to) - (DEFAULT_DAYS - 1));
  if (from > to) {
    throw validationFailed([{ path: "from", message: "from must not be after to" }]);
  }
  if (dayNumber(to) - dayNumber(from) + 1 > MAX_DAYS) {
    throw validationFailed([{ path: "from", message: `A read covers at most ${MAX_DAYS} days` }]);
  }
  return { from, to, zone };
}

export interface Series {
  key: string | null;
  label: string | null;
  points: { t: string; values: Record<string, number | null> }[];
  totals: Record<string, number | null>;
}

export async function readMetrics(db: Db, orgId: string, q: MetricsQuery, now = Date.now()) {
  if (q.workflowId && !(await getWorkflow(db, orgId, q.workflowId))) {
    throw notFound("Workflow");
  }
  const period = await periodOf(db, orgId, q, now);
  const interval = q.interval ?? "day";
  const metrics = q.metrics && q.metrics.length > 0 ? q.metrics : DEFAULT_METRICS;
  const counts = countsNeeded(metrics);
  const rows = await readRollups(db, {
    orgId,
    zone: period.zone,
    from: period.from,
    to: period.to,
    workflowId: q.workflowId,
    groupBy: q.groupBy,
    metrics: counts,
    prefixes: counts.includes("exited") ? ["exited."] : [],
  });
  const buckets = bucketsBetween(period.from, period.to, interval);
  // key → bucket → metric → sum
  const grid = new Map<string, Map<string, Record<string, number>>>();
  const all: Record<string, number> = {};
  for (const r of rows) {
    const key = r.key ?? "";
    const b = bucketOf(r.day, interval);
    let byBucket = grid.get(key);
    if (!byBucket) {
      byBucket = new Map();
      grid.set(key, byBucket);
    }
    const cell = byBucket.get(b) ?? {};
    cell[r.metric] = (cell[r.metric] ?? 0) + Number(r.value);
    byBucket.set(b, cell);
    all[r.metric] = (all[r.metric] ?? 0) + Number(r.value);
  }
  if (grid.size === 0 && !q.groupBy) {
    grid.set("", new Map());
  }
  const labels =
    q.groupBy === "workflow"
      ? await workflowNames(
          db,
          orgId,
          [...grid.keys()].filter((k) => k !== ""),
        )
      : new Map<string, string>();
  const series: Series[] = [...grid.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, byBucket]) => {
      const sum: Record<string, number> = {};
      const points = buckets.map((t) => {
        const cell = byBucket.get(t) ?? {};
        for (const [m, v] of Object.entries(cell)) {
          sum[m] = (sum[m] ?? 0) + v;
        }
        return { t, values: shape(cell, metrics) };
      });
      return {
        key: q.groupBy ? key || null : null,
        label: labels.get(key) ?? null,
        points,
        totals: shape(sum, metrics),
      };
    });
  return {
    from: period.from,
    to: period.to,
    timezone: period.zone,
    interval,
    groupBy: q.groupBy ?? null,
    metrics,
    series,
    totals: shape(all, metrics),
  };
}

/** Steps in the order a contact meets them: breadth first from the entry step. */
function stepOrder(steps: StepDef[], transitions: TransitionDef[]): StepDef[] {
  if (steps.length === 0) {
    return [];
  }
  const byId = new Map(steps.map((s) => [s.id, s]));
  const targets = new Set(transitions.map((t) => t.to));
  const entry = steps.find((s) => !targets.has(s.id)) ?? steps[0];
  const seen = new Set([entry.id]);
  const order: StepDef[] = [];
  const queue = [entry];
  while (queue.length > 0) {
    const s = queue.shift() as StepDef;
    order.push(s);
    for (const t of transitions.filter((x) => x.from === s.id)) {
      const next = byId.get(t.to);
      if (next && !seen.has(next.id)) {
        seen.add(next.id);
        queue.push(next);
      }
    }
  }
  return [...order, ...steps.filter((s) => !seen.has(s.id))];
}

/**
 * A workflow's funnel over a period: per step (in the order contacts meet them) how many
 * entered, completed, failed and ended there, the conversion from the start and from the
 * previous step, the drop-off, and the median time from entering the previous step.
 */
export async function readFunnel(
  db: Db,
  orgId: string,
  workflowId: string,
  q: Pick<MetricsQuery, "from" | "to" | "timezone">,
  now = Date.now(),
) {
  const workflow = await getWorkflow(db, orgId, workflowId);
  if (!workflow) {
    throw notFound("Workflow");
  }
  const period = await periodOf(db, orgId, q, now);
  const [totals, days] = await Promise.all([
    readRollups(db, {
      orgId,
      zone: period.zone,
      from: period.from,
      to: period.to,
      workflowId,
      metrics: ["enrolled", "completed", "converted"],
    }),
    stepDays(db, workflowId, period.zone, period.from, period.to),
  ]);
  const total: Record<string, number> = {};
  for (const r of totals) {
    total[r.metric] = (total[r.metric] ?? 0) + r.value;
  }
  const per = new Map<string, Record<string, number>>();
  const gaps = new Map<string, Map<number, number>>();
  for (const d of days) {
    const c = per.get(d.stepId) ?? {};
    c.stepEntered = (c.stepEntered ?? 0) + d.entered;
    c.stepCompleted = (c.stepCompleted ?? 0) + d.completed;
    c.stepFailed = (c.stepFailed ?? 0) + d.failed;
    for (const [how, n] of Object.entries(d.ended)) {
      c[how] = (c[how] ?? 0) + n;
    }
    per.set(d.stepId, c);
    const g = gaps.get(d.stepId) ?? new Map<number, number>();
    for (const [b, n] of Object.entries(d.gaps)) {
      g.set(Number(b), (g.get(Number(b)) ?? 0) + n);
    }
    gaps.set(d.stepId, g);
  }
  const enrolled = total.enrolled ?? 0;
  const rate = (n: number, d: number) => (d > 0 ? Math.round((n / d) * 10_000) / 10_000 : null);
  let previous: number | null = null;
  const steps = stepOrder(workflow.steps, workflow.transitions).map((s) => {
    const c = per.get(s.id) ?? {};
    const entered = c.stepEntered ?? 0;
    const dropOff = (c.cancelled ?? 0) + (c.failed ?? 0) + (c.exited ?? 0);
    const out = {
      stepId: s.id,
      type: s.type,
      name: s.name ?? null,
      entered,
      completed: c.stepCompleted ?? 0,
      failed: c.stepFailed ?? 0,
      endedHere: Object.fromEntries(ENDINGS.map((e) => [e, c[e] ?? 0])),
      dropOff,
      dropOffRate: rate(dropOff, entered),
      conversionFromStart: rate(entered, enrolled),
      conversionFromPrevious: previous === null ? null : rate(entered, previous),
      medianSecondsFromPrevious: medianGapSeconds(gaps.get(s.id) ?? new Map()),
    };
    previous = entered;
    return out;
  });
  return {
    workflowId,
    from: period.from,
    to: period.to,
    timezone: period.zone,
    enrolled,
    completed: total.completed ?? 0,
    converted: total.converted ?? 0,
    conversionRate: rate(total.converted ?? 0, enrolled),
    steps,
  };
}

const ENDINGS = ["completed", "cancelled", "failed", "exited"] as const;
