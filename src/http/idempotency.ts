// One middleware gives every POST Stripe-style idempotency: the first request with a key
// runs and its response is stored for 24 h; a replay with the same body gets the stored
// response (`idempotent-replayed: true`); another body → 422; still running → 409.
// 5xx responses are not stored, so a retry after a server error runs again. The request hash
// covers the method, path, query string and body; stored responses are encrypted (they may
// hold a secret shown once).
import { createMiddleware } from "hono/factory";

import { claimKey, completeKey, dropIfStale, getKey, releaseKey } from "../db/idempotency";
import { shardAt, shardFor } from "../db/shards";
import type { AppEnv } from "../ground/env";
import { DomainError } from "../ground/errors";
import { decrypt, encrypt } from "../security/credentials";
import { sha256Hex } from "../security/encoding";

const TTL_MS = 24 * 3600_000;

export function parseIdempotencyKey(raw: string | undefined): string | undefined {
  if (raw === undefined) {
    return undefined;
  }
  let key = raw.trim();
  if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) {
    key = key.slice(1, -1);
  }
  if (key.length < 1 || key.length > 255) {
    throw new DomainError("validation_failed", "Idempotency-Key must be 1 to 255 characters", {
      details: [{ path: "Idempotency-Key", message: "Must be 1 to 255 characters" }],
    });
  }
  return key;
}

/** Routes whose own rows are their idempotency record (an agent execution per agent and key). */
const OWN_IDEMPOTENCY = /^\/v1\/agents\/[^/]+\/execute$/;

export const idempotency = createMiddleware<AppEnv>(async (c, next) => {
  if (c.req.method !== "POST" || OWN_IDEMPOTENCY.test(c.req.path)) {
    return next();
  }
  const key = parseIdempotencyKey(c.req.header("idempotency-key"));
  if (key === undefined) {
    return next();
  }

  // Keys are scoped to the caller's org; admin routes have none and share one scope, kept on
  // the first shard.
  const orgId = c.get("orgId") ?? "admin";
  const db = c.get("orgId") ? await shardFor(c.env, orgId) : shardAt(c.env, 0);
  const body = await c.req.text();
  const hash = await sha256Hex(
    `${c.req.method} ${c.req.path}${new URL(c.req.url).search}\n${body}`,
  );
  // Stored responses may hold a secret shown once (a new API key, a webhook secret): sealed, bound to this key.
  const where = { orgId, table: "idempotency_keys", rowId: key };
  const now = Date.now();

  let owned = await claimKey(db, orgId, key, hash, now, TTL_MS);
  if (!owned) {
    // An expired key may be claimed again.
    await dropIfStale(db, orgId, key, now);
    owned = await claimKey(db, orgId, key, hash, now, TTL_MS);
  }
  if (!owned) {
    const prior = await getKey(db, orgId, key);
    if (!prior) {
      throw new DomainError(
        "idempotency_key_in_use",
        "A request with this Idempotency-Key is in progress",
      );
    }
    if (prior.requestHash !== hash) {
      throw new DomainError(
        "idempotency_key_reused",
        "This Idempotency-Key was used with a different request",
      );
    }
    if (prior.state === "running") {
      throw new DomainError(
        "idempotency_key_in_use",
        "A request with this Idempotency-Key is still in progress; retry shortly",
      );
    }
    return new Response(
      prior.responseBody === null ? null : await decrypt(c.env, prior.responseBody, where),
      {
        status: prior.responseStatus ?? 200,
        headers: { "content-type": "application/json", "idempotent-replayed": "true" },
      },
    );
  }

  try {
    await next();
  } catch (err) {
    await releaseKey(db, orgId, key);
    throw err;
  }
  const res = c.res;
  if (res.status >= 500) {
    await releaseKey(db, orgId, key);
    return;
  }
  await completeKey(
    db,
    orgId,
    key,
    res.status,
    await encrypt(c.env, await res.clone().text(), where),
  );
});
