// The built-in outbox: where email goes when no provider is connected.
import { and, desc, eq, lt } from "drizzle-orm";
import type { Db } from "./client";
import { outbox } from "./schema";

export type OutboxRow = typeof outbox.$inferSelect;

/** One row per message (unique), so a redelivered job cannot capture twice. */
export const captureInOutbox = (db: Db, row: OutboxRow) =>
  db.insert(outbox).values(row).onConflictDoNothing().run();

export const getOutboxItem = (db: Db, orgId: string, id: string) =>
  db
    .select()
    .from(outbox)
    .where(and(eq(outbox.orgId, orgId), eq(outbox.id, id)))
    .get();

export const listOutbox = (
  db: Db,
  orgId: string,
  f: { to?: string; messageId?: string },
  limit: number,
  before?: string,
) =>
  db
    .select()
    .from(outbox)
    .where(
      and(
        eq(outbox.orgId, orgId),
        f.to ? eq(outbox.to, f.to) : undefined,
        f.messageId ? eq(outbox.messageId, f.messageId) : undefined,
        before ? lt(outbox.id, before) : undefined,
      ),
    )
    .orderBy(desc(outbox.id))
    .limit(limit + 1)
    .all();
