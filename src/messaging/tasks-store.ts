// Tasks for people: one row per task step visit (unique effect key), closed once.
import { and, desc, eq, gt, lt, lte, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { tasks } from "../db/schema";

export type TaskRow = typeof tasks.$inferSelect;
export type TaskStatus = TaskRow["status"];

/** Inserts the task for its effect key if new; returns the stored row and whether it is new. */
export async function insertOrGetTask(db: Db, row: TaskRow) {
  const [inserted] = await db.insert(tasks).values(row).onConflictDoNothing().returning().all();
  if (inserted) {
    return { row: inserted, fresh: true };
  }
  return {
    row: (await db.select().from(tasks).where(eq(tasks.key, row.key)).get()) as TaskRow,
    fresh: false,
  };
}

export const getTask = (db: Db, orgId: string, id: string) =>
  db
    .select()
    .from(tasks)
    .where(and(eq(tasks.orgId, orgId), eq(tasks.id, id)))
    .get();

/** An open task past its due time is expired, whether or not the cron has written it so. */
function statusIs(status: TaskStatus, now: number): SQL | undefined {
  if (status === "open") {
    return and(eq(tasks.status, "open"), gt(tasks.dueAt, now));
  }
  if (status === "expired") {
    return or(eq(tasks.status, "expired"), and(eq(tasks.status, "open"), lte(tasks.dueAt, now)));
  }
  return eq(tasks.status, status);
}

export interface TaskFilter {
  status?: TaskStatus;
  taskType?: TaskRow["taskType"];
  assignee?: string;
  workflowId?: string;
  contactId?: string;
  dueBefore?: number;
}

export const listTasks = (
  db: Db,
  orgId: string,
  f: TaskFilter,
  now: number,
  limit: number,
  before?: string,
) =>
  db
    .select()
    .from(tasks)
    .where(
      and(
        eq(tasks.orgId, orgId),
        f.status ? statusIs(f.status, now) : undefined,
        f.taskType ? eq(tasks.taskType, f.taskType) : undefined,
        f.assignee ? eq(tasks.assignee, f.assignee) : undefined,
        f.workflowId ? eq(tasks.workflowId, f.workflowId) : undefined,
        f.contactId ? eq(tasks.contactId, f.contactId) : undefined,
        f.dueBefore !== undefined ? lt(tasks.dueAt, f.dueBefore) : undefined,
        before ? lt(tasks.id, before) : undefined,
      ),
    )
    .orderBy(desc(tasks.id))
    .limit(limit + 1)
    .all();

/** Closes an open task that is not yet due; the closed row, or undefined when it was not open. */
export const closeTask = async (
  db: Db,
  id: string,
  fields: { status: "completed" | "skipped"; outcome: string; note: string | null },
  now: number,
) =>
  (
    await db
      .update(tasks)
      .set({ ...fields, completedAt: now })
      .where(and(eq(tasks.id, id), eq(tasks.status, "open"), gt(tasks.dueAt, now)))
      .returning()
      .all()
  )[0];

/** The cron writes down what reading already shows: open tasks past their due time are expired. */
export const expireTasks = async (db: Db, now: number) =>
  (
    await db
      .update(tasks)
      .set({ status: "expired", outcome: "timeout" })
      .where(and(eq(tasks.status, "open"), lte(tasks.dueAt, now)))
      .returning({ id: tasks.id })
      .all()
  ).length;

/** Per step of a workflow: how many tasks are in each (effective) status, with each outcome. */
export function taskStatsByStep(db: Db, workflowId: string, now: number) {
  const status = sql<TaskStatus>`case when ${tasks.status} = 'open' and ${tasks.dueAt} <= ${now} then 'expired' else ${tasks.status} end`;
  return db
    .select({ stepId: tasks.stepId, status, outcome: tasks.outcome, n: sql<number>`count(*)` })
    .from(tasks)
    .where(eq(tasks.workflowId, workflowId))
    .groupBy(tasks.stepId, status, tasks.outcome)
    .all();
}
