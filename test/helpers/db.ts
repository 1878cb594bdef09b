// The tests' raw view of org data. The product reaches a shard only through shardFor(env,
// org) (src/db/shards.ts); tests that read or plant rows directly use these.
import { env } from "cloudflare:workers";
import { shardFor } from "../../src/db/shards";

/**
 * Shard 0 as a plain D1 binding: in the single-shard run every org is there (tests that spy
 * on its `batch`/`prepare` see the product's own statements).
 */
export const DB = env.DB_SHARD_0 as unknown as D1Database;

/** The shard `index` as a plain D1 binding (the two-shard run). */
export const rawShard = (index: number) =>
  env[`DB_SHARD_${index}`] as unknown as D1Database | undefined;

/** The drizzle database the product uses for this org. */
export const dbOf = (orgId: string) => shardFor(env, orgId);
