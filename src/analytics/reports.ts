// Reports: what each type contains, read in pages (an export never holds its rows in memory),
// their parameters and schedules. The consumer (src/analytics/consumers/reports.ts) writes the pages to R2.
import { Cron } from "croner";
import { publicUrl } from "../accounts";
import type { Db } from "../db/client";
import { iso } from "../db/client";
import type { ReportType } from "../db/schema";
import { dayKey, dayNumber, dayOfNumber, isDay } from "../engine/metrics";
import { isTimeZone, zonedTime } from "../engine/timezones";
import type { Env } from "../ground/env";
import { DomainError, notFound } from "../ground/errors";
import { signToken } from "../security/tokens";
import { DEFAULT_METRICS, MAX_DAYS, readMetrics } from "./analytics";
import { zoneOf } from "./facts";
import {
  contactPage,
  dueReports,
  enrollmentPage,
  messagePage,
  type PageFilter,
  type ReportRow,
  requeueReport,
  stuckReports,
  updateReport,
} from "./reports-store";

/** What a report covers; days are calendar days in `timezone` (default: the org's reporting zone). */
export interface ReportParams {
  from?: string;
  to?: string;
  /** The last N days up to the day the report runs (for scheduled reports). */
  lastDays?: number;
  timezone?: string;
  workflowId?: string;
  status?: string;
}

export const STATUS_FILTERS: Partial<Record<ReportType, readonly string[]>> = {
  enrollments_export: ["running", "waiting", "completed", "cancelled", "failed"],
  messages_export: ["queued", "sent", "delivered", "bounced", "complained", "failed", "suppressed"],
  contacts_export: ["subscribed", "unsubscribed"],
};

/** Problems with params for `type`, as error details (empty when fine). */
export function checkParams(type: ReportType, p: ReportParams) {
  const problems: { path: string; message: string }[] = [];
  for (const k of ["from", "to"] as const) {
    const v = p[k];
    if (v !== undefined && !isDay(v)) {
      problems.push({ path: `params.${k}`, message: "A calendar day: YYYY-MM-DD" });
    }
  }
  if (p.from && p.to && p.from > p.to) {
    problems.push({ path: "params.from", message: "from must not be after to" });
  }
  if (p.lastDays !== undefined && (p.from || p.to)) {
    problems.push({ path: "params.lastDays", message: "Give lastDays or from/to, not both" });
  }
  if (p.timezone !== undefined && !isTimeZone(p.timezone)) {
    problems.push({ path: "params.timezone", message: "Not an IANA time zone" });
  }
  const statuses = STATUS_FILTERS[type];
  if (p.status !== undefined && !statuses?.includes(p.status)) {
    problems.push({
      path: "params.status",
      message: statuses
        ? `One of: ${statuses.join(", ")}`
        : `A ${type} report takes no status filter`,
    });
  }
  if (
    ROLLUP_TYPES.has(type) &&
    p.from &&
    p.to &&
    isDay(p.from) &&
    isDay(p.to) &&
    dayNumber(p.to) - dayNumber(p.from) + 1 > MAX_DAYS
  ) {
    problems.push({
      path: "params.from",
      message: `A ${type} report covers at most ${MAX_DAYS} days`,
    });
  }
  if (type === "contacts_export" && p.workflowId !== undefined) {
    problems.push({ path: "params.workflowId", message: "A contacts export takes no workflowId" });
  }
  return problems;
}

/** The days a run covers: from/to, the last N days, or (none given) everything — or 30 days for rollup reports. */
async function daysOf(db: Db, r: ReportRow, now: number) {
  const p = r.params as ReportParams;
  const zone = p.timezone ?? (await zoneOf(db, r.orgId, now));
  const today = dayKey(now, zone);
  if (p.lastDays !== undefined) {
    return { zone, from: dayOfNumber(dayNumber(today) - p.lastDays + 1), to: today };
  }
  if (p.from || p.to || ROLLUP_TYPES.has(r.type)) {
    const to = p.to ?? today;
    return { zone, from: p.from ?? dayOfNumber(dayNumber(to) - 29), to };
  }
  return { zone, from: undefined, to: undefined };
}

/** Reports read from the rollups, which keep days in UTC and the reporting zone only. */
export const ROLLUP_TYPES: ReadonlySet<ReportType> = new Set([
  "workflow_performance",
  "deliverability",
]);

