// Signed tracking tokens: base64url JSON payload + HMAC-SHA256, keyed by id for rotation
// (TOKEN_SIGNING_KEYS = "kid:secret,..."; the first signs, every listed key verifies). The keys
// are checked at first use: a malformed entry, a kid outside [A-Za-z0-9_-] or a secret shorter
// than 32 bytes is a configuration error, never a silently weak key.

import { ConfigurationError } from "../ground/config";
import type { Env } from "../ground/env";
import { base64url, fromBase64url, hex, timingSafeEqual, utf8 } from "./encoding";

export type TokenKind = "o" | "c" | "u" | "r" | "p" | "s";

/** What a preference page shows, signed into its link: no read on the way in. */
export interface PreferenceSnapshot {
  /** The org's branding: name, logo URL, accent colour. */
  b: { n?: string; l?: string; a?: string };
  /** Topics: key, name, and whether the contact was subscribed when the link was made. */
  t: [string, string, boolean][];
  /** Unsubscribed from all marketing (1) or not (0). */
  u: 0 | 1;
}

export interface TokenPayload {
  /**
   * o = open pixel, c = click, u = unsubscribe, r = report download (m: the report id),
   * p = preference page, s = double opt-in confirmation (m: the contact id)
   */
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
  /** report download: the run (generation) it is for, and when it expires (seconds) */
  n?: number;
  x?: number;
  /** preference page: the snapshot it shows */
  s?: PreferenceSnapshot;
  /** issued at, seconds since the epoch (tokens made before it was added have none) */
  t?: number;
}

/**
 * How long the consent links stay valid, from when they were signed: a double opt-in
 * confirmation 7 days (consent is given soon after asking, or asked again), a preference page
 * and an unsubscribe link 90 days (well past the 30 days an opt-out must keep working, so
 * RFC 8058 one-click unsubscribe from any recent email goes through). Other kinds: their own
 * rules (clicks: CLICK_TOKEN_MAX_AGE_DAYS; reports: their `x`).
 */
export const LINK_LIFETIME_DAYS = { s: 7, p: 90, u: 90 } as const;

/**
 * True when a consent link is past its lifetime. A token without an issue time predates the
 * field: a confirmation of unknown age is treated as expired (consent is asked again), while
 * an unsubscribe or preference link of unknown age still works (an opt-out is never refused on
 * a guess).
 */
export function linkExpired(
  p: TokenPayload,
  kind: keyof typeof LINK_LIFETIME_DAYS,
  now = Date.now(),
): boolean {
  if (p.t === undefined) {
    return kind === "s";
  }
  return now / 1000 - p.t > LINK_LIFETIME_DAYS[kind] * 86_400;
}

const KID = /^[A-Za-z0-9_-]{1,32}$/;
const MIN_SECRET_BYTES = 32;
const rings = new Map<string, { kid: string; key: Promise<CryptoKey> }[]>();

function keyring(env: Env) {
  const raw = env.TOKEN_SIGNING_KEYS?.trim();
  if (!raw) {
    throw new ConfigurationError(
      "TOKEN_SIGNING_KEYS is not configured (kid:secret, e.g. k1:<openssl rand -base64 32>)",
    );
  }
  let ring = rings.get(raw);
  if (!ring) {
    ring = raw.split(",").map((entry, i) => {
      const at = entry.indexOf(":");
      const kid = entry.slice(0, at).trim();
      const secret = entry.slice(at + 1).trim();
      if (at < 0 || !KID.test(kid)) {
        throw new ConfigurationError(
          `TOKEN_SIGNING_KEYS entry ${i + 1} must be kid:secret with a kid of letters, digits, _ or - (at most 32)`,
        );
      }
      if (utf8(secret).length < MIN_SECRET_BYTES) {
        throw new ConfigurationError(
          `TOKEN_SIGNING_KEYS secret "${kid}" must be at least ${MIN_SECRET_BYTES} bytes`,
        );
      }
      return {
        kid,
        key: crypto.subtle.importKey(
          "raw",
          utf8(secret),
          { name: "HMAC", hash: "SHA-256" },
          false,
          ["sign", "verify"],
        ),
      };
    });
    rings.set(raw, ring);
  }
  return ring;
}

/** Checks the keys now (a clear configuration error instead of a weak key). */
export const checkSigningKeys = (env: Env) => void keyring(env);

export async function signToken(
  env: Env,
  payload: TokenPayload,
  now = Date.now(),
): Promise<string> {
  const { kid, key } = keyring(env)[0];
  const body = base64url(utf8(JSON.stringify({ ...payload, t: Math.floor(now / 1000) })));
  const sig = await crypto.subtle.sign("HMAC", await key, utf8(`${kid}.${body}`));
  return `${kid}.${body}.${base64url(sig)}`;
}

/** The payload when the token is authentic and of the expected kind; null otherwise. */
export async function verifyToken(
  env: Env,
  token: string,
  kind: TokenKind,
): Promise<TokenPayload | null> {
  const ring = keyring(env);
  const parts = token.split(".");
  if (parts.length !== 3 || token.length > 8192) {
    return null;
  }
  const [kid, body, sig] = parts;
  const entry = ring.find((k) => k.kid === kid);
  if (!entry) {
    return null;
  }
  try {
    // crypto.subtle.verify compares in constant time.
    const ok = await crypto.subtle.verify(
      "HMAC",
      await entry.key,
      fromBase64url(sig),
      utf8(`${kid}.${body}`),
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

/** A tracking link on `base` (the public origin, see domain/public-url). */
export const trackingUrl = (base: string, kind: TokenKind, token: string) =>
  `${base.replace(/\/$/, "")}/t/${kind}/${token}`;

/**
 * The local part of a message's reply address: `<messageId>.<kid>.<mac>` — short enough for an
 * address (≤ 64 characters) and readable after a mail system lowercases it (ids are matched
 * case-insensitively, the MAC is lowercase hex over the id in upper case).
 */
export async function replyToken(env: Env, messageId: string): Promise<string> {
  const { kid, key } = keyring(env)[0];
  return `${messageId}.${kid}.${await replyMac(await key, messageId)}`;
}

/** The message id of an authentic reply token; null otherwise. */
export async function verifyReplyToken(env: Env, token: string): Promise<string | null> {
  const m = /^(msg_[0-9a-z]{26})\.([A-Za-z0-9_-]{1,32})\.([0-9a-f]{16})$/i.exec(token.trim());
  if (!m) {
    return null;
  }
  const messageId = `msg_${m[1].slice(4).toUpperCase()}`;
  const entry = keyring(env).find((k) => k.kid.toLowerCase() === m[2].toLowerCase());
  if (!entry) {
    return null;
  }
  const expected = await replyMac(await entry.key, messageId);
  return timingSafeEqual(expected, m[3].toLowerCase()) ? messageId : null;
}

async function replyMac(key: CryptoKey, messageId: string) {
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8(`reply.${messageId}`)));
  return hex(sig.slice(0, 8));
}
