// Orgs, API keys and their usage counters.
import { and, desc, eq, gte, lt, sql } from "drizzle-orm";
import { config, type Region } from "../ground/config";
import type { Env } from "../ground/env";
import { newId } from "../ground/ids";
import type { KeyScope } from "../ground/scopes";
import { randomSecret, sha256Hex } from "../security/encoding";
import type { Db } from "./client";
import { apiKeys, apiKeyUsage, orgs } from "./schema";
import { placeOrg, recordOwner } from "./shards";

export const KEY_PREFIX = "nk_live_";
export type ApiKeyRow = typeof apiKeys.$inferSelect;

/**
 * A new org with its first key: placed on a shard first (the directory names it before any
 * of its rows exist), its key's owner recorded, then its rows written on that shard.
 */
export async function createOrgWithKey(
  env: Env,
  name: string,
  region: Region | null = null,
  now = Date.now(),
) {
  // Its id carries the region's mark: objects named after the org find their jurisdiction.
  const org = { id: newId("org", now, region), name, createdAt: now };
  const { row, key } = await newKeyRow(org.id, "Default", "full", null, now);
  const { shard, db } = await placeOrg(env, org.id, region, now);
  await recordOwner(env, "key", row.keyHash, org.id);
  await db.batch([db.insert(orgs).values(org), db.insert(apiKeys).values(row)]);
  return {
    org,
    apiKey: row,
    key,
    placement: { shard, region: config(env).shardRegions[shard] ?? null },
  };
}

export async function newKeyRow(
  orgId: string,
  name: string,
  scope: KeyScope,
  expiresAt: number | null,
  now = Date.now(),
) {
  const key = `${KEY_PREFIX}${randomSecret(24)}`;
  const row: ApiKeyRow = {
    id: newId("key", now),
    orgId,
    name,
    keyHash: await sha256Hex(key),
    prefix: KEY_PREFIX,
    lastFour: key.slice(-4),
    scope,
    expiresAt,
    revokedAt: null,
    createdAt: now,
  };
  return { row, key };
}

export async function createApiKey(
  env: Env,
  db: Db,
  orgId: string,
  name: string,
  scope: KeyScope,
  expiresAt: number | null,
) {
  const { row, key } = await newKeyRow(orgId, name, scope, expiresAt);
  await recordOwner(env, "key", row.keyHash, orgId);
  await db.insert(apiKeys).values(row);
  return { row, key };
}

export const findKeyByHash = (db: Db, keyHash: string) =>
  db.select().from(apiKeys).where(eq(apiKeys.keyHash, keyHash)).get();

export const getOrg = (db: Db, orgId: string) =>
  db.select().from(orgs).where(eq(orgs.id, orgId)).get();

export const getApiKey = (db: Db, orgId: string, id: string) =>
  db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.orgId, orgId), eq(apiKeys.id, id)))
    .get();

export const listApiKeys = (db: Db, orgId: string, limit: number, before?: string) =>
  db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.orgId, orgId), before ? lt(apiKeys.id, before) : undefined))
    .orderBy(desc(apiKeys.id))
    .limit(limit + 1)
    .all();

export const revokeApiKey = (db: Db, orgId: string, id: string, now = Date.now()) =>
  db
    .update(apiKeys)
    .set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, ${now})` })
    .where(and(eq(apiKeys.orgId, orgId), eq(apiKeys.id, id)))
    .returning()
    .get();

export interface UsageDelta {
  keyId: string;
  hour: number;
  requests: number;
  lastUsedAt: number;
}

/** Adds buffered counts in one batch of upserts. */
export async function addUsage(db: Db, deltas: UsageDelta[]) {
  if (deltas.length === 0) {
    return;
  }
  const stmts = deltas.map((d) =>
    db
      .insert(apiKeyUsage)
      .values(d)
      .onConflictDoUpdate({
        target: [apiKeyUsage.keyId, apiKeyUsage.hour],
        set: {
          requests: sql`${apiKeyUsage.requests} + ${d.requests}`,
          lastUsedAt: sql`max(${apiKeyUsage.lastUsedAt}, ${d.lastUsedAt})`,
        },
      }),
  );
  await db.batch(stmts as [(typeof stmts)[0], ...typeof stmts]);
}

/** Per key of the org: requests in the last 24 whole hours and the last use. */
export async function usageForOrg(db: Db, orgId: string, sinceHour: number) {
  const keys = await db
    .select({ id: apiKeys.id })
    .from(apiKeys)
    .where(eq(apiKeys.orgId, orgId))
    .orderBy(desc(apiKeys.id))
    .all();
  const sums = await db
    .select({
      keyId: apiKeyUsage.keyId,
      requests: sql<number>`sum(case when ${apiKeyUsage.hour} >= ${sinceHour} then ${apiKeyUsage.requests} else 0 end)`,
      lastUsedAt: sql<number>`max(${apiKeyUsage.lastUsedAt})`,
    })
    .from(apiKeyUsage)
    .innerJoin(apiKeys, eq(apiKeys.id, apiKeyUsage.keyId))
    .where(and(eq(apiKeys.orgId, orgId), gte(apiKeyUsage.hour, 0)))
    .groupBy(apiKeyUsage.keyId)
    .all();
  const byKey = new Map(sums.map((s) => [s.keyId, s]));
  return keys.map((k) => ({
    id: k.id,
    requests24h: Number(byKey.get(k.id)?.requests ?? 0),
    lastUsedAt: byKey.get(k.id)?.lastUsedAt ?? null,
  }));
}

/** How the org's hosted pages look (preference page, confirmation). */
export const getBranding = async (db: Db, orgId: string) =>
  (await db
    .select({ b: orgs.branding, name: orgs.name })
    .from(orgs)
    .where(eq(orgs.id, orgId))
    .get()) ?? null;

export const setBranding = (
  db: Db,
  orgId: string,
  branding: { name?: string; logoUrl?: string; accentColor?: string },
) => db.update(orgs).set({ branding }).where(eq(orgs.id, orgId)).run();