/** The instant a local day begins. */
function dayStart(day: string, zone: string) {
  const [y, m, d] = day.split("-").map(Number);
  return zonedTime(zone, y, m, d, 0, 0);
}

export interface Page {
  rows: Record<string, unknown>[];
  /** Where the next page starts; null when this was the last. */
  next: string | null;
}

export interface Source {
  columns: readonly string[];
  page(cursor: string | null, limit: number): Promise<Page>;
}

/** A workflow_performance row: the metrics a read shows by default. */
const PERFORMANCE = DEFAULT_METRICS;

const DELIVERABILITY = [
  "sent",
  "delivered",
  "bounced",
  "complained",
  "unsubscribed",
  "bounceRate",
  "complaintRate",
] as const;

/** The rows of a report, a page at a time. */
export async function sourceOf(db: Db, r: ReportRow, now = Date.now()): Promise<Source> {
  const p = r.params as ReportParams;
  const days = await daysOf(db, r, now);
  const filter = (after: string | null, limit: number): PageFilter => ({
    orgId: r.orgId,
    after,
    limit,
    workflowId: p.workflowId,
    status: p.status,
    from: days.from ? dayStart(days.from, days.zone) : undefined,
    to: days.to ? dayStart(dayOfNumber(dayNumber(days.to) + 1), days.zone) : undefined,
  });
  const paged = <T extends { id: string }>(
    columns: readonly string[],
    read: (f: PageFilter) => Promise<T[]>,
    shape: (row: T) => Record<string, unknown>,
  ): Source => ({
    columns,
    async page(cursor, limit) {
      const rows = await read(filter(cursor, limit));
      return {
        rows: rows.map(shape),
        next: rows.length === limit ? (rows.at(-1)?.id ?? null) : null,
      };
    },
  });
  const once = (columns: readonly string[], rows: () => Promise<Record<string, unknown>[]>) => ({
    columns,
    async page() {
      return { rows: await rows(), next: null };
    },
  });
  const metricsOf = (
    groupBy: "workflow" | "connection",
    metrics: readonly string[],
    interval: "day" | undefined,
  ) =>
    readMetrics(
      db,
      r.orgId,
      {
        from: days.from,
        to: days.to,
        timezone: days.zone,
        groupBy,
        interval,
        workflowId: p.workflowId,
        metrics: [...metrics] as never,
      },
      now,
    );
  switch (r.type) {
    case "enrollments_export":
      return paged(
        [
          "id",
          "workflowId",
          "workflowVersion",
          "contactId",
          "status",
          "currentStepId",
          "exitReason",
          "variant",
          "errorCode",
          "error",
          "createdAt",
          "completedAt",
        ],
        (f) => enrollmentPage(db, f),
        (e) => ({
          ...e,
          createdAt: iso(e.createdAt),
          completedAt: iso(e.completedAt),
        }),
      );
    case "messages_export":
      return paged(
        [
          "id",
          "workflowId",
          "stepId",
          "enrollmentId",
          "contactId",
          "to",
          "subject",
          "status",
          "provider",
          "connectionId",
          "opens",
          "clicks",
          "machineOpens",
          "machineClicks",
          "unsubscribed",
          "error",
          "createdAt",
          "sentAt",
          "deliveredAt",
          "firstOpenedAt",
          "firstClickedAt",
          "repliedAt",
        ],
        (f) => messagePage(db, f),
        (m) => ({
          ...m,
          createdAt: iso(m.createdAt),
          sentAt: iso(m.sentAt),
          deliveredAt: iso(m.deliveredAt),
          firstOpenedAt: iso(m.firstOpenedAt),
          firstClickedAt: iso(m.firstClickedAt),
          repliedAt: iso(m.repliedAt),
        }),
      );
    case "contacts_export":
      return paged(
        [
          "id",
          "email",
          "phone",
          "externalId",
          "firstName",
          "lastName",
          "timezone",
          "subscribed",
          "suppressed",
          "createdAt",
          "updatedAt",
          "data",
        ],
        (f) => contactPage(db, f),
        (c) => ({ ...c, createdAt: iso(c.createdAt), updatedAt: iso(c.updatedAt) }),
      );
    case "workflow_performance":
      return once(["workflowId", "workflowName", "from", "to", ...PERFORMANCE], async () => {
        const m = await metricsOf("workflow", PERFORMANCE, undefined);
        return m.series
          .filter((s) => s.key !== null)
          .map((s) => ({
            workflowId: s.key,
            workflowName: s.label,
            from: m.from,
            to: m.to,
            ...s.totals,
          }));
      });
    case "deliverability":
      return once(["connectionId", "day", ...DELIVERABILITY], async () => {
        const m = await metricsOf("connection", DELIVERABILITY, "day");
        return m.series.flatMap((s) =>
          s.points
            .filter((pt) => (pt.values.sent ?? 0) > 0 || (pt.values.bounced ?? 0) > 0)
            .map((pt) => ({ connectionId: s.key ?? "default", day: pt.t, ...pt.values })),
        );
      });
  }
}

