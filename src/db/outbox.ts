// The built-in outbox: where email, SMS and calls go when no provider is connected.
import { and, desc, eq, lt } from "drizzle-orm";
import type { Db } from "./client";
import { messages, outbox } from "./schema";

export type OutboxRow = typeof outbox.$inferSelect;

/** One row per message (unique), so a redelivered job cannot capture twice. */
export const captureInOutbox = (db: Db, row: OutboxRow) =>
  db.insert(outbox).values(row).onConflictDoNothing().run();

/** An outbox item with its message's outcome (a call's, once recorded). */
const withOutcome = (db: Db) =>
  db
    .select({ item: outbox, outcome: messages.outcome })
    .from(outbox)
    .leftJoin(messages, eq(messages.id, outbox.messageId));

const flat = (r: { item: OutboxRow; outcome: string | null }) => ({
  ...r.item,
  outcome: r.outcome,
});

export const getOutboxItem = async (db: Db, orgId: string, id: string) => {
  const r = await withOutcome(db)
    .where(and(eq(outbox.orgId, orgId), eq(outbox.id, id)))
    .get();
  return r ? flat(r) : undefined;
};

export const listOutbox = async (
  db: Db,
  orgId: string,
  f: { to?: string; messageId?: string; channel?: OutboxRow["channel"] },
  limit: number,
  before?: string,
) =>
  (
    await withOutcome(db)
      .where(
        and(
          eq(outbox.orgId, orgId),
          f.to ? eq(outbox.to, f.to) : undefined,
          f.messageId ? eq(outbox.messageId, f.messageId) : undefined,
          f.channel ? eq(outbox.channel, f.channel) : undefined,
          before ? lt(outbox.id, before) : undefined,
        ),
      )
      .orderBy(desc(outbox.id))
      .limit(limit + 1)
      .all()
  ).map(flat);
