// Stored idempotent responses, keyed per org.
import { and, eq, lt } from "drizzle-orm";
import type { Db } from "./client";
import { idempotencyKeys } from "./schema";

export type IdempotencyRow = typeof idempotencyKeys.$inferSelect;

/** Claims the key; returns true when this request owns it. */
export async function claimKey(
  db: Db,
  orgId: string,
  key: string,
  requestHash: string,
  now: number,
  ttlMs: number,
) {
  const inserted = await db
    .insert(idempotencyKeys)
    .values({ orgId, key, requestHash, state: "running", createdAt: now, expiresAt: now + ttlMs })
    .onConflictDoNothing()
    .returning({ key: idempotencyKeys.key })
    .all();
  return inserted.length === 1;
}

export const getKey = (db: Db, orgId: string, key: string) =>
  db
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.orgId, orgId), eq(idempotencyKeys.key, key)))
    .get();

export const completeKey = (db: Db, orgId: string, key: string, status: number, body: string) =>
  db
    .update(idempotencyKeys)
    .set({ state: "done", responseStatus: status, responseBody: body })
    .where(and(eq(idempotencyKeys.orgId, orgId), eq(idempotencyKeys.key, key)))
    .run();

export const releaseKey = (db: Db, orgId: string, key: string) =>
  db
    .delete(idempotencyKeys)
    .where(and(eq(idempotencyKeys.orgId, orgId), eq(idempotencyKeys.key, key)))
    .run();

/** Drops one expired or abandoned key so it can be claimed again. */
export const dropIfStale = (db: Db, orgId: string, key: string, staleBefore: number) =>
  db
    .delete(idempotencyKeys)
    .where(
      and(
        eq(idempotencyKeys.orgId, orgId),
        eq(idempotencyKeys.key, key),
        lt(idempotencyKeys.expiresAt, staleBefore),
      ),
    )
    .run();

export const purgeExpiredKeys = (db: Db, now: number) =>
  db.delete(idempotencyKeys).where(lt(idempotencyKeys.expiresAt, now)).run();
