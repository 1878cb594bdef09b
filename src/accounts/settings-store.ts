// Settings of the deployment itself (one row per key), and the link origin an org learned.
import { eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { orgs, settings } from "../db/schema";

export async function getSetting(db: Db, key: string): Promise<string | null> {
  const row = await db
    .select({ value: settings.value })
    .from(settings)
    .where(eq(settings.key, key))
    .get();
  return row?.value ?? null;
}

export const putSetting = (db: Db, key: string, value: string, now = Date.now()) =>
  db
    .insert(settings)
    .values({ key, value, updatedAt: now })
    .onConflictDoUpdate({ target: settings.key, set: { value, updatedAt: now } })
    .run();

/** The origin the org's links use when PUBLIC_URL is unset; null before its first API request. */
export const getOrgPublicUrl = async (db: Db, orgId: string): Promise<string | null> =>
  (await db.select({ url: orgs.publicUrl }).from(orgs).where(eq(orgs.id, orgId)).get())?.url ??
  null;

export const setOrgPublicUrl = (db: Db, orgId: string, origin: string) =>
  db.update(orgs).set({ publicUrl: origin }).where(eq(orgs.id, orgId)).run();
