// Metric facts and their daily rollups (see metricFacts/metricRollups in schema.ts).
import { and, eq, gte, inArray, lt, lte, sql } from "drizzle-orm";
import type { Db } from "./client";
import { metricFacts, metricRollups, orgs } from "./schema";

export type FactRow = Omit<typeof metricFacts.$inferSelect, "batch">;
export type BatchItem = Parameters<Db["batch"]>[0][number];

/** The dimensions a read can group by, and their columns. */
export const GROUP_COLUMNS = {
  workflow: metricRollups.workflowId,
  step: metricRollups.stepId,
  channel: metricRollups.channel,
  connection: metricRollups.connectionId,
  category: metricRollups.category,
  variant: metricRollups.variant,
} as const;
export type GroupBy = keyof typeof GROUP_COLUMNS;

const F = (k: keyof FactRow) => sql.raw(`json_extract(value, '$.${k}')`);

/**
 * Two statements for a batch: the facts inserted unless their id is stored already, then only
 * the rows this batch inserted added to the rollups — in UTC, and in the fact's local zone.
 * All facts travel as one JSON parameter (D1 binds at most 100 per statement).
 */
export function factStatements(db: Db, facts: FactRow[], batch: string): BatchItem[] {
  if (facts.length === 0) {
    return [];
  }
  const insert = db
    .insert(metricFacts)
    .select(
      sql`select ${F("id")}, ${batch}, ${F("orgId")}, ${F("at")}, ${F("dayUtc")}, ${F("zone")}, ${F("dayLocal")}, ${F("workflowId")}, ${F("stepId")}, ${F("channel")}, ${F("connectionId")}, ${F("category")}, ${F("variant")}, ${F("metric")}, ${F("value")} from json_each(${JSON.stringify(facts)}) where true`,
    )
    .onConflictDoNothing();
  const dims = sql.raw("workflow_id, step_id, channel, connection_id, category, variant, metric");
  const rollup = db
    .insert(metricRollups)
    .select(
      sql`select * from (
        select org_id, 'UTC', day_utc, ${dims}, sum(value) from metric_facts where batch = ${batch} group by org_id, day_utc, ${dims}
        union all
        select org_id, zone, day_local, ${dims}, sum(value) from metric_facts where batch = ${batch} and zone <> 'UTC' group by org_id, zone, day_local, ${dims}
      ) where true`,
    )
    .onConflictDoUpdate({
      target: [
        metricRollups.orgId,
        metricRollups.zone,
        metricRollups.day,
        metricRollups.workflowId,
        metricRollups.stepId,
        metricRollups.channel,
        metricRollups.connectionId,
        metricRollups.category,
        metricRollups.variant,
        metricRollups.metric,
      ],
      set: { value: sql`${metricRollups.value} + excluded.value` },
    });
  return [insert, rollup];
}

export async function writeFacts(db: Db, facts: FactRow[], batch: string) {
  const stmts = factStatements(db, facts, batch);
  if (stmts.length > 0) {
    await db.batch(stmts as [BatchItem, ...BatchItem[]]);
  }
}

export const reportingZone = async (db: Db, orgId: string) =>
  (await db.select({ z: orgs.reportingTimezone }).from(orgs).where(eq(orgs.id, orgId)).get())?.z ??
  "UTC";

export const setReportingZone = (db: Db, orgId: string, zone: string) =>
  db.update(orgs).set({ reportingTimezone: zone }).where(eq(orgs.id, orgId)).run();

export interface RollupQuery {
  orgId: string;
  zone: string;
  from: string;
  to: string;
  workflowId?: string;
  groupBy?: GroupBy;
  /** Metric names as stored (exit reasons as `exited.<reason>`, gaps as `gap.<bucket>`). */
  metrics?: string[];
  /** Metrics whose name starts with one of these (`exited.`, `gap.`). */
  prefixes?: string[];
}

/** Sums per day, group key and metric: one indexed range read, aggregated in SQL. */
export function readRollups(db: Db, q: RollupQuery) {
  const key = q.groupBy ? GROUP_COLUMNS[q.groupBy] : sql<string>`''`;
  const metricFilter = [
    ...(q.metrics && q.metrics.length > 0 ? [inArray(metricRollups.metric, q.metrics)] : []),
    ...(q.prefixes ?? []).map((p) => sql`${metricRollups.metric} like ${`${p}%`}`),
  ];
  return db
    .select({
      day: metricRollups.day,
      key: sql<string>`${key}`.as("group_key"),
      metric: metricRollups.metric,
      value: sql<number>`sum(${metricRollups.value})`.as("total"),
    })
    .from(metricRollups)
    .where(
      and(
        eq(metricRollups.orgId, q.orgId),
        eq(metricRollups.zone, q.zone),
        q.workflowId ? eq(metricRollups.workflowId, q.workflowId) : undefined,
        gte(metricRollups.day, q.from),
        lte(metricRollups.day, q.to),
        metricFilter.length > 0 ? sql`(${sql.join(metricFilter, sql` or `)})` : undefined,
      ),
    )
    .groupBy(metricRollups.day, key, metricRollups.metric)
    .all();
}

/** Facts older than `before` can no longer be retried: their ids need not be kept. */
export async function pruneFacts(db: Db, before: number, limit = 5_000) {
  const r = await db
    .delete(metricFacts)
    .where(
      inArray(
        metricFacts.id,
        db
          .select({ id: metricFacts.id })
          .from(metricFacts)
          .where(lt(metricFacts.at, before))
          .limit(limit),
      ),
    )
    .run();
  return Number((r as { meta?: { changes?: number } }).meta?.changes ?? 0);
}