/** The next time a cron expression fires in `timezone`, after `after`; null when it never does. */
export function nextRun(cron: string, timezone: string, after: number): number | null {
  const next = new Cron(cron, { timezone, paused: true }).nextRun(new Date(after));
  return next ? next.getTime() : null;
}

/** Problems with a cron expression (5 fields: minute hour day month weekday). */
export function checkCron(cron: string, timezone: string): string | null {
  if (cron.trim().split(/\s+/).length !== 5) {
    return "Five fields: minute hour day-of-month month day-of-week (e.g. 0 8 * * MON)";
  }
  try {
    return nextRun(cron, timezone, Date.now()) === null ? "The expression never fires" : null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

export const objectKey = (r: Pick<ReportRow, "orgId" | "id" | "format">, generation: number) =>
  `reports/${r.orgId}/${r.id}/${generation}.${r.format}`;

/** A signed, expiring link to the file of the report's current run (GET /t/r/{token}). */
export async function downloadLink(
  env: Env,
  db: Db,
  r: Pick<ReportRow, "orgId" | "id" | "generation">,
  ttlMs: number,
  now = Date.now(),
) {
  const expiresAt = now + ttlMs;
  const token = await signToken(
    env,
    { k: "r", g: r.orgId, m: r.id, n: r.generation, x: Math.floor(expiresAt / 1000) },
    now,
  );
  return {
    url: `${(await publicUrl(env, db, r.orgId)).replace(/\/$/, "")}/t/r/${token}`,
    expiresAt: new Date(expiresAt).toISOString(),
  };
}

/** A report queued or running untouched this long lost its job: it is queued again. */
const STALE_MS = 5 * 60_000;

/**
 * The cron tick's share: scheduled reports whose time has come start their next run, and runs
 * whose job was lost get it again (the builder resumes from its saved progress).
 */
export async function tickReports(env: Env, db: Db, now = Date.now()) {
  let started = 0;
  for (const r of await dueReports(db, now)) {
    const next = r.schedule ? nextRun(r.schedule.cron, r.schedule.timezone, now) : null;
    const run = await requeueReport(db, r.id, r.nextRunAt ?? now, now, next);
    if (run) {
      await env.EVENT_QUEUE.send({
        kind: "report",
        orgId: run.orgId,
        reportId: run.id,
        generation: run.generation,
      });
      started++;
    }
  }
  let resumed = 0;
  for (const r of await stuckReports(db, now, STALE_MS)) {
    if (await updateReport(db, r.id, r.generation, { updatedAt: now }, r.updatedAt)) {
      await env.EVENT_QUEUE.send({
        kind: "report",
        orgId: r.orgId,
        reportId: r.id,
        generation: r.generation,
      });
      resumed++;
    }
  }
  return { started, resumed };
}

/** The report's file as a download; 409 while it is not completed. */
export async function fileOf(bucket: R2Bucket, r: ReportRow): Promise<Response> {
  if (r.status !== "completed" || !r.objectKey) {
    throw new DomainError(
      "report_not_ready",
      r.status === "failed"
        ? `The report failed: ${r.error ?? "unknown error"}`
        : `The report is ${r.status}; download it once it is completed`,
    );
  }
  const object = await bucket.get(r.objectKey);
  if (!object) {
    throw notFound("Report file");
  }
  const headers = new Headers();
  object.writeHttpMetadata(headers);
  headers.set("content-type", r.format === "csv" ? "text/csv; charset=utf-8" : "application/json");
  headers.set("content-length", String(object.size));
  headers.set("content-disposition", `attachment; filename="${r.type}-${r.id}.${r.format}"`);
  headers.set("cache-control", "private, no-store");
  return new Response(object.body, { status: 200, headers });
}
