// How long a revoked API key keeps working. An isolate keeps keys it has read for
// KEY_CACHE_SECONDS (src/http/auth.ts); revoking through the API also drops the key from the
// cache of the isolate that served the revocation, so measuring that way shows ~0 s, which is
// not what the other isolates of a deployment see. Locally `wrangler dev` runs one isolate, so
// the honest measurement is the other isolates' view: use the key (its row is now cached),
// then revoke it behind the isolate's back by writing `revoked_at` into the key's row in the
// local shard's SQLite file, and poll until the key is refused. The key is used right before
// the write, so the cached entry is as fresh as it can be: this is the worst case, the bound.
import { createHash } from "node:crypto";
import { localShardFile, sleep } from "../lib/local.mjs";

/** `api`: a client bound to `key`, a key of an org on the state dir's one shard. */
export async function runKeyRevocation({ api, key, stateDir, timeoutS = 60 }) {
  const { DatabaseSync } = await import("node:sqlite");
  const warm = await api("GET", "/v1/account");
  if (warm.status !== 200) {
    throw new Error(`account before revocation: ${warm.status} ${warm.text}`);
  }
  const usedAt = performance.now();
  const db = new DatabaseSync(await localShardFile(stateDir));
  try {
    const hash = createHash("sha256").update(key).digest("hex");
    const { changes } = db
      .prepare("UPDATE api_keys SET revoked_at = ? WHERE key_hash = ? AND revoked_at IS NULL")
      .run(Date.now(), hash);
    if (changes !== 1) {
      throw new Error(`revocation wrote ${changes} rows, expected 1`);
    }
  } finally {
    db.close();
  }
  const revokedAt = performance.now();
  let acceptedAfter = 0;
  let refusedSentAt = 0;
  for (;;) {
    // Timed from when the request left: the key stopped working then, whatever the answer's
    // way back costs on a loaded machine.
    const sentAt = performance.now();
    const r = await api("GET", "/v1/account");
    if (r.status === 401) {
      refusedSentAt = sentAt;
      break;
    }
    if (r.status !== 200) {
      throw new Error(`account after revocation: ${r.status} ${r.text}`);
    }
    acceptedAfter++;
    if (performance.now() - revokedAt > timeoutS * 1000) {
      return { revocationS: null, acceptedAfter, cacheAgeAtRevocationMs: null };
    }
    await sleep(50);
  }
  return {
    revocationS: Math.round((refusedSentAt - revokedAt) / 10) / 100,
    acceptedAfter,
    cacheAgeAtRevocationMs: Math.round(revokedAt - usedAt),
  };
}
