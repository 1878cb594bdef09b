// API-key usage without a D1 write per request: each isolate counts in memory and flushes
// one batch of hourly upserts at most every FLUSH_MS (via waitUntil), or when the usage
// endpoint is read. The cost: a crashed isolate loses at most FLUSH_MS of its counts, and
// "last 24 h" is counted in whole hours (the current hour plus the previous 23).
import { addUsage, type UsageDelta } from "../db/api-keys";
import { shardFor } from "../db/shards";
import type { Env } from "../ground/env";
import { errorText, type Logger } from "../ground/log";

const FLUSH_MS = 10_000;
/** Buffered counts by key and hour, with the org whose shard keeps them. */
const pending = new Map<string, UsageDelta & { orgId: string }>();
let lastFlush = Date.now();

export const hourOf = (ms: number) => Math.floor(ms / 3_600_000);

export function recordUsage(keyId: string, orgId: string, now = Date.now()): boolean {
  const hour = hourOf(now);
  const id = `${keyId}:${hour}`;
  const d = pending.get(id);
  if (d) {
    d.requests++;
    d.lastUsedAt = now;
  } else {
    pending.set(id, { keyId, orgId, hour, requests: 1, lastUsedAt: now });
  }
  return now - lastFlush >= FLUSH_MS || pending.size >= 200;
}

/** Writes the buffered counts: one batch per org, each on its own shard. */
export async function flushUsage(env: Env, log: Logger): Promise<void> {
  if (pending.size === 0) {
    return;
  }
  const byOrg = new Map<string, (UsageDelta & { orgId: string })[]>();
  for (const d of pending.values()) {
    byOrg.set(d.orgId, [...(byOrg.get(d.orgId) ?? []), d]);
  }
  pending.clear();
  lastFlush = Date.now();
  await Promise.all(
    [...byOrg].map(([orgId, deltas]) =>
      flushOrg(env, orgId, deltas).catch((err) => putBack(deltas, err, log)),
    ),
  );
}

async function flushOrg(env: Env, orgId: string, deltas: (UsageDelta & { orgId: string })[]) {
  await addUsage(
    await shardFor(env, orgId),
    deltas.map(({ keyId, hour, requests, lastUsedAt }) => ({ keyId, hour, requests, lastUsedAt })),
  );
}

/** Puts the counts back so the next flush carries them; logs with context. */
function putBack(deltas: (UsageDelta & { orgId: string })[], err: unknown, log: Logger) {
  for (const d of deltas) {
    const id = `${d.keyId}:${d.hour}`;
    const cur = pending.get(id);
    if (cur) {
      cur.requests += d.requests;
      cur.lastUsedAt = Math.max(cur.lastUsedAt, d.lastUsedAt);
    } else {
      pending.set(id, d);
    }
  }
  log.error("usage flush failed", { error: errorText(err) });
}
