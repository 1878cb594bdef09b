// Provider event ids already applied, per connection (a redelivered provider webhook is
// ignored; one tenant's event ids never shadow another's).

import { and, desc, eq, inArray, lt, notExists, or, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { connections, inboundEvents, inboundMail } from "../db/schema";

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

/**
 * Claims a signature's one-use value (a Mailgun token) for the connection; false when it was
 * claimed before — a replay. Kept as long as event ids, far beyond the signature's freshness
 * window, so a token can never be used twice while its signature is still accepted.
 */
export const claimSignatureNonce = (
  db: Db,
  connectionId: string,
  nonce: string,
  now = Date.now(),
) => markInboundSeen(db, connectionId, `nonce:${nonce}`, now);

/** Un-marks an event whose processing failed, so its redelivery is processed. */
export const forgetInboundSeen = (db: Db, connectionId: string, eventId: string) =>
  db
    .delete(inboundEvents)
    .where(and(eq(inboundEvents.connectionId, connectionId), eq(inboundEvents.eventId, eventId)))
    .run();

/**
 * Event ids remembered for the life of their connection: texts people send (STOP, START). Their
 * webhook (Twilio's) is signed over the URL and parameters only, with no time in it, so a
 * captured STOP or START forgotten after a month could be replayed to flip a subscription back.
 * Its id is the message SID (`sms_received:<sid>`, src/messaging/outreach.ts), which never recurs.
 */
const KEPT_PREFIX = "sms_received:";

/**
 * Forgets provider event ids older than `before` (providers redeliver within hours, not
 * weeks) — but a received text's only once its connection is gone — a bounded batch per call
 * so one cron tick stays short.
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
          .where(
            and(
              lt(inboundEvents.receivedAt, before),
              or(
                sql`substr(${inboundEvents.eventId}, 1, ${KEPT_PREFIX.length}) <> ${KEPT_PREFIX}`,
                notExists(
                  db
                    .select({ one: sql`1` })
                    .from(connections)
                    .where(eq(connections.id, inboundEvents.connectionId)),
                ),
              ),
            ),
          )
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
