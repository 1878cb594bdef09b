// Reports (the row; the file is in R2), and the pages of rows the exports read.
import { and, asc, desc, eq, gt, gte, inArray, isNull, lt, lte, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { contacts, enrollments, messages, type ReportProgress, reports } from "../db/schema";

export type ReportRow = typeof reports.$inferSelect;

export const insertReport = (db: Db, row: ReportRow) => db.insert(reports).values(row).run();

export const getReport = (db: Db, orgId: string, id: string) =>
  db
    .select()
    .from(reports)
    .where(and(eq(reports.orgId, orgId), eq(reports.id, id)))
    .get();

export const getReportById = (db: Db, id: string) =>
  db.select().from(reports).where(eq(reports.id, id)).get();

export const listReports = (db: Db, orgId: string, limit: number, before?: string) =>
  db
    .select()
    .from(reports)
    .where(and(eq(reports.orgId, orgId), before ? lt(reports.id, before) : undefined))
    .orderBy(desc(reports.id))
    .limit(limit + 1)
    .all();

export const deleteReport = (db: Db, orgId: string, id: string) =>
  db
    .delete(reports)
    .where(and(eq(reports.orgId, orgId), eq(reports.id, id)))
    .run();

/** Updates a report of generation `generation` only; false when a newer run or a delete took over. */
export async function updateReport(
  db: Db,
  id: string,
  generation: number,
  fields: Partial<ReportRow>,
  /** Also require that the progress has not moved since it was read (one builder at a time). */
  expectUpdatedAt?: number,
) {
  const r = await db
    .update(reports)
    .set(fields)
    .where(
      and(
        eq(reports.id, id),
        eq(reports.generation, generation),
        expectUpdatedAt === undefined ? undefined : eq(reports.updatedAt, expectUpdatedAt),
      ),
    )
    .returning({ id: reports.id })
    .all();
  return r.length === 1;
}

/**
 * Starts a new run of a scheduled report whose run at `dueAt` is due: the next generation,
 * queued, its counts cleared, its next run set. Undefined when another tick took it.
 */
export async function requeueReport(
  db: Db,
  id: string,
  dueAt: number,
  now: number,
  nextRunAt: number | null,
) {
  return db
    .update(reports)
    .set({
      status: "queued",
      generation: sqlIncrement(),
      rows: null,
      bytes: null,
      pages: null,
      error: null,
      progress: null,
      startedAt: null,
      completedAt: null,
      nextRunAt,
      updatedAt: now,
    })
    .where(and(eq(reports.id, id), eq(reports.nextRunAt, dueAt)))
    .returning()
    .get();
}

const sqlIncrement = () => sql`${reports.generation} + 1` as unknown as number;

/** Scheduled reports whose next run is due, their next run pushed on so one tick takes each. */
export const dueReports = (db: Db, now: number, limit = 50) =>
  db.select().from(reports).where(lte(reports.nextRunAt, now)).limit(limit).all();

/** Reports queued or running but untouched for `staleMs`: their job was lost. */
export const stuckReports = (db: Db, now: number, staleMs: number, limit = 50) =>
  db
    .select()
    .from(reports)
    .where(
      and(inArray(reports.status, ["queued", "running"]), lt(reports.updatedAt, now - staleMs)),
    )
    .limit(limit)
    .all();

export interface PageFilter {
  orgId: string;
  after: string | null;
  limit: number;
  from?: number;
  to?: number;
  workflowId?: string;
  status?: string;
}

/** A page of the org's enrollments, by id. */
export const enrollmentPage = (db: Db, f: PageFilter) =>
  db
    .select()
    .from(enrollments)
    .where(
      and(
        eq(enrollments.orgId, f.orgId),
        f.after ? gt(enrollments.id, f.after) : undefined,
        f.workflowId ? eq(enrollments.workflowId, f.workflowId) : undefined,
        f.status
          ? eq(enrollments.status, f.status as (typeof enrollments.$inferSelect)["status"])
          : undefined,
        f.from !== undefined ? gte(enrollments.createdAt, f.from) : undefined,
        f.to !== undefined ? lt(enrollments.createdAt, f.to) : undefined,
      ),
    )
    .orderBy(asc(enrollments.id))
    .limit(f.limit)
    .all();

/** A page of the org's messages, by id. */
export const messagePage = (db: Db, f: PageFilter) =>
  db
    .select()
    .from(messages)
    .where(
      and(
        eq(messages.orgId, f.orgId),
        f.after ? gt(messages.id, f.after) : undefined,
        f.workflowId ? eq(messages.workflowId, f.workflowId) : undefined,
        f.status
          ? eq(messages.status, f.status as (typeof messages.$inferSelect)["status"])
          : undefined,
        f.from !== undefined ? gte(messages.createdAt, f.from) : undefined,
        f.to !== undefined ? lt(messages.createdAt, f.to) : undefined,
      ),
    )
    .orderBy(asc(messages.id))
    .limit(f.limit)
    .all();

/** A page of the org's contacts (erased ones left out), by id. */
export const contactPage = (db: Db, f: PageFilter) =>
  db
    .select()
    .from(contacts)
    .where(
      and(
        eq(contacts.orgId, f.orgId),
        isNull(contacts.erasedAt),
        f.after ? gt(contacts.id, f.after) : undefined,
        f.from !== undefined ? gte(contacts.createdAt, f.from) : undefined,
        f.to !== undefined ? lt(contacts.createdAt, f.to) : undefined,
        f.status === "subscribed"
          ? eq(contacts.subscribed, true)
          : f.status === "unsubscribed"
            ? eq(contacts.subscribed, false)
            : undefined,
      ),
    )
    .orderBy(asc(contacts.id))
    .limit(f.limit)
    .all();

export type { ReportProgress };
