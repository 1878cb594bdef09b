import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// Every shard the run binds gets the org migrations; the directory its own.
for (let i = 0; env[`DB_SHARD_${i}`]; i++) {
  await applyD1Migrations(env[`DB_SHARD_${i}`] as unknown as D1Database, env.TEST_MIGRATIONS);
}
await applyD1Migrations(env.DB_DIRECTORY as unknown as D1Database, env.TEST_DIRECTORY_MIGRATIONS);
