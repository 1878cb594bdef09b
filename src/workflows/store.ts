// Workflows and their immutable versions.
import { and, desc, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import { type Db, slices } from "../db/client";
import { workflows, workflowVersions } from "../db/schema";
import type { WorkflowDefinition } from "../engine/types";
import { stopsOnReplySql } from "./stop-on-reply";

export type WorkflowRow = typeof workflows.$inferSelect;

/** What counts as a chain's success: the workflow's setting, else a call answered. */
export const chainOf = (w: WorkflowRow) => w.chain ?? { successOutcomes: ["answered"] };

export function definitionOf(w: WorkflowRow): WorkflowDefinition {
  return {
    id: w.id,
    name: w.name,
    version: w.version,
    steps: w.steps,
    transitions: w.transitions,
    timezone: w.timezone,
    sendWindow: w.sendWindow ?? null,
    callWindow: w.callWindow ?? null,
    chain: chainOf(w),
    category: w.category ?? "marketing",
    onCap: w.onCap ?? "defer",
    connectionPool: w.connectionPool ?? null,
  };
}

export async function insertWorkflow(db: Db, row: WorkflowRow) {
  await db.batch([
    db.insert(workflows).values(row),
    db.insert(workflowVersions).values({
      workflowId: row.id,
      version: row.version,
      definition: definitionOf(row),
      createdAt: row.createdAt,
    }),
  ]);
}

export const getWorkflow = (db: Db, orgId: string, id: string) =>
  db
    .select()
    .from(workflows)
    .where(and(eq(workflows.orgId, orgId), eq(workflows.id, id), isNull(workflows.deletedAt)))
    .get();

export const listWorkflows = (
  db: Db,
  orgId: string,
  status: string | undefined,
  limit: number,
  before?: string,
) =>
  db
    .select()
    .from(workflows)
    .where(
      and(
        eq(workflows.orgId, orgId),
        isNull(workflows.deletedAt),
        status ? eq(workflows.status, status as WorkflowRow["status"]) : undefined,
        before ? lt(workflows.id, before) : undefined,
      ),
    )
    .orderBy(desc(workflows.id))
    .limit(limit + 1)
    .all();

export class ConcurrentEditError extends Error {}

/**
 * Saves `next`; when `newVersion` the version row is written in the same batch, guarded
 * by the previous version so two concurrent edits cannot both win.
 */
export async function saveWorkflow(
  db: Db,
  prevVersion: number,
  next: WorkflowRow,
  newVersion: boolean,
) {
  const update = db
    .update(workflows)
    .set(next)
    .where(and(eq(workflows.id, next.id), eq(workflows.version, prevVersion)));
  try {
    if (newVersion) {
      await db.batch([
        db.insert(workflowVersions).values({
          workflowId: next.id,
          version: next.version,
          definition: definitionOf(next),
          createdAt: next.updatedAt,
        }),
        update,
      ]);
    } else {
      const res = await update.returning({ id: workflows.id }).all();
      if (res.length === 0) {
        throw new ConcurrentEditError();
      }
    }
  } catch (err) {
    if (err instanceof ConcurrentEditError || String(err).includes("UNIQUE")) {
      throw new ConcurrentEditError();
    }
    throw err;
  }
}

export const getVersion = (db: Db, workflowId: string, version: number) =>
  db
    .select()
    .from(workflowVersions)
    .where(and(eq(workflowVersions.workflowId, workflowId), eq(workflowVersions.version, version)))
    .get();

export const listVersions = (db: Db, workflowId: string, limit: number, beforeVersion?: number) =>
  db
    .select()
    .from(workflowVersions)
    .where(
      and(
        eq(workflowVersions.workflowId, workflowId),
        beforeVersion ? lt(workflowVersions.version, beforeVersion) : undefined,
      ),
    )
    .orderBy(desc(workflowVersions.version))
    .limit(limit + 1)
    .all();

export const activeWorkflowsTriggeredBy = (db: Db, orgId: string, event: string) =>
  db
    .select()
    .from(workflows)
    .where(
      and(
        eq(workflows.orgId, orgId),
        eq(workflows.triggerEvent, event),
        eq(workflows.status, "active"),
        isNull(workflows.deletedAt),
      ),
    )
    .all();

export const softDeleteWorkflow = (db: Db, orgId: string, id: string, now = Date.now()) =>
  db
    .update(workflows)
    .set({ deletedAt: now, status: "archived", updatedAt: now })
    .where(and(eq(workflows.orgId, orgId), eq(workflows.id, id)))
    .run();

/**
 * Workflows of the org whose exitOn lists `event` — and, for `email.replied`, those that stop
 * on a reply (`reply: true`: their enrollments end with exitReason `replied`).
 */
export const workflowsExitingOn = (db: Db, orgId: string, event: string) =>
  db
    .select({
      id: workflows.id,
      // Aliased: an unnamed column would be called "0", and integer-like keys sort first.
      reply: (event === "email.replied" ? sql<number>`${stopsOnReplySql}` : sql<number>`0`).as(
        "reply",
      ),
    })
    .from(workflows)
    .where(
      and(
        eq(workflows.orgId, orgId),
        isNull(workflows.deletedAt),
        or(
          sql`exists (select 1 from json_each(${workflows.exitOn}) where value = ${event})`,
          event === "email.replied" ? stopsOnReplySql : sql`0`,
        ),
      ),
    )
    .all();

/** The org's workflows whose goal is `event` (their conversions). */
export const workflowsWithGoal = (db: Db, orgId: string, event: string) =>
  db
    .select({ id: workflows.id, goal: workflows.goal })
    .from(workflows)
    .where(and(eq(workflows.orgId, orgId), eq(workflows.goalEvent, event)))
    .all();

/** Names of the org's workflows among `ids` (labels for analytics groups). */
export async function workflowNames(db: Db, orgId: string, ids: string[]) {
  const out = new Map<string, string>();
  for (const slice of slices(ids)) {
    for (const w of await db
      .select({ id: workflows.id, name: workflows.name })
      .from(workflows)
      .where(and(eq(workflows.orgId, orgId), inArray(workflows.id, slice)))
      .all()) {
      out.set(w.id, w.name);
    }
  }
  return out;
}
