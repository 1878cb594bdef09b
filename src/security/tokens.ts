// Signed tracking tokens: base64url JSON payload + HMAC-SHA256, keyed by id for rotation
// (TOKEN_SIGNING_KEYS = "kid:secret,..."; the first signs, every listed key verifies).
import type { Env } from "../ground/env";
import { base64url, fromBase64url } from "./encoding";

export type TokenKind = "o" | "c" | "u";

export interface TokenPayload {
  /** o = open pixel, c = click, u = unsubscribe */
  k: TokenKind;
  /** org id */
  g: string;
  /** message id */
  m: string;
  /** contact id (unsubscribe) */
  c?: string;
  /** link index (click) */
  l?: number;
  /** destination (click) */
  u?: string;
}

const cache = new Map<string, Promise<CryptoKey>>();

function keyring(env: Env): { kid: string; secret: string }[] {
  const raw = env.TOKEN_SIGNING_KEYS;
  if (!raw) {
    throw new Error("TOKEN_SIGNING_KEYS is not configured");
  }
  return raw.split(",").map((pair) => {
    const i = pair.indexOf(":");
    return { kid: pair.slice(0, i).trim(), secret: pair.slice(i + 1).trim() };
  });
}

function hmacKey(secret: string) {
  let k = cache.get(secret);
  if (!k) {
    k = crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    cache.set(secret, k);
  }
  return k;
}

export async function signToken(env: Env, payload: TokenPayload): Promise<string> {
  const { kid, secret } = keyring(env)[0];
  const body = base64url(new TextEncoder().encode(JSON.stringify(payload)));
  const sig = await crypto.subtle.sign(
    "HMAC",
    await hmacKey(secret),
    new TextEncoder().encode(`${kid}.${body}`),
  );
  return `${kid}.${body}.${base64url(sig)}`;
}

/** The payload when the token is authentic and of the expected kind; null otherwise. */
export async function verifyToken(
  env: Env,
  token: string,
  kind: TokenKind,
): Promise<TokenPayload | null> {
  const parts = token.split(".");
  if (parts.length !== 3 || token.length > 8192) {
    return null;
  }
  const [kid, body, sig] = parts;
  const entry = keyring(env).find((k) => k.kid === kid);
  if (!entry) {
    return null;
  }
  try {
    // crypto.subtle.verify compares in constant time.
    const ok = await crypto.subtle.verify(
      "HMAC",
      await hmacKey(entry.secret),
      fromBase64url(sig),
      new TextEncoder().encode(`${kid}.${body}`),
    );
    if (!ok) {
      return null;
    }
    const payload = JSON.parse(new TextDecoder().decode(fromBase64url(body))) as TokenPayload;
    if (payload.k !== kind || typeof payload.g !== "string" || typeof payload.m !== "string") {
      return null;
    }
    if (kind === "c" && (typeof payload.u !== "string" || !/^https?:\/\//i.test(payload.u))) {
      return null;
    }
    return payload;
  } catch {
    return null;
  }
}

export const trackingUrl = (env: Env, kind: TokenKind, token: string) =>
  `${env.PUBLIC_URL.replace(/\/$/, "")}/t/${kind}/${token}`;
