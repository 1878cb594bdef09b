// Tracked events, indexed for "a contact's events by time" and "events by name".
import { and, desc, eq, lt } from "drizzle-orm";
import type { Db } from "./client";
import { events } from "./schema";

export type EventRow = typeof events.$inferSelect;

/** Inserts events in one statement per 10 rows (D1 caps bound parameters per statement at 100). */
export async function insertEvents(db: Db, rows: EventRow[]) {
  if (rows.length === 0) {
    return;
  }
  const stmts = [];
  for (let i = 0; i < rows.length; i += 10) {
    stmts.push(db.insert(events).values(rows.slice(i, i + 10)));
  }
  await db.batch(stmts as [(typeof stmts)[0], ...typeof stmts]);
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
