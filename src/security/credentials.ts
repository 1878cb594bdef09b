// AES-256-GCM encryption at rest for provider credentials, webhook secrets and stored
// idempotent responses. A ciphertext names the key that sealed it and is bound to its row: the
// associated data is `orgId|table|rowId`, so a ciphertext copied to another row, table or org
// does not decrypt. Keys rotate: ENCRYPTION_KEYS = "kid:base64,kid:base64,..." — the first
// encrypts, every listed key decrypts (ENCRYPTION_KEY alone is one key named "default").

import { ConfigurationError } from "../ground/config";
import type { Env } from "../ground/env";
import { base64url, fromBase64, fromBase64url, utf8 } from "./encoding";

/** Where a ciphertext lives: it decrypts only there. */
export interface Binding {
  orgId: string;
  table: string;
  rowId: string;
}

interface Keyring {
  current: { kid: string; key: Promise<CryptoKey> };
  byKid: Map<string, Promise<CryptoKey>>;
}

const KID = /^[A-Za-z0-9_-]{1,32}$/;
const rings = new Map<string, Keyring>();

function parseKeys(env: Env): { kid: string; raw: Uint8Array }[] {
  const list = env.ENCRYPTION_KEYS?.trim()
    ? env.ENCRYPTION_KEYS
    : env.ENCRYPTION_KEY?.trim()
      ? `default:${env.ENCRYPTION_KEY.trim()}`
      : null;
  if (!list) {
    throw new ConfigurationError(
      "ENCRYPTION_KEYS is not configured (wrangler secret put ENCRYPTION_KEYS, e.g. k1:<openssl rand -base64 32>)",
    );
  }
  return list.split(",").map((entry, i) => {
    const at = entry.indexOf(":");
    const kid = entry.slice(0, at).trim();
    const secret = entry.slice(at + 1).trim();
    if (at < 0 || !KID.test(kid)) {
      throw new ConfigurationError(
        `ENCRYPTION_KEYS entry ${i + 1} must be kid:base64 with a kid of letters, digits, _ or - (at most 32)`,
      );
    }
    let raw: Uint8Array;
    try {
      raw = fromBase64(secret);
    } catch {
      throw new ConfigurationError(`ENCRYPTION_KEYS key "${kid}" is not base64`);
    }
    if (raw.length !== 32) {
      throw new ConfigurationError(
        `ENCRYPTION_KEYS key "${kid}" must be 32 bytes (it is ${raw.length}); make one with openssl rand -base64 32`,
      );
    }
    return { kid, raw };
  });
}

function keyring(env: Env): Keyring {
  const source = `${env.ENCRYPTION_KEYS ?? ""}|${env.ENCRYPTION_KEY ?? ""}`;
  let ring = rings.get(source);
  if (!ring) {
    const keys = parseKeys(env);
    const byKid = new Map(
      keys.map(
        (k) =>
          [
            k.kid,
            crypto.subtle.importKey("raw", k.raw, "AES-GCM", false, ["encrypt", "decrypt"]),
          ] as const,
      ),
    );
    ring = {
      current: { kid: keys[0].kid, key: byKid.get(keys[0].kid) as Promise<CryptoKey> },
      byKid,
    };
    rings.set(source, ring);
  }
  return ring;
}

const aad = (b: Binding) => utf8(`${b.orgId}|${b.table}|${b.rowId}`);

/** Checks the keys now (a clear configuration error instead of a weak key). */
export const checkEncryptionKeys = (env: Env) => void keyring(env);

export async function encrypt(env: Env, plaintext: string, where: Binding): Promise<string> {
  const { kid, key } = keyring(env).current;
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: aad(where) },
    await key,
    utf8(plaintext),
  );
  return `v2.${kid}.${base64url(iv)}.${base64url(ct)}`;
}

/** The plaintext; throws when the key is unknown, the ciphertext was altered, or it belongs elsewhere. */
export async function decrypt(env: Env, sealed: string, where: Binding): Promise<string> {
  const ring = keyring(env);
  const parts = sealed.split(".");
  if (parts[0] === "v2" && parts.length === 4) {
    const key = ring.byKid.get(parts[1]);
    if (!key) {
      throw new Error(`Sealed with key "${parts[1]}", which ENCRYPTION_KEYS no longer lists`);
    }
    const pt = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: fromBase64url(parts[2]), additionalData: aad(where) },
      await key,
      fromBase64url(parts[3]),
    );
    return new TextDecoder().decode(pt);
  }
  if (parts[0] === "v1" && parts.length === 3) {
    // Sealed before key ids and row binding: any listed key may have made it.
    for (const key of ring.byKid.values()) {
      try {
        const pt = await crypto.subtle.decrypt(
          { name: "AES-GCM", iv: fromBase64url(parts[1]) },
          await key,
          fromBase64url(parts[2]),
        );
        return new TextDecoder().decode(pt);
      } catch {
        // try the next key
      }
    }
    throw new Error("No listed key opens this ciphertext");
  }
  throw new Error("Unrecognised ciphertext");
}
