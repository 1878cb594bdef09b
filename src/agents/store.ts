// Agents, their templates, executions (one per agent and idempotency key), execution logs and
// kept model exchanges; and what lead scoring reads about a contact.
import { and, count, desc, eq, gte, inArray, isNotNull, lt, sql } from "drizzle-orm";
import type { AnySQLiteColumn } from "drizzle-orm/sqlite-core";
import type { Db } from "../db/client";
import {
  agentExchanges,
  agentExecutions,
  agentLogs,
  agents,
  agentTemplates,
  contacts,
  events,
  messages,
  tasks,
} from "../db/schema";

export type AgentRow = typeof agents.$inferSelect;
export type AgentTemplateRow = typeof agentTemplates.$inferSelect;
export type ExecutionRow = typeof agentExecutions.$inferSelect;
export type AgentLogRow = typeof agentLogs.$inferSelect;
export type ExchangeRow = typeof agentExchanges.$inferSelect;
export type ExecutionStatus = ExecutionRow["status"];

/** Rows older than the cursor (ids sort by time). */
const before = (col: AnySQLiteColumn, cursor: string | undefined) =>
  cursor ? lt(col, cursor) : undefined;

// ---- templates -----------------------------------------------------------------------------

export const insertTemplate = (db: Db, row: AgentTemplateRow) =>
  db.insert(agentTemplates).values(row).run();

export const getTemplate = (db: Db, orgId: string, id: string) =>
  db
    .select()
    .from(agentTemplates)
    .where(and(eq(agentTemplates.orgId, orgId), eq(agentTemplates.id, id)))
    .get();

export const listTemplates = (db: Db, orgId: string, limit: number, cursor?: string) =>
  db
    .select()
    .from(agentTemplates)
    .where(and(eq(agentTemplates.orgId, orgId), before(agentTemplates.id, cursor)))
    .orderBy(desc(agentTemplates.id))
    .limit(limit + 1)
    .all();

export const updateTemplate = (db: Db, row: AgentTemplateRow) =>
  db.update(agentTemplates).set(row).where(eq(agentTemplates.id, row.id)).run();

export async function deleteTemplate(db: Db, orgId: string, id: string) {
  const gone = await db
    .delete(agentTemplates)
    .where(and(eq(agentTemplates.orgId, orgId), eq(agentTemplates.id, id)))
    .returning({ id: agentTemplates.id })
    .all();
  return gone.length === 1;
}

/** The names of the org's agents that run this template. */
export const agentsUsingTemplate = async (db: Db, orgId: string, templateId: string) =>
  (
    await db
      .select({ name: agents.name })
      .from(agents)
      .where(and(eq(agents.orgId, orgId), eq(agents.templateId, templateId)))
      .limit(10)
      .all()
  ).map((r) => r.name);

// ---- agents --------------------------------------------------------------------------------

export const insertAgent = (db: Db, row: AgentRow) => db.insert(agents).values(row).run();

export const getAgent = (db: Db, orgId: string, id: string) =>
  db
    .select()
    .from(agents)
    .where(and(eq(agents.orgId, orgId), eq(agents.id, id)))
    .get();

export const getAgentById = (db: Db, id: string) =>
  db.select().from(agents).where(eq(agents.id, id)).get();

export const listAgents = (db: Db, orgId: string, limit: number, cursor?: string) =>
  db
    .select()
    .from(agents)
    .where(and(eq(agents.orgId, orgId), before(agents.id, cursor)))
    .orderBy(desc(agents.id))
    .limit(limit + 1)
    .all();

export const updateAgent = (db: Db, row: AgentRow) =>
  db.update(agents).set(row).where(eq(agents.id, row.id)).run();

/** Deletes the agent and ends its queued executions as cancelled, in one batch. */
export async function deleteAgent(db: Db, orgId: string, id: string, now: number) {
  const [gone] = await db.batch([
    db
      .delete(agents)
      .where(and(eq(agents.orgId, orgId), eq(agents.id, id)))
      .returning({ id: agents.id }),
    db
      .update(agentExecutions)
      .set({
        status: "cancelled",
        finishedAt: now,
        error: { code: "agent_deleted", message: "The agent was deleted before it ran" },
      })
      .where(and(eq(agentExecutions.agentId, id), eq(agentExecutions.status, "queued"))),
  ]);
  return gone.length === 1;
}

// ---- executions ----------------------------------------------------------------------------

/** Inserts the execution unless its (agent, key) exists; returns the stored one and whether it is new. */
export async function insertOrGetExecution(db: Db, row: ExecutionRow) {
  const [inserted] = await db
    .insert(agentExecutions)
    .values(row)
    .onConflictDoNothing()
    .returning()
    .all();
  if (inserted) {
    return { row: inserted, fresh: true };
  }
  const existing = await db
    .select()
    .from(agentExecutions)
    .where(
      and(
        eq(agentExecutions.agentId, row.agentId),
        eq(agentExecutions.idempotencyKey, row.idempotencyKey),
      ),
    )
    .get();
  return { row: existing as ExecutionRow, fresh: false };
}

