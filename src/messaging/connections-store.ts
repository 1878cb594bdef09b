// Provider connections (email, SMS, calls; credentials encrypted at rest).
import { and, asc, desc, eq, inArray, lt } from "drizzle-orm";
import type { Db } from "../db/client";
import { connections } from "../db/schema";

export type ConnectionRow = typeof connections.$inferSelect;

export const insertConnection = (db: Db, row: ConnectionRow) =>
  db.insert(connections).values(row).run();

export const getConnection = (db: Db, orgId: string, id: string) =>
  db
    .select()
    .from(connections)
    .where(and(eq(connections.orgId, orgId), eq(connections.id, id)))
    .get();

export const getConnectionByKey = (db: Db, orgId: string, key: string) =>
  db
    .select()
    .from(connections)
    .where(and(eq(connections.orgId, orgId), eq(connections.key, key)))
    .get();

export const listConnections = (db: Db, orgId: string, limit: number, before?: string) =>
  db
    .select()
    .from(connections)
    .where(and(eq(connections.orgId, orgId), before ? lt(connections.id, before) : undefined))
    .orderBy(desc(connections.id))
    .limit(limit + 1)
    .all();

export const updateConnection = (db: Db, row: ConnectionRow) =>
  db.update(connections).set(row).where(eq(connections.id, row.id)).run();

export const deleteConnection = async (db: Db, orgId: string, id: string) =>
  (
    await db
      .delete(connections)
      .where(and(eq(connections.orgId, orgId), eq(connections.id, id)))
      .returning({ id: connections.id })
      .all()
  ).length === 1;

/** For inbound provider webhooks, whose URL names the connection (the org comes from it). */
export const getConnectionById = (db: Db, id: string) =>
  db.select().from(connections).where(eq(connections.id, id)).get();

/**
 * The orgs (at most two: one is an owner, two are not) whose connections on this shard use
 * `domain` as their reply domain; mail received there is the org's when exactly one does.
 */
export async function replyDomainOwners(db: Db, domain: string): Promise<string[]> {
  const owners = await db
    .selectDistinct({ orgId: connections.orgId })
    .from(connections)
    .where(eq(connections.replyDomain, domain.toLowerCase()))
    .limit(2)
    .all();
  return owners.map((o) => o.orgId);
}

/** The org's oldest connection of one of these providers. */
export const firstConnectionOf = (db: Db, orgId: string, providers: string[]) =>
  db
    .select()
    .from(connections)
    .where(and(eq(connections.orgId, orgId), inArray(connections.provider, providers)))
    .orderBy(asc(connections.id))
    .get();

/** Pauses (a reason and time) or resumes (nulls) a connection; the row after. */
export const setConnectionPause = async (
  db: Db,
  id: string,
  at: number | null,
  reason: string | null,
) =>
  (
    await db
      .update(connections)
      .set({ pausedAt: at, pausedReason: reason })
      .where(eq(connections.id, id))
      .returning()
      .all()
  )[0];

/** Resumes a paused connection: its health counts sends from now on. */
export const resumeConnection = async (db: Db, id: string, now: number) =>
  (
    await db
      .update(connections)
      .set({ pausedAt: null, pausedReason: null, healthSince: now })
      .where(eq(connections.id, id))
      .returning()
      .all()
  )[0];
