// Metric facts and their daily rollups (see metricFacts/metricRollups in schema.ts).
import { and, eq, gte, inArray, lt, lte, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { metricFacts, metricRollups, metricTotals, orgs, stepDaily } from "../db/schema";

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
 * Three statements for a batch: the facts inserted unless their id is stored already, then
 * only the rows this batch inserted added to the rollups and to the totals (per workflow and
 * per org, as workflow "*") — in UTC, and in the fact's local zone. All facts travel as one
 * JSON parameter (D1 binds at most 100 per statement).
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
      target: ROLLUP_KEY,
      set: { value: sql`${metricRollups.value} + excluded.value` },
    });
  const totals = db
    .insert(metricTotals)
    .select(
      sql`select * from (
        select org_id, 'UTC', workflow_id, metric, day_utc, sum(value) from metric_facts where batch = ${batch} group by org_id, workflow_id, metric, day_utc
        union all
        select org_id, 'UTC', '*', metric, day_utc, sum(value) from metric_facts where batch = ${batch} group by org_id, metric, day_utc
        union all
        select org_id, zone, workflow_id, metric, day_local, sum(value) from metric_facts where batch = ${batch} and zone <> 'UTC' group by org_id, zone, workflow_id, metric, day_local
        union all
        select org_id, zone, '*', metric, day_local, sum(value) from metric_facts where batch = ${batch} and zone <> 'UTC' group by org_id, zone, metric, day_local
      ) where true`,
    )
    .onConflictDoUpdate({
      target: TOTALS_KEY,
      set: { value: sql`${metricTotals.value} + excluded.value` },
    });
  return [insert, rollup, totals];
}

/**
 * Rollup and totals statements for facts whose write is guarded by `guard` (a SQL condition,
 * evaluated when the batch runs) instead of by fact ids: the enrollment mirror's, guarded by
 * its seq. Rows are summed here and travel as one JSON parameter each.
 */
export function guardedStatements(db: Db, facts: FactRow[], guard: SQL): BatchItem[] {
  if (facts.length === 0) {
    return [];
  }
  const rollups = new Map<string, Record<string, string | number>>();
  const totals = new Map<string, Record<string, string | number>>();
  const add = (
    into: Map<string, Record<string, string | number>>,
    row: Record<string, string | number>,
  ) => {
    const { value, ...key } = row;
    const k = JSON.stringify(key);
    const cur = into.get(k);
    if (cur) {
      cur.value = Number(cur.value) + Number(value);
    } else {
      into.set(k, { ...row });
    }
  };
  for (const f of facts) {
    const zones: [string, string][] = [["UTC", f.dayUtc]];
    if (f.zone !== "UTC") {
      zones.push([f.zone, f.dayLocal]);
    }
    for (const [zone, day] of zones) {
      const { orgId, workflowId, stepId, channel, connectionId, category, variant, metric, value } =
        f;
      add(rollups, {
        orgId,
        zone,
        day,
        workflowId,
        stepId,
        channel,
        connectionId,
        category,
        variant,
        metric,
        value,
      });
      add(totals, { orgId, zone, workflowId, metric, day, value });
      add(totals, { orgId, zone, workflowId: "*", metric, day, value });
    }
  }
  const J = (k: string) => sql.raw(`json_extract(value, '$.${k}')`);
  const out: BatchItem[] = [
    db
      .insert(metricRollups)
      .select(
        sql`select ${J("orgId")}, ${J("zone")}, ${J("day")}, ${J("workflowId")}, ${J("stepId")}, ${J("channel")}, ${J("connectionId")}, ${J("category")}, ${J("variant")}, ${J("metric")}, ${J("value")} from json_each(${JSON.stringify([...rollups.values()])}) where ${guard}`,
      )
      .onConflictDoUpdate({
        target: ROLLUP_KEY,
        set: { value: sql`${metricRollups.value} + excluded.value` },
      }),
  ];
  out.push(
    db
      .insert(metricTotals)
      .select(
        sql`select ${J("orgId")}, ${J("zone")}, ${J("workflowId")}, ${J("metric")}, ${J("day")}, ${J("value")} from json_each(${JSON.stringify([...totals.values()])}) where ${guard}`,
      )
      .onConflictDoUpdate({
        target: TOTALS_KEY,
        set: { value: sql`${metricTotals.value} + excluded.value` },
      }),
  );
  return out;
}