export const getExecution = (db: Db, id: string) =>
  db.select().from(agentExecutions).where(eq(agentExecutions.id, id)).get();

export interface ExecutionFilter {
  status?: ExecutionStatus;
  since?: number;
}

export const listExecutions = (
  db: Db,
  agentId: string,
  f: ExecutionFilter,
  limit: number,
  cursor?: string,
) =>
  db
    .select()
    .from(agentExecutions)
    .where(
      and(
        eq(agentExecutions.agentId, agentId),
        f.status ? eq(agentExecutions.status, f.status) : undefined,
        f.since !== undefined ? gte(agentExecutions.createdAt, f.since) : undefined,
        before(agentExecutions.id, cursor),
      ),
    )
    .orderBy(desc(agentExecutions.id))
    .limit(limit + 1)
    .all();

/**
 * Claims the run: queued → running, or a run started before `staleBefore` (its worker vanished)
 * taken up again. Null when another worker holds it (a queue's duplicate delivery) or it ended.
 */
export async function startExecution(db: Db, id: string, now: number, staleBefore: number) {
  const [row] = await db
    .update(agentExecutions)
    .set({ status: "running", startedAt: now })
    .where(
      and(
        eq(agentExecutions.id, id),
        sql`(${agentExecutions.status} = 'queued' or (${agentExecutions.status} = 'running' and ${agentExecutions.startedAt} <= ${staleBefore}))`,
      ),
    )
    .returning()
    .all();
  return row ?? null;
}

export type ExecutionResult = Pick<
  ExecutionRow,
  | "status"
  | "output"
  | "error"
  | "enrollmentId"
  | "model"
  | "tokensIn"
  | "tokensOut"
  | "costUsd"
  | "attempts"
>;

/** Ends a queued or running execution once: the ended row, or null when it had ended already. */
export async function finishExecution(db: Db, id: string, r: ExecutionResult, now: number) {
  const [done] = await db
    .update(agentExecutions)
    .set({ ...r, finishedAt: now })
    .where(and(eq(agentExecutions.id, id), inArray(agentExecutions.status, ["queued", "running"])))
    .returning()
    .all();
  return done ?? null;
}

/**
 * Executions whose job may be lost, marked checked now: queued and untouched for `queuedMs`, or
 * running and untouched for `runningMs` (longer than any run's retries and timeouts). Each is
 * sent on again at most once per such period; the consumer and the gate make that harmless.
 */
export const claimStalledExecutions = (
  db: Db,
  now: number,
  queuedMs: number,
  runningMs: number,
  limit: number,
) =>
  db
    .update(agentExecutions)
    .set({ checkedAt: now })
    .where(
      inArray(
        agentExecutions.id,
        db
          .select({ id: agentExecutions.id })
          .from(agentExecutions)
          .where(
            and(
              inArray(agentExecutions.status, ["queued", "running"]),
              sql`(${agentExecutions.status} = 'queued' and coalesce(${agentExecutions.checkedAt}, ${agentExecutions.createdAt}) <= ${now - queuedMs})
                or (${agentExecutions.status} = 'running' and coalesce(${agentExecutions.checkedAt}, ${agentExecutions.startedAt}, ${agentExecutions.createdAt}) <= ${now - runningMs})`,
            ),
          )
          .limit(limit),
      ),
    )
    .returning({ id: agentExecutions.id, orgId: agentExecutions.orgId })
    .all();

/** Executions of the agent since `since`, for its figures (status, duration, cost, model, day). */
export const executionFigures = (db: Db, agentIds: string[], since: number) =>
  agentIds.length === 0
    ? Promise.resolve([])
    : db
        .select({
          agentId: agentExecutions.agentId,
          status: agentExecutions.status,
          createdAt: agentExecutions.createdAt,
          startedAt: agentExecutions.startedAt,
          finishedAt: agentExecutions.finishedAt,
          costUsd: agentExecutions.costUsd,
          model: agentExecutions.model,
          tokensIn: agentExecutions.tokensIn,
          tokensOut: agentExecutions.tokensOut,
          error: agentExecutions.error,
        })
        .from(agentExecutions)
        .where(
          and(inArray(agentExecutions.agentId, agentIds), gte(agentExecutions.createdAt, since)),
        )
        .all();

/** The agent's last success and last failure (any age). */
export async function lastOutcomes(db: Db, agentId: string) {
  const last = (status: "succeeded" | "failed") =>
    db
      .select()
      .from(agentExecutions)
      .where(and(eq(agentExecutions.agentId, agentId), eq(agentExecutions.status, status)))
      .orderBy(desc(agentExecutions.id))
      .limit(1)
      .get();
  const [success, failure] = await Promise.all([last("succeeded"), last("failed")]);
  return { success, failure };
}

export async function countByStatus(db: Db, agentId: string) {
  const rows = await db
    .select({ status: agentExecutions.status, n: count() })
    .from(agentExecutions)
    .where(
      and(
        eq(agentExecutions.agentId, agentId),
        inArray(agentExecutions.status, ["queued", "running"]),
      ),
    )
    .groupBy(agentExecutions.status)
    .all();
  return Object.fromEntries(rows.map((r) => [r.status, r.n])) as Partial<
    Record<ExecutionStatus, number>
  >;
}

