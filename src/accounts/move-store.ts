// The SQL of moving an org between shards (src/accounts/move.ts): which tables hold an org's
// rows and how each is reached, and the paged reads, writes, counts and deletes over them.
// Rows are copied as D1 returns them (JSON columns stay text), so no column is reshaped.
import type { Db } from "../db/shards";

/**
 * How a table's rows are found for one org: by a column naming it, or through a parent table
 * whose `id` the column holds (tables keyed by a workflow, delivery, import ... id alone).
 */
export type Owner = { column: string } | { column: string; parent: string };

export interface MovedTable {
  name: string;
  /** The primary key's columns: pages are read in its order, and deleted by it. */
  key: string[];
  owner: Owner;
}

const byOrg = (name: string, key: string[] = ["id"]): MovedTable => ({
  name,
  key,
  owner: { column: "org_id" },
});
const through = (name: string, key: string[], parent: string): MovedTable => ({
  name,
  key,
  owner: { column: key[0], parent },
});

/**
 * Every table of an org shard that holds org data, in copy order: the orgs row first (its
 * insert trigger makes the quota rows), parents before the tables reached through them, and
 * org_usage last so the counts the triggers kept while rows arrived are replaced by the source's.
 * test/shards/move.test.ts fails when a table of the schema is in neither this list nor
 * NOT_ORG_DATA, so a new table cannot be left behind by a move.
 */
export const MOVED_TABLES: readonly MovedTable[] = [
  { name: "orgs", key: ["id"], owner: { column: "id" } },
  byOrg("api_keys"),
  byOrg("idempotency_keys", ["org_id", "key"]),
  byOrg("contacts"),
  byOrg("events"),
  byOrg("event_fanouts", ["event_id"]),
  byOrg("templates"),
  byOrg("workflows"),
  byOrg("enrollments"),
  byOrg("messages"),
  byOrg("outbox"),
  byOrg("tasks"),
  byOrg("topics"),
  byOrg("send_claims", ["effect_key"]),
  byOrg("connections"),
  byOrg("webhooks"),
  byOrg("webhook_deliveries"),
  byOrg("imports"),
  // Received mail matched to no org (org_id null) stays with the shard that received it.
  byOrg("inbound_mail"),
  byOrg("metric_facts"),
  byOrg("metric_rollups", [
    "org_id",
    "zone",
    "day",
    "workflow_id",
    "step_id",
    "channel",
    "connection_id",
    "category",
    "variant",
    "metric",
  ]),
  byOrg("metric_totals", ["org_id", "zone", "workflow_id", "metric", "day"]),
  byOrg("reports"),
  byOrg("agent_templates"),
  byOrg("agents"),
  byOrg("agent_executions"),
  byOrg("agent_logs"),
  byOrg("agent_exchanges"),
  through("api_key_usage", ["key_id", "hour"], "api_keys"),
  through("workflow_versions", ["workflow_id", "version"], "workflows"),
  through("step_daily", ["workflow_id", "step_id", "zone", "day"], "workflows"),
  through("webhook_attempts", ["delivery_id", "attempt"], "webhook_deliveries"),
  through("import_rows", ["import_id", "chunk"], "imports"),
  through("inbound_events", ["connection_id", "event_id"], "connections"),
  byOrg("org_usage", ["org_id", "resource"]),
];

/** Tables of an org shard that hold no org's rows, and why (the move leaves them). */
export const NOT_ORG_DATA: Readonly<Record<string, string>> = {
  settings: "settings of the deployment, the same on every shard",
};

/** Rows read (and written, one statement each, in one batch) per page of a copy. */
export const MOVE_PAGE_ROWS = 100;
/** Rows deleted per statement when the org's rows leave a shard. */
const DELETE_PAGE_ROWS = 500;

type Row = Record<string, unknown>;

const q = (name: string) => `"${name.replaceAll('"', '""')}"`;
const cols = (names: string[]) => names.map(q).join(", ");

/** The SQL condition selecting the org's rows of `t` (one parameter: the org id). */
function ownedBy(t: MovedTable): string {
  return "parent" in t.owner
    ? `${q(t.owner.column)} IN (SELECT "id" FROM ${q(t.owner.parent)} WHERE "org_id" = ?)`
    : `${q(t.owner.column)} = ?`;
}

const d1 = (db: Db) => db.$client;

/** How many of the org's rows `t` holds on this shard. */
export async function countRows(db: Db, t: MovedTable, orgId: string): Promise<number> {
  const row = await d1(db)
    .prepare(`SELECT count(*) AS n FROM ${q(t.name)} WHERE ${ownedBy(t)}`)
    .bind(orgId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** The org's rows of `t` after `after` (a key, in key order; null: from the start), a page. */
export async function readPage(
  db: Db,
  t: MovedTable,
  orgId: string,
  after: unknown[] | null,
): Promise<Row[]> {
  const keyed = `(${cols(t.key)})`;
  const from = after ? ` AND ${keyed} > (${t.key.map(() => "?").join(", ")})` : "";
  const { results } = await d1(db)
    .prepare(
      `SELECT * FROM ${q(t.name)} WHERE ${ownedBy(t)}${from} ORDER BY ${cols(t.key)} LIMIT ?`,
    )
    .bind(orgId, ...(after ?? []), MOVE_PAGE_ROWS)
    .all<Row>();
  return results;
}

/**
 * Writes rows into `t`, one INSERT OR REPLACE each in one batch (a row binds one parameter
 * per column, far under D1's 100). REPLACE makes a copy interrupted and run again harmless.
 */
export async function writePage(db: Db, t: MovedTable, rows: Row[]) {
  if (rows.length === 0) {
    return;
  }
  const client = d1(db);
  await client.batch(
    rows.map((row) => {
      const names = Object.keys(row);
      return client
        .prepare(
          `INSERT OR REPLACE INTO ${q(t.name)} (${cols(names)}) VALUES (${names.map(() => "?").join(", ")})`,
        )
        .bind(...names.map((n) => row[n]));
    }),
  );
}

/**
 * Raises the org's quotas on the shard receiving it while its rows arrive: the copy creates
 * nothing, and an org kept over a lowered limit must not be refused its own rows. org_usage is
 * copied last, so the source's limits and counts replace these.
 */
export async function liftQuotas(db: Db, orgId: string) {
  await d1(db)
    .prepare(`UPDATE "org_usage" SET "quota" = ? WHERE "org_id" = ?`)
    .bind(Number.MAX_SAFE_INTEGER, orgId)
    .run();
}

/** Deletes the org's rows of `t` from this shard, a page per statement until none is left. */
export async function deleteRows(db: Db, t: MovedTable, orgId: string): Promise<number> {
  const keyed = `(${cols(t.key)})`;
  const stmt = d1(db)
    .prepare(
      `DELETE FROM ${q(t.name)} WHERE ${keyed} IN (SELECT ${cols(t.key)} FROM ${q(t.name)} WHERE ${ownedBy(t)} LIMIT ?)`,
    )
    .bind(orgId, DELETE_PAGE_ROWS);
  let deleted = 0;
  for (;;) {
    const { meta } = await stmt.run();
    deleted += meta.changes;
    if (meta.changes < DELETE_PAGE_ROWS) {
      return deleted;
    }
  }
}

/** The tables of a shard's schema (SQLite's and D1's own left out). */
export async function tablesOf(db: Db): Promise<string[]> {
  const { results } = await d1(db)
    .prepare(
      `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name != 'd1_migrations' ORDER BY name`,
    )
    .all<{ name: string }>();
  return results.map((r) => r.name);
}
