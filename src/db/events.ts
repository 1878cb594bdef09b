// Tracked events, indexed for "a contact's events by time" and "events by name".
import { and, desc, eq, lt } from "drizzle-orm";
import type { Db } from "./client";
import { events } from "./schema";

export type EventRow = typeof events.$inferSelect;

export const insertEvent = (db: Db, row: EventRow) => db.insert(events).values(row).run();

export const listContactEvents = (db: Db, orgId: string, contactId: string, limit: number, before?: string) =>
  db
    .select()
    .from(events)
    .where(and(eq(events.orgId, orgId), eq(events.contactId, contactId), before ? lt(events.id, before) : undefined))
    .orderBy(desc(events.id))
    .limit(limit + 1)
    .all();
