// The org's sending policy (frequency caps, quiet hours) and the frequency-cap slots.
import { and, eq, inArray, lt, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { orgs, sendClaims } from "../db/schema";
import type { SendingPolicy } from "../engine/governance";

export const getSendingPolicy = async (db: Db, orgId: string) =>
  (await db.select({ p: orgs.sendingPolicy }).from(orgs).where(eq(orgs.id, orgId)).get())?.p ??
  null;

export const setSendingPolicy = (db: Db, orgId: string, policy: SendingPolicy) =>
  db.update(orgs).set({ sendingPolicy: policy }).where(eq(orgs.id, orgId)).run();

/** A send asking for a slot under a cap, in the contact's day and ISO week. */
export interface SlotClaim {
  key: string;
  orgId: string;
  contactId: string;
  capKey: string;
  day: string;
  week: string;
  perDay?: number;
  perWeek?: number;
}

/**
 * Claims slots, each in one statement that counts the contact's slots of that cap in the day
 * and the week first (D1 runs them one after another: two claims cannot take the last slot
 * both). A claim whose key holds a slot already keeps it. Returns the keys refused.
 */
export async function claimSlots(db: Db, claims: SlotClaim[], now: number): Promise<string[]> {
  if (claims.length === 0) {
    return [];
  }
  const c = sendClaims;
  const stmts = claims.map((k) => {
    const mine = sql`${c.contactId} = ${k.contactId} and ${c.capKey} = ${k.capKey} and ${c.week} = ${k.week}`;
    const dayRoom =
      k.perDay === undefined
        ? sql`1`
        : sql`(select count(*) from ${c} where ${mine} and ${c.day} = ${k.day}) < ${k.perDay}`;
    const weekRoom =
      k.perWeek === undefined
        ? sql`1`
        : sql`(select count(*) from ${c} where ${mine}) < ${k.perWeek}`;
    return db
      .insert(c)
      .select(
        sql`select ${k.key}, ${k.orgId}, ${k.contactId}, ${k.capKey}, ${k.day}, ${k.week}, ${now} where ${dayRoom} and ${weekRoom}`,
      )
      .onConflictDoNothing();
  });
  await db.batch(stmts as [(typeof stmts)[0], ...typeof stmts]);
  const held = await db
    .select({ key: c.key })
    .from(c)
    .where(
      inArray(
        c.key,
        claims.map((k) => k.key),
      ),
    )
    .all();
  const got = new Set(held.map((h) => h.key));
  return claims.filter((k) => !got.has(k.key)).map((k) => k.key);
}

/** How many slots of a cap the contact holds per day of an ISO week. */
export const slotsInWeek = (db: Db, contactId: string, capKey: string, week: string) =>
  db
    .select({ day: sendClaims.day, n: sql<number>`count(*)` })
    .from(sendClaims)
    .where(
      and(
        eq(sendClaims.contactId, contactId),
        eq(sendClaims.capKey, capKey),
        eq(sendClaims.week, week),
      ),
    )
    .groupBy(sendClaims.day)
    .all();

/** Gives back slots whose send did not happen after all (a run that changed its course). */
export const releaseSlots = async (db: Db, keys: string[]) => {
  if (keys.length > 0) {
    await db
      .delete(sendClaims)
      .where(inArray(sendClaims.key, keys.slice(0, 90)))
      .run();
  }
};

/** Slots older than any cap window (the cron prunes them). */
export const pruneSlots = (db: Db, before: number) =>
  db.delete(sendClaims).where(lt(sendClaims.createdAt, before)).run();