/**
 * Rollup and totals statements for facts each guarded by its own owner (a message row that
 * says whether its fact is counted): a fact adds only while `guard(owner)` holds when the
 * batch runs, and the caller's batch flips the owner's flag after these. Summed in SQL, since
 * which facts pass is known only then; all travel as one JSON parameter each.
 */
export function ownerGuardedStatements(
  db: Db,
  facts: (FactRow & { owner: string })[],
  guard: (owner: SQL) => SQL,
): BatchItem[] {
  if (facts.length === 0) {
    return [];
  }
  const rows = facts.flatMap((f) =>
    (f.zone === "UTC"
      ? [["UTC", f.dayUtc]]
      : [
          ["UTC", f.dayUtc],
          [f.zone, f.dayLocal],
        ]
    ).map(([zone, day]) => ({ ...f, zone, day })),
  );
  const J = (k: string) => sql.raw(`json_extract(value, '$.${k}')`);
  const passes = guard(J("owner"));
  const json = JSON.stringify(
    rows.map((r) => ({
      owner: r.owner,
      orgId: r.orgId,
      zone: r.zone,
      day: r.day,
      workflowId: r.workflowId,
      stepId: r.stepId,
      channel: r.channel,
      connectionId: r.connectionId,
      category: r.category,
      variant: r.variant,
      metric: r.metric,
      value: r.value,
    })),
  );
  const rollupDims = sql.raw(
    "json_extract(value, '$.orgId'), json_extract(value, '$.zone'), json_extract(value, '$.day'), json_extract(value, '$.workflowId'), json_extract(value, '$.stepId'), json_extract(value, '$.channel'), json_extract(value, '$.connectionId'), json_extract(value, '$.category'), json_extract(value, '$.variant'), json_extract(value, '$.metric')",
  );
  const totalDims = (workflow: SQL) =>
    sql`${J("orgId")}, ${J("zone")}, ${workflow}, ${J("metric")}, ${J("day")}`;
  const totals = (workflow: SQL) =>
    sql`select ${totalDims(workflow)}, sum(${J("value")}) from json_each(${json}) where ${passes} group by ${totalDims(workflow)}`;
  return [
    db
      .insert(metricRollups)
      .select(
        sql`select ${rollupDims}, sum(${J("value")}) from json_each(${json}) where ${passes} group by ${rollupDims}`,
      )
      .onConflictDoUpdate({
        target: ROLLUP_KEY,
        set: { value: sql`${metricRollups.value} + excluded.value` },
      }),
    db
      .insert(metricTotals)
      .select(
        sql`select * from (${totals(J("workflowId"))} union all ${totals(sql`'*'`)}) where true`,
      )
      .onConflictDoUpdate({
        target: TOTALS_KEY,
        set: { value: sql`${metricTotals.value} + excluded.value` },
      }),
  ];
}

const ROLLUP_KEY = [
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
];
const TOTALS_KEY = [
  metricTotals.orgId,
  metricTotals.zone,
  metricTotals.workflowId,
  metricTotals.metric,
  metricTotals.day,
];

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

/**
 * Sums per group key and metric, each with its days as one JSON object (`{"2026-11-26": 3}`):
 * a year is one row per metric instead of 365. Reads without a finer grouping than workflow
 * come from the totals (one contiguous primary-key range per metric); the others from the
 * rollups (by their workflow index, or their primary key's day range).
 */
