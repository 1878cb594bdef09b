// API-key usage without a D1 write per request: each isolate counts in memory and flushes
// one batch of hourly upserts at most every FLUSH_MS (via waitUntil), or when the usage
// endpoint is read. The cost: a crashed isolate loses at most FLUSH_MS of its counts, and
// "last 24 h" is counted in whole hours (the current hour plus the previous 23).
import { addUsage, type UsageDelta } from "../db/api-keys";
import type { Db } from "../db/client";
import { errorText, type Logger } from "../ground/log";

const FLUSH_MS = 10_000;
const pending = new Map<string, UsageDelta>();
let lastFlush = Date.now();

export const hourOf = (ms: number) => Math.floor(ms / 3_600_000);

export function recordUsage(keyId: string, now = Date.now()): boolean {
  const hour = hourOf(now);
  const id = `${keyId}:${hour}`;
  const d = pending.get(id);
  if (d) {
    d.requests++;
    d.lastUsedAt = now;
  } else {
    pending.set(id, { keyId, hour, requests: 1, lastUsedAt: now });
  }
  return now - lastFlush >= FLUSH_MS || pending.size >= 200;
}

export async function flushUsage(db: Db, log: Logger): Promise<void> {
  if (pending.size === 0) {
    return;
  }
  const deltas = [...pending.values()];
  pending.clear();
  lastFlush = Date.now();
  try {
    await addUsage(db, deltas);
  } catch (err) {
    // Put the counts back so the next flush carries them; log with context.
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
}
