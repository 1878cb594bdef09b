// API-key auth (SHA-256 lookup, revocation and expiry checked on every request), then the
// per-key rate limit, then usage counting.
import { createMiddleware } from "hono/factory";
import { findKeyByHash, KEY_PREFIX } from "../db/api-keys";
import { database } from "../db/client";
import type { AppEnv } from "../ground/env";
import { sha256Hex, timingSafeEqual } from "../security/encoding";
import { ApiError } from "./errors";
import { flushUsage, recordUsage } from "./usage";

const RATE_LIMIT_PERIOD_SECONDS = 60;

export function bearer(header: string | undefined): string | null {
  const m = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return m ? m[1] : null;
}

export const requireApiKey = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearer(c.req.header("authorization"));
  if (!token) {
    throw new ApiError("unauthorized", "Missing API key: send `Authorization: Bearer nk_live_...`");
  }
  if (!token.startsWith(KEY_PREFIX) || token.length < KEY_PREFIX.length + 32) {
    throw new ApiError("unauthorized", "Malformed API key");
  }
  const db = database(c.env.DB);
  const row = await findKeyByHash(db, await sha256Hex(token));
  const now = Date.now();
  if (!row) {
    throw new ApiError("unauthorized", "Invalid API key");
  }
  if (row.revokedAt != null) {
    throw new ApiError("unauthorized", "This API key has been revoked");
  }
  if (row.expiresAt != null && row.expiresAt <= now) {
    throw new ApiError("unauthorized", "This API key has expired");
  }

  const { success } = await c.env.RATE_LIMITER.limit({ key: row.id });
  if (!success) {
    throw new ApiError("rate_limited", "Too many requests for this API key; retry later", {
      headers: { "Retry-After": String(RATE_LIMIT_PERIOD_SECONDS) },
    });
  }
  c.set("orgId", row.orgId);
  c.set("apiKeyId", row.id);
  if (recordUsage(row.id, now)) {
    c.executionCtx.waitUntil(flushUsage(db, c.get("log")));
  }
  await next();
});

/** POST /v1/admin/orgs: the ADMIN_TOKEN secret, compared in constant time; 404 when unset. */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const expected = c.env.ADMIN_TOKEN;
  if (!expected) {
    throw new ApiError("not_found", "Route not found");
  }
  const token = bearer(c.req.header("authorization"));
  if (!token || !timingSafeEqual(token, expected)) {
    throw new ApiError("unauthorized", "Invalid admin token");
  }
  await next();
});
