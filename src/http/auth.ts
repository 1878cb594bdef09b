// API-key auth, then the per-key and per-org rate limits, then usage counting. A key is found
// by its SHA-256: the directory names its org, the org's shard holds its row. What was found
// is kept in the isolate for KEY_CACHE_SECONDS (10 by default), so a busy client costs no D1
// round trip; a revoked key is refused at once by the isolate that revoked it and by every
// other within that bound (expiry is checked on every request). An IP whose failed
// authentications go over AUTH_FAIL_LIMITER is refused before any lookup for the period.
import { createMiddleware } from "hono/factory";
import { type ApiKeyRow, findKeyByHash, KEY_PREFIX } from "../db/api-keys";
import { ownerOf, shardFor } from "../db/shards";
import { config } from "../ground/config";
import type { AppEnv, Env } from "../ground/env";
import { DomainError } from "../ground/errors";
import { sha256Hex, timingSafeEqual } from "../security/encoding";
import { Blocklist, clientIp, rateLimited, spend } from "./rate-limit";
import { scopeAllows } from "./scopes";
import { flushUsage, recordUsage } from "./usage";

const failingIps = new Blocklist();

/** Keys looked up lately, by hash (null: no such key), with when they were read. */
const keys = new Map<string, { row: ApiKeyRow | null; at: number }>();
const KEYS_CACHED_MAX = 10_000;

/** This isolate forgets a key (it was just revoked here). */
export function forgetKey(keyHash: string) {
  keys.delete(keyHash);
}

/** The key with this hash: the directory names its org, the org's shard holds the row. */
async function lookUpKey(env: Env, keyHash: string, now: number): Promise<ApiKeyRow | null> {
  const ttl = config(env).keyCacheMs;
  const hit = keys.get(keyHash);
  if (hit && now - hit.at < ttl) {
    return hit.row;
  }
  const orgId = await ownerOf(env, "key", keyHash, async (db) => {
    return (await findKeyByHash(db, keyHash))?.orgId;
  });
  const row = orgId ? ((await findKeyByHash(await shardFor(env, orgId), keyHash)) ?? null) : null;
  if (ttl > 0) {
    if (keys.size >= KEYS_CACHED_MAX) {
      // Oldest first out: a Map iterates in insertion order.
      keys.delete(keys.keys().next().value as string);
    }
    keys.delete(keyHash);
    keys.set(keyHash, { row, at: now });
  }
  return row;
}

export function bearer(header: string | undefined): string | null {
  const m = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return m ? m[1] : null;
}

/**
 * The API key a request carries: `Authorization: Bearer <key>`, else `x-api-key: <key>` (the
 * 11x convention). The one reading of it, so /mcp forwards to the API the key the API reads.
 */
export function apiKeyOf(header: (name: string) => string | undefined): string | null {
  return bearer(header("authorization")) ?? (header("x-api-key")?.trim() || null);
}

export const requireApiKey = createMiddleware<AppEnv>(async (c, next) => {
  const ip = clientIp((name) => c.req.header(name));
  const blockedFor = ip ? failingIps.retryAfter(ip) : 0;
  if (blockedFor > 0) {
    throw rateLimited("Too many failed authentications from this address; retry later", blockedFor);
  }
  /** A failed authentication: counted against the IP, 429 once it is over the limit. */
  const refuse = async (message: string): Promise<never> => {
    if (ip) {
      const { success } = await c.env.AUTH_FAIL_LIMITER.limit({ key: ip });
      if (!success) {
        failingIps.block(ip);
        throw rateLimited("Too many failed authentications from this address; retry later");
      }
    }
    throw new DomainError("unauthorized", message);
  };
  const token = apiKeyOf((name) => c.req.header(name));
  if (!token) {
    return refuse("Missing API key: send `Authorization: Bearer nk_live_...` (or `x-api-key`)");
  }
  if (!token.startsWith(KEY_PREFIX) || token.length < KEY_PREFIX.length + 32) {
    return refuse("Malformed API key");
  }
  const now = Date.now();
  const row = await lookUpKey(c.env, await sha256Hex(token), now);
  if (!row) {
    return refuse("Invalid API key");
  }
  if (row.revokedAt != null) {
    return refuse("This API key has been revoked");
  }
  if (row.expiresAt != null && row.expiresAt <= now) {
    return refuse("This API key has expired");
  }

  await spend(c.env.RATE_LIMITER, row.id, "Too many requests for this API key; retry later");
  await spend(
    c.env.ORG_RATE_LIMITER,
    row.orgId,
    "Too many requests for this organisation; retry later",
  );
  if (!scopeAllows(row.scope, c.req.method, c.req.path)) {
    throw new DomainError(
      "forbidden",
      `This key's scope ("${row.scope}") does not allow ${c.req.method} ${c.req.path}; use a key with scope "full"`,
    );
  }
  c.set("orgId", row.orgId);
  c.set("apiKey", { id: row.id, scope: row.scope, expiresAt: row.expiresAt });
  if (recordUsage(row.id, row.orgId, now)) {
    c.executionCtx.waitUntil(flushUsage(c.env, c.get("log")));
  }
  await next();
});

/** POST /v1/admin/orgs: the ADMIN_TOKEN secret, compared in constant time; 404 when unset. */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const expected = c.env.ADMIN_TOKEN;
  if (!expected) {
    throw new DomainError("not_found", "Route not found");
  }
  const token = bearer(c.req.header("authorization"));
  if (!token || !timingSafeEqual(token, expected)) {
    throw new DomainError("unauthorized", "Invalid admin token");
  }
  await next();
});
