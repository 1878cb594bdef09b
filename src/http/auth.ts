// API-key auth (SHA-256 lookup, revocation and expiry checked on every request), then the
// per-key and per-org rate limits, then usage counting. An IP whose failed authentications go
// over AUTH_FAIL_LIMITER is refused before the D1 lookup for the rest of the period.
import { createMiddleware } from "hono/factory";
import { findKeyByHash, KEY_PREFIX } from "../db/api-keys";
import { database } from "../db/client";
import type { AppEnv } from "../ground/env";
import { DomainError } from "../ground/errors";
import { sha256Hex, timingSafeEqual } from "../security/encoding";
import { Blocklist, clientIp, rateLimited, spend } from "./rate-limit";
import { scopeAllows } from "./scopes";
import { flushUsage, recordUsage } from "./usage";

const failingIps = new Blocklist();

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
  const db = database(c.env.DB);
  const row = await findKeyByHash(db, await sha256Hex(token));
  const now = Date.now();
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
  if (recordUsage(row.id, now)) {
    c.executionCtx.waitUntil(flushUsage(db, c.get("log")));
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
