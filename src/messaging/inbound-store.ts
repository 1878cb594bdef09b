// Provider event ids already applied, per connection (a redelivered provider webhook is
// ignored; one tenant's event ids never shadow another's).

import { and, desc, eq, inArray, lt, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { inboundEvents, inboundMail } from "../db/schema";

export async function markInboundSeen(
  db: Db,
  connectionId: string,
  eventId: string,
  now = Date.now(),
) {
  const r = await db
    .insert(inboundEvents)
    .values({ connectionId, eventId, receivedAt: now })
    .onConflictDoNothing()
    .returning({ id: inboundEvents.eventId })
    .all();
  return r.length === 1;
}

/** Un-marks an event whose processing failed, so its redelivery is processed. */
export const forgetInboundSeen = (db: Db, connectionId: string, eventId: string) =>
  db
    .delete(inboundEvents)
    .where(and(eq(inboundEvents.connectionId, connectionId), eq(inboundEvents.eventId, eventId)))
    .run();

/**
 * Forgets provider event ids older than `before` (providers redeliver within hours, not
 * weeks), a bounded batch per call so one cron tick stays short.
 */
export const pruneInboundSeen = (db: Db, before: number, limit = 5000) =>
  db
    .delete(inboundEvents)
    .where(
      inArray(
        sql`rowid`,
        db
          .select({ rowid: sql`rowid` })
          .from(inboundEvents)
          .where(lt(inboundEvents.receivedAt, before))
          .limit(limit),
      ),
    )
    .run();

export type InboundMailRow = typeof inboundMail.$inferSelect;

/** Every received mail, matched or not, with what was decided about it. */
export const insertInboundMail = (db: Db, row: InboundMailRow) =>
  db.insert(inboundMail).values(row).onConflictDoNothing().run();

export const inboundMailOf = (db: Db, messageId: string) =>
  db.select().from(inboundMail).where(eq(inboundMail.messageId, messageId)).all();

/** Mail not applied to any message (matched to none, or by its sender only): the newest first. */
export const unmatchedMail = (db: Db, limit = 50) =>
  db
    .select()
    .from(inboundMail)
    .where(eq(inboundMail.kind, "unmatched"))
    .orderBy(desc(inboundMail.id))
    .limit(limit)
    .all();
