// Captured messages: the emails, texts and calls the capture provider (src/providers/capture.ts)
// kept instead of sending, as GET /v1/outbox lists them.
import { and, desc, eq, lt } from "drizzle-orm";
import type { Db } from "./client";
import { captured, messages } from "./schema";

export type CapturedRow = typeof captured.$inferSelect;

/**
 * A captured message's id, derived from its message's (`msg_X` → `obx_X`): one row per message
 * by the primary key alone, so a redelivered job cannot capture twice and no other unique
 * index is written.
 */
export const capturedIdOf = (messageId: string) =>
  `obx_${messageId.slice(messageId.indexOf("_") + 1)}`;

/** Stores a capture under its message's id (see capturedIdOf); a repeat is ignored. */
export const storeCaptured = (db: Db, row: Omit<CapturedRow, "id">) =>
  db
    .insert(captured)
    .values({ ...row, id: capturedIdOf(row.messageId) })
    .onConflictDoNothing()
    .run();

/** A captured message with its message's outcome (a call's, once recorded). */
const withOutcome = (db: Db) =>
  db
    .select({ item: captured, outcome: messages.outcome })
    .from(captured)
    .leftJoin(messages, eq(messages.id, captured.messageId));

const flat = (r: { item: CapturedRow; outcome: string | null }) => ({
  ...r.item,
  outcome: r.outcome,
});

export const getCaptured = async (db: Db, orgId: string, id: string) => {
  const r = await withOutcome(db)
    .where(and(eq(captured.orgId, orgId), eq(captured.id, id)))
    .get();
  return r ? flat(r) : undefined;
};

export const listCaptured = async (
  db: Db,
  orgId: string,
  f: { to?: string; messageId?: string; channel?: CapturedRow["channel"] },
  limit: number,
  before?: string,
) =>
  (
    await withOutcome(db)
      .where(
        and(
          eq(captured.orgId, orgId),
          f.to ? eq(captured.to, f.to) : undefined,
          f.messageId ? eq(captured.id, capturedIdOf(f.messageId)) : undefined,
          f.channel ? eq(captured.channel, f.channel) : undefined,
          before ? lt(captured.id, before) : undefined,
        ),
      )
      .orderBy(desc(captured.id))
      .limit(limit + 1)
      .all()
  ).map(flat);
