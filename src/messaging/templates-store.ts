// Email templates.
import { and, desc, eq, inArray, lt } from "drizzle-orm";
import type { Db } from "../db/client";
import { templates } from "../db/schema";

export type TemplateRow = typeof templates.$inferSelect;

export const insertTemplate = (db: Db, row: TemplateRow) => db.insert(templates).values(row).run();

export const getTemplate = (db: Db, orgId: string, id: string) =>
  db
    .select()
    .from(templates)
    .where(and(eq(templates.orgId, orgId), eq(templates.id, id)))
    .get();

export async function existingTemplateIds(db: Db, orgId: string, ids: string[]) {
  if (ids.length === 0) {
    return new Set<string>();
  }
  const rows = await db
    .select({ id: templates.id })
    .from(templates)
    .where(and(eq(templates.orgId, orgId), inArray(templates.id, ids)))
    .all();
  return new Set(rows.map((r) => r.id));
}

export const listTemplates = (db: Db, orgId: string, limit: number, before?: string) =>
  db
    .select()
    .from(templates)
    .where(and(eq(templates.orgId, orgId), before ? lt(templates.id, before) : undefined))
    .orderBy(desc(templates.id))
    .limit(limit + 1)
    .all();

export const updateTemplate = (db: Db, row: TemplateRow) =>
  db
    .update(templates)
    .set(row)
    .where(and(eq(templates.orgId, row.orgId), eq(templates.id, row.id)))
    .run();

export const deleteTemplate = async (db: Db, orgId: string, id: string) =>
  (
    await db
      .delete(templates)
      .where(and(eq(templates.orgId, orgId), eq(templates.id, id)))
      .returning({ id: templates.id })
      .all()
  ).length === 1;
