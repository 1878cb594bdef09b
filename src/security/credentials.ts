// AES-GCM encryption at rest for provider credentials and webhook secrets (key from ENCRYPTION_KEY).
import type { Env } from "../ground/env";
import { base64url, fromBase64url } from "./encoding";

const keys = new Map<string, Promise<CryptoKey>>();

function key(env: Env): Promise<CryptoKey> {
  const raw = env.ENCRYPTION_KEY;
  if (!raw) {
    throw new Error("ENCRYPTION_KEY is not configured (wrangler secret put ENCRYPTION_KEY)");
  }
  let k = keys.get(raw);
  if (!k) {
    const bytes = Uint8Array.from(atob(raw), (c) => c.charCodeAt(0));
    if (bytes.length !== 32) {
      throw new Error("ENCRYPTION_KEY must be 32 bytes, base64-encoded");
    }
    k = crypto.subtle.importKey("raw", bytes, "AES-GCM", false, ["encrypt", "decrypt"]);
    keys.set(raw, k);
  }
  return k;
}

export async function encrypt(env: Env, plaintext: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv },
    await key(env),
    new TextEncoder().encode(plaintext),
  );
  return `v1.${base64url(iv)}.${base64url(ct)}`;
}

export async function decrypt(env: Env, sealed: string): Promise<string> {
  const [v, iv, ct] = sealed.split(".");
  if (v !== "v1" || !iv || !ct) {
    throw new Error("Unrecognised ciphertext");
  }
  const pt = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: fromBase64url(iv) },
    await key(env),
    fromBase64url(ct),
  );
  return new TextDecoder().decode(pt);
}
