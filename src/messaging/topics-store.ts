// Topics of an org (newsletter, product updates): what contacts subscribe to one by one.
import { and, desc, eq, lt } from "drizzle-orm";
import type { Db } from "../db/client";
import { topics } from "../db/schema";

export type TopicRow = typeof topics.$inferSelect;

export const insertTopic = (db: Db, row: TopicRow) => db.insert(topics).values(row).run();

export const getTopic = (db: Db, orgId: string, id: string) =>
  db
    .select()
    .from(topics)
    .where(and(eq(topics.orgId, orgId), eq(topics.id, id)))
    .get();

export const listTopics = (db: Db, orgId: string, limit: number, before?: string) =>
  db
    .select()
    .from(topics)
    .where(and(eq(topics.orgId, orgId), before ? lt(topics.id, before) : undefined))
    .orderBy(desc(topics.id))
    .limit(limit + 1)
    .all();

/** Every topic of the org, oldest first (the preference page's order). */
export const allTopics = (db: Db, orgId: string) =>
  db.select().from(topics).where(eq(topics.orgId, orgId)).orderBy(topics.id).limit(100).all();

export const updateTopic = (db: Db, row: TopicRow) =>
  db.update(topics).set(row).where(eq(topics.id, row.id)).run();

export const deleteTopic = async (db: Db, orgId: string, id: string) =>
  (
    await db
      .delete(topics)
      .where(and(eq(topics.orgId, orgId), eq(topics.id, id)))
      .returning({ id: topics.id })
      .all()
  ).length === 1;