// ---- logs and exchanges --------------------------------------------------------------------

export const addLogs = (db: Db, rows: AgentLogRow[]) =>
  rows.length === 0 ? Promise.resolve() : db.insert(agentLogs).values(rows).run();

export const listLogs = (
  db: Db,
  agentId: string,
  executionId: string | undefined,
  limit: number,
  cursor?: string,
) =>
  db
    .select()
    .from(agentLogs)
    .where(
      and(
        eq(agentLogs.agentId, agentId),
        executionId ? eq(agentLogs.executionId, executionId) : undefined,
        before(agentLogs.id, cursor),
      ),
    )
    .orderBy(desc(agentLogs.id))
    .limit(limit + 1)
    .all();

export const addExchange = (db: Db, row: ExchangeRow) =>
  db.insert(agentExchanges).values(row).run();

export const listExchanges = (db: Db, agentId: string, limit: number, cursor?: string) =>
  db
    .select()
    .from(agentExchanges)
    .where(and(eq(agentExchanges.agentId, agentId), before(agentExchanges.id, cursor)))
    .orderBy(desc(agentExchanges.id))
    .limit(limit + 1)
    .all();

/** The cron: exchanges past their retention, logs past 30 days. Returns rows deleted. */
export async function pruneAgentRecords(db: Db, now: number, logsBefore: number) {
  const [x, l] = await db.batch([
    db
      .delete(agentExchanges)
      .where(lt(agentExchanges.expiresAt, now))
      .returning({ id: agentExchanges.id }),
    db.delete(agentLogs).where(lt(agentLogs.at, logsBefore)).returning({ id: agentLogs.id }),
  ]);
  return x.length + l.length;
}

// ---- lead scoring --------------------------------------------------------------------------

/** What the scoring rules count for a contact since `since`: events, email engagement, task outcomes. */
export async function scoringCounts(db: Db, orgId: string, contactId: string, since: number) {
  const [eventRows, engagement, taskRows] = await db.batch([
    db
      .select({ name: events.name, n: count() })
      .from(events)
      .where(
        and(
          eq(events.orgId, orgId),
          eq(events.contactId, contactId),
          gte(events.occurredAt, since),
        ),
      )
      .groupBy(events.name),
    db
      .select({
        opened: sql<number>`count(${messages.firstOpenedAt})`,
        clicked: sql<number>`count(${messages.firstClickedAt})`,
        replied: sql<number>`count(${messages.repliedAt})`,
      })
      .from(messages)
      .where(
        and(
          eq(messages.contactId, contactId),
          eq(messages.orgId, orgId),
          gte(messages.createdAt, since),
        ),
      ),
    db
      .select({ outcome: tasks.outcome, n: count() })
      .from(tasks)
      .where(
        and(
          eq(tasks.orgId, orgId),
          eq(tasks.contactId, contactId),
          isNotNull(tasks.outcome),
          gte(tasks.createdAt, since),
        ),
      )
      .groupBy(tasks.outcome),
  ]);
  return {
    events: Object.fromEntries(eventRows.map((r) => [r.name, r.n])),
    engagement: {
      opened: Number(engagement[0]?.opened ?? 0),
      clicked: Number(engagement[0]?.clicked ?? 0),
      replied: Number(engagement[0]?.replied ?? 0),
    },
    tasks: Object.fromEntries(taskRows.map((r) => [r.outcome as string, r.n])),
  };
}

/** Stores a score on the contact; returns the updated row. */
export async function setContactScore(
  db: Db,
  orgId: string,
  contactId: string,
  score: number,
  now: number,
) {
  const [row] = await db
    .update(contacts)
    .set({ score, scoredAt: now, updatedAt: now })
    .where(and(eq(contacts.orgId, orgId), eq(contacts.id, contactId)))
    .returning()
    .all();
  return row ?? null;
}

/** The agent's queued executions (sent on again when a paused agent resumes). */
export const queuedExecutionIds = async (db: Db, agentId: string) =>
  (
    await db
      .select({ id: agentExecutions.id })
      .from(agentExecutions)
      .where(and(eq(agentExecutions.agentId, agentId), eq(agentExecutions.status, "queued")))
      .all()
  ).map((r) => r.id);

/** Queued executions per agent of the org. */
export async function queuedByAgent(db: Db, orgId: string) {
  const rows = await db
    .select({ agentId: agentExecutions.agentId, n: count() })
    .from(agentExecutions)
    .where(and(eq(agentExecutions.orgId, orgId), eq(agentExecutions.status, "queued")))
    .groupBy(agentExecutions.agentId)
    .all();
  return new Map(rows.map((r) => [r.agentId, r.n]));
}

/** Every agent of the org (the fleet view), at most 1,000. */
export const allAgents = (db: Db, orgId: string) =>
  db
    .select()
    .from(agents)
    .where(eq(agents.orgId, orgId))
    .orderBy(desc(agents.id))
    .limit(1000)
    .all();