export async function readRollups(db: Db, q: RollupQuery) {
  const metrics = q.metrics ?? [];
  const prefixes = q.prefixes ?? [];
  const useTotals =
    (!q.groupBy && !q.workflowId) || ((!q.groupBy || q.groupBy === "workflow") && q.workflowId);
  let inner: SQL;
  if (useTotals) {
    const t = metricTotals;
    const metricFilter = [
      ...(metrics.length > 0 ? [inArray(t.metric, metrics)] : []),
      ...prefixes.map((p) => sql`${t.metric} like ${`${p}%`}`),
    ];
    inner = sql`select ${q.groupBy === "workflow" ? t.workflowId : sql`''`} as group_key, ${t.metric} as metric, ${t.day} as day, ${t.value} as total from ${t} where ${and(
      eq(t.orgId, q.orgId),
      eq(t.zone, q.zone),
      eq(t.workflowId, q.workflowId ?? "*"),
      metricFilter.length > 0 ? sql`(${sql.join(metricFilter, sql` or `)})` : undefined,
      gte(t.day, q.from),
      lte(t.day, q.to),
    )}`;
  } else {
    const r = metricRollups;
    const key = q.groupBy ? GROUP_COLUMNS[q.groupBy] : sql`''`;
    const metricFilter = [
      ...(metrics.length > 0 ? [inArray(r.metric, metrics)] : []),
      ...prefixes.map((p) => sql`${r.metric} like ${`${p}%`}`),
    ];
    inner = sql`select ${key} as group_key, ${r.metric} as metric, ${r.day} as day, sum(${r.value}) as total from ${r} where ${and(
      eq(r.orgId, q.orgId),
      eq(r.zone, q.zone),
      q.workflowId ? eq(r.workflowId, q.workflowId) : undefined,
      gte(r.day, q.from),
      lte(r.day, q.to),
      metricFilter.length > 0 ? sql`(${sql.join(metricFilter, sql` or `)})` : undefined,
    )} group by group_key, ${r.metric}, ${r.day}`;
  }
  const rows = await db.all<{ group_key: string; metric: string; days: string }>(
    sql`select group_key, metric, json_group_object(day, total) as days from (${inner}) group by group_key, metric`,
  );
  return rows.flatMap((row) =>
    Object.entries(JSON.parse(row.days) as Record<string, number>).map(([day, value]) => ({
      day,
      key: row.group_key,
      metric: row.metric,
      value: Number(value),
    })),
  );
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

/** One step's counts for one day in one zone, to add. */
export interface StepDay {
  stepId: string;
  zone: string;
  day: string;
  entered: number;
  completed: number;
  failed: number;
  ended: Record<string, number>;
  gaps: Record<string, number>;
}

/** `column` (a JSON object of counters) with `add`'s counters added, in SQL. */
function addCounters(column: SQL, add: Record<string, number>): SQL {
  const keys = Object.keys(add).filter((k) => /^[\w.]+$/.test(k));
  if (keys.length === 0) {
    return column;
  }
  const pairs = keys.map(
    (k) => sql`${`$."${k}"`}, coalesce(json_extract(${column}, ${`$."${k}"`}), 0) + ${add[k]}`,
  );
  return sql`json_set(${column}, ${sql.join(pairs, sql`, `)})`;
}

/** Upserts of a workflow's per-step daily counts, each applied only when `guard` holds. */
export function stepDayStatements(db: Db, workflowId: string, rows: StepDay[], guard: SQL) {
  const t = stepDaily;
  return rows.map((r) =>
    db
      .insert(t)
      .select(
        sql`select ${workflowId}, ${r.stepId}, ${r.zone}, ${r.day}, ${r.entered}, ${r.completed}, ${r.failed}, ${JSON.stringify(r.ended)}, ${JSON.stringify(r.gaps)} where ${guard}`,
      )
      .onConflictDoUpdate({
        target: [t.workflowId, t.stepId, t.zone, t.day],
        set: {
          entered: sql`${t.entered} + excluded.entered`,
          completed: sql`${t.completed} + excluded.completed`,
          failed: sql`${t.failed} + excluded.failed`,
          ended: addCounters(sql`${t.ended}`, r.ended) as unknown as Record<string, number>,
          gaps: addCounters(sql`${t.gaps}`, r.gaps) as unknown as Record<string, number>,
        },
      }),
  );
}

/** A workflow's per-step counts over every day (the UTC rows). */
export const stepTotals = (db: Db, workflowId: string) =>
  db
    .select({
      stepId: stepDaily.stepId,
      entered: sql<number>`sum(${stepDaily.entered})`.as("entered"),
      completed: sql<number>`sum(${stepDaily.completed})`.as("completed"),
      failed: sql<number>`sum(${stepDaily.failed})`.as("failed"),
    })
    .from(stepDaily)
    .where(and(eq(stepDaily.workflowId, workflowId), eq(stepDaily.zone, "UTC")))
    .groupBy(stepDaily.stepId)
    .all();

/** A workflow's per-step daily rows in a zone and range of days. */
export const stepDays = (db: Db, workflowId: string, zone: string, from: string, to: string) =>
  db
    .select()
    .from(stepDaily)
    .where(
      and(
        eq(stepDaily.workflowId, workflowId),
        eq(stepDaily.zone, zone),
        gte(stepDaily.day, from),
        lte(stepDaily.day, to),
      ),
    )
    .all();
