// Contact imports: the rows in chunks, and progress counters updated per chunk.
import { and, eq, inArray, lt, sql } from "drizzle-orm";
import { type Db, perSlice } from "../db/client";
import { type ImportError, importRows, imports, type RowAt } from "../db/schema";

export type ImportRow = typeof imports.$inferSelect;

export interface ImportChunk {
  rows: unknown[];
  /** Where each row was in a CSV file; null for JSON (rows are numbered by position). */
  lines: RowAt[] | null;
}

export async function createImport(db: Db, row: ImportRow, chunks: ImportChunk[]) {
  const stmts = [
    db.insert(imports).values(row),
    ...chunks.map((c, chunk) =>
      db.insert(importRows).values({ importId: row.id, chunk, rows: c.rows, lines: c.lines }),
    ),
  ];
  // D1 limits a batch's size; insert in groups.
  for (let i = 0; i < stmts.length; i += 50) {
    const group = stmts.slice(i, i + 50);
    await db.batch(group as [(typeof group)[0], ...typeof group]);
  }
}

export const getImport = (db: Db, orgId: string, id: string) =>
  db
    .select()
    .from(imports)
    .where(and(eq(imports.orgId, orgId), eq(imports.id, id)))
    .get();

export const getImportById = (db: Db, id: string) =>
  db.select().from(imports).where(eq(imports.id, id)).get();

export const getChunk = (db: Db, importId: string, chunk: number) =>
  db
    .select()
    .from(importRows)
    .where(and(eq(importRows.importId, importId), eq(importRows.chunk, chunk)))
    .get();

const MAX_ERRORS = 1000;

/** Adds a chunk's counts and removes the chunk, atomically: a redelivered chunk finds nothing to do. */
export async function completeChunk(
  db: Db,
  importId: string,
  chunk: number,
  counts: { processed: number; created: number; skipped: number; failed: number },
  errors: ImportError[],
  now: number,
) {
  await db.batch([
    db
      .delete(importRows)
      .where(and(eq(importRows.importId, importId), eq(importRows.chunk, chunk))),
    db
      .update(imports)
      .set({
        processed: sql`${imports.processed} + ${counts.processed}`,
        created: sql`${imports.created} + ${counts.created}`,
        skipped: sql`${imports.skipped} + ${counts.skipped}`,
        failed: sql`${imports.failed} + ${counts.failed}`,
        errors: sql`(select json_group_array(json(value)) from (select value from json_each(${imports.errors}) union all select value from json_each(${JSON.stringify(errors)}) limit ${MAX_ERRORS}))`,
        status: sql`case when ${imports.processed} + ${counts.processed} >= ${imports.total} then 'completed' else 'processing' end`,
        updatedAt: now,
      })
      .where(eq(imports.id, importId)),
  ]);
}

/** Chunks of imports that have not moved for `graceMs` (their queue job was lost). Marks those imports as touched. */
export async function claimStalledChunks(db: Db, now: number, graceMs: number, limit: number) {
  const rows = await db
    .select({ importId: importRows.importId, chunk: importRows.chunk, orgId: imports.orgId })
    .from(importRows)
    .innerJoin(imports, eq(imports.id, importRows.importId))
    .where(
      and(inArray(imports.status, ["queued", "processing"]), lt(imports.updatedAt, now - graceMs)),
    )
    .limit(limit)
    .all();
  const ids = [...new Set(rows.map((r) => r.importId))];
  await perSlice(db, ids, (slice) =>
    db.update(imports).set({ updatedAt: now }).where(inArray(imports.id, slice)),
  );
  return rows;
}
