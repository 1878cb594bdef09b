// One drizzle handle per request/alarm over the D1 binding, metered: every statement and the
// rows D1 reports written are counted (src/metrics.ts).
import { drizzle } from "drizzle-orm/d1";
import { countD1 } from "../ground/metrics";
import * as directorySchema from "./directory-schema";
import * as schema from "./schema";

/**
 * An org shard's database. Only src/db/shards.ts makes one (shardFor names the org); stores
 * take it as a parameter.
 */
export type Db = ReturnType<typeof database>;
export const database = (d1: D1Database) => drizzle(metered(d1), { schema });
/** The directory database (src/db/shards.ts): org placements and name owners. */
export type DirectoryDb = ReturnType<typeof directoryDatabase>;
export const directoryDatabase = (d1: D1Database) =>
  drizzle(metered(d1), { schema: directorySchema });

/** D1 binds at most 100 parameters a statement: lists of ids go in slices of this size. */
export const IN_SLICE = 90;

export function slices<T>(items: T[], size = IN_SLICE): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) {
    out.push(items.slice(i, i + size));
  }
  return out;
}

/** Runs one statement per slice of `ids` in a single batch (nothing when `ids` is empty). */
export async function perSlice(
  db: Db,
  ids: string[],
  statement: (slice: string[]) => Parameters<Db["batch"]>[0][number],
) {
  const stmts = slices(ids).map(statement);
  if (stmts.length > 0) {
    await db.batch(stmts as unknown as Parameters<Db["batch"]>[0]);
  }
}

export const iso = (ms: number | null | undefined): string | null =>
  ms == null ? null : new Date(ms).toISOString();

const written = (r: unknown) =>
  Number((r as { meta?: { rows_written?: number } } | null)?.meta?.rows_written ?? 0);

function meteredStatement(stmt: D1PreparedStatement): D1PreparedStatement {
  return new Proxy(stmt, {
    get(target, prop) {
      if (prop === "bind") {
        return (...values: unknown[]) => meteredStatement(target.bind(...values));
      }
      if (prop === "run" || prop === "all") {
        return async () => {
          const r = await target[prop]();
          countD1(1, written(r));
          return r;
        };
      }
      if (prop === "raw") {
        // Through all() so the write count is not lost; rows become arrays in column order,
        // exactly as drizzle maps batch results (d1ToRawMapping). Column names must not be
        // integer-like (an unaliased sql`0` is named "0" and would sort first): alias them.
        return async () => {
          const r = await target.all<Record<string, unknown>>();
          countD1(1, written(r));
          return r.results.map((row) => Object.keys(row).map((k) => row[k]));
        };
      }
      if (prop === "first") {
        return async (column?: string) => {
          countD1(1, 0);
          return column === undefined ? target.first() : target.first(column);
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** The binding with its statements and batches counted. */
function metered(d1: D1Database): D1Database {
  return new Proxy(d1, {
    get(target, prop) {
      if (prop === "prepare") {
        return (query: string) => meteredStatement(target.prepare(query));
      }
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          // Statements prepared through the proxy unwrap to themselves: the batch counts them once.
          const results = await target.batch(statements);
          countD1(
            results.length,
            results.reduce((n, r) => n + written(r), 0),
          );
          return results;
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** A unique-index violation, as D1 reports it (drizzle wraps it: the cause carries it). */
export const isUniqueViolation = (err: unknown): boolean =>
  String(err).includes("UNIQUE") ||
  String((err as { cause?: unknown } | null)?.cause ?? "").includes("UNIQUE");
