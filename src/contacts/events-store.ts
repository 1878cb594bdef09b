// Tracked events, indexed for "a contact's events by time" and "events by name", and the
// outbox of accepted events still to fan out.
import { and, desc, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { eventFanouts, events } from "../db/schema";

export type EventRow = typeof events.$inferSelect;

/** 10 columns: 9 rows per statement stay under D1's 100 bound parameters. */
const ROWS_PER_INSERT = 9;
/** Statements per D1 batch. */
const PER_BATCH = 50;

async function inBatches<T>(db: Db, stmts: T[]) {
  const out: unknown[] = [];
  for (let i = 0; i < stmts.length; i += PER_BATCH) {
    const group = stmts.slice(i, i + PER_BATCH) as unknown as Parameters<typeof db.batch>[0];
    out.push(...(await db.batch(group)));
  }
  return out;
}

/** Inserts events; one with a client id already stored is skipped (never stored twice). */
export async function insertEvents(db: Db, rows: EventRow[]) {
  if (rows.length === 0) {
    return;
  }
  const stmts = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    stmts.push(
      db
        .insert(events)
        .values(rows.slice(i, i + ROWS_PER_INSERT))
        .onConflictDoNothing(),
    );
  }
  await inBatches(db, stmts);
}

/**
 * Stores tracked events with their pending fan-out, in as few round trips as D1 allows: each
 * event and its outbox row land together. Returns the ids stored; an event whose client id
 * was stored before is not (see eventsByClientIds).
 */
export async function acceptEvents(db: Db, rows: EventRow[], now: number): Promise<Set<string>> {
  const stmts = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    const slice = rows.slice(i, i + ROWS_PER_INSERT);
    stmts.push(
      db.insert(events).values(slice).onConflictDoNothing().returning({ id: events.id }),
      // Only the events that were stored get an outbox row.
      db.insert(eventFanouts).select(
        db
          .select({
            eventId: events.id,
            orgId: events.orgId,
            queuedAt: sql<number>`${now}`.as("queued_at"),
            claimedAt: sql<null>`null`.as("claimed_at"),
          })
          .from(events)
          .where(
            inArray(
              events.id,
              slice.map((r) => r.id),
            ),
          ),
      ),
    );
  }
  const out = (await inBatches(db, stmts)) as { id: string }[][];
  return new Set(out.filter((_, i) => i % 2 === 0).flatMap((r) => r.map((x) => x.id)));
}

/** How many accepted events are still to fan out. */
export async function pendingFanoutCount(db: Db) {
  const r = await db.select({ n: sql<number>`count(*)` }).from(eventFanouts).get();
  return r?.n ?? 0;
}

/** The stored events of an org by client id. */
export async function eventsByClientIds(db: Db, orgId: string, clientIds: string[]) {
  const found = new Map<string, string>();
  for (let i = 0; i < clientIds.length; i += 90) {
    for (const r of await db
      .select({ id: events.id, clientId: events.clientId })
      .from(events)
      .where(and(eq(events.orgId, orgId), inArray(events.clientId, clientIds.slice(i, i + 90))))
      .all()) {
      found.set(r.clientId as string, r.id);
    }
  }
  return found;
}

export async function eventsByIds(db: Db, ids: string[]) {
  const out: EventRow[] = [];
  for (let i = 0; i < ids.length; i += 90) {
    out.push(
      ...(await db
        .select()
        .from(events)
        .where(inArray(events.id, ids.slice(i, i + 90)))
        .all()),
    );
  }
  return out;
}

/**
 * Claims pending fan-outs for this worker: unclaimed, or claimed longer ago than `staleMs` (a
 * worker that died). Returns the ids claimed; the others are someone else's or done.
 */
export async function claimFanouts(db: Db, ids: string[], now: number, staleMs: number) {
  const claimed: string[] = [];
  for (let i = 0; i < ids.length; i += 90) {
    const rows = await db
      .update(eventFanouts)
      .set({ claimedAt: now })
      .where(
        and(
          inArray(eventFanouts.eventId, ids.slice(i, i + 90)),
          or(isNull(eventFanouts.claimedAt), lt(eventFanouts.claimedAt, now - staleMs)),
        ),
      )
      .returning({ id: eventFanouts.eventId })
      .all();
    claimed.push(...rows.map((r) => r.id));
  }
  return claimed;
}

export async function finishFanouts(db: Db, ids: string[]) {
  for (let i = 0; i < ids.length; i += 90) {
    await db
      .delete(eventFanouts)
      .where(inArray(eventFanouts.eventId, ids.slice(i, i + 90)))
      .run();
  }
}

/**
 * Fan-outs whose queue job was lost: queued more than `graceMs` ago and not claimed (or
 * claimed by a worker that died). Marks them queued now.
 */
export async function overdueFanouts(
  db: Db,
  now: number,
  graceMs: number,
  staleMs: number,
  limit: number,
) {
  const rows = await db
    .update(eventFanouts)
    .set({ queuedAt: now, claimedAt: null })
    .where(
      and(
        lt(eventFanouts.queuedAt, now - graceMs),
        or(isNull(eventFanouts.claimedAt), lt(eventFanouts.claimedAt, now - staleMs)),
      ),
    )
    .returning({ id: eventFanouts.eventId, orgId: eventFanouts.orgId })
    .all();
  return rows.slice(0, limit);
}

export const listContactEvents = (
  db: Db,
  orgId: string,
  contactId: string,
  limit: number,
  before?: string,
) =>
  db
    .select()
    .from(events)
    .where(
      and(
        eq(events.orgId, orgId),
        eq(events.contactId, contactId),
        before ? lt(events.id, before) : undefined,
      ),
    )
    .orderBy(desc(events.id))
    .limit(limit + 1)
    .all();
