// Signed tokens (tracking, consent and reply links): the keyring refuses weak or malformed keys
// by name, the first key signs and every listed key verifies, and anything altered, of another
// kind or too old is refused.
import { describe, expect, it } from "vitest";
import { ConfigurationError } from "../../src/ground/config";
import type { Env } from "../../src/ground/env";
import { newId } from "../../src/ground/ids";
import { base64url, utf8 } from "../../src/security/encoding";
import {
  checkSigningKeys,
  LINK_LIFETIME_DAYS,
  linkExpired,
  replyToken,
  signToken,
  type TokenPayload,
  trackingUrl,
  verifyReplyToken,
  verifyToken,
} from "../../src/security/tokens";

const SECRET_1 = "unit-signing-secret-one-0123456789abcdef";
const SECRET_0 = "unit-signing-secret-zero-0123456789abcdef";
const keys = (raw: string) => ({ TOKEN_SIGNING_KEYS: raw }) as Env;
const env = keys(`k1:${SECRET_1},k0:${SECRET_0}`);
const oldOnly = keys(`k0:${SECRET_0}`);
const newOnly = keys(`k1:${SECRET_1}`);
const open: TokenPayload = { k: "o", g: "org_1", m: "msg_1" };
const DAY = 86_400;

describe("the signing keys", () => {
  const refused = (raw: string | undefined, message: string) => {
    const e = keys(raw as string);
    expect(() => checkSigningKeys(e)).toThrow(ConfigurationError);
    expect(() => checkSigningKeys(e)).toThrow(message);
  };

  it("must be configured", () => {
    refused(undefined, "TOKEN_SIGNING_KEYS is not configured");
    refused("   ", "TOKEN_SIGNING_KEYS is not configured");
  });

  it("must each be kid:secret with a kid of at most 32 letters, digits, _ or -", () => {
    refused(`k1:${SECRET_1},${SECRET_0}`, "TOKEN_SIGNING_KEYS entry 2 must be kid:secret");
    refused(`:${SECRET_1}`, "TOKEN_SIGNING_KEYS entry 1 must be kid:secret");
    refused(`k 1:${SECRET_1}`, "entry 1 must be kid:secret");
    refused(`k.1:${SECRET_1}`, "entry 1 must be kid:secret");
    refused(`${"k".repeat(33)}:${SECRET_1}`, "entry 1 must be kid:secret");
    expect(() => checkSigningKeys(keys(`${"k".repeat(32)}:${SECRET_1}`))).not.toThrow();
    expect(() => checkSigningKeys(keys(` K_-9 : ${SECRET_1} `))).not.toThrow();
    // Without a colon the entry is refused, even one that could split into a kid and a secret.
    refused("k".repeat(33), "entry 1 must be kid:secret");
  });

  it("trims the secret: a key written with spaces signs as the same key", async () => {
    const spaced = await signToken(keys(`k1:  ${SECRET_1}  `), open);
    expect(await verifyToken(newOnly, spaced, "o")).toMatchObject(open);
  });

  it("must have secrets of at least 32 bytes", () => {
    refused(
      `k1:${SECRET_1},k2:${"x".repeat(31)}`,
      'TOKEN_SIGNING_KEYS secret "k2" must be at least 32 bytes',
    );
    expect(() => checkSigningKeys(keys(`k3:${"x".repeat(32)}`))).not.toThrow();
    // Bytes, not characters: 16 two-byte characters are 32 bytes.
    expect(() => checkSigningKeys(keys(`k4:${"é".repeat(16)}`))).not.toThrow();
  });
});

describe("signToken and verifyToken", () => {
  it("round-trips a payload, stamped with the time it was signed in seconds", async () => {
    const now = Date.parse("2026-12-01T10:00:00.900Z");
    const token = await signToken(env, { ...open, l: 2 }, now);
    expect(token.startsWith("k1.")).toBe(true);
    expect(await verifyToken(env, token, "o")).toEqual({ ...open, l: 2, t: now / 1000 - 0.9 });
  });

  it("signs with the first key and verifies with any listed key", async () => {
    const before = await signToken(oldOnly, open);
    expect(await verifyToken(env, before, "o")).toMatchObject(open);
    const after = await signToken(env, open);
    expect(await verifyToken(newOnly, after, "o")).toMatchObject(open);
    expect(await verifyToken(oldOnly, after, "o")).toBeNull();
  });

  it("refuses another kind, an altered body or signature, and malformed tokens", async () => {
    const token = await signToken(env, open);
    const [kid, body, sig] = token.split(".");
    expect(await verifyToken(env, token, "c")).toBeNull();
    const forged = base64url(utf8(JSON.stringify({ ...open, g: "org_2" })));
    expect(await verifyToken(env, `${kid}.${forged}.${sig}`, "o")).toBeNull();
    expect(await verifyToken(env, `${kid}.${body}.${sig.slice(0, -2)}AA`, "o")).toBeNull();
    expect(await verifyToken(env, `k9.${body}.${sig}`, "o")).toBeNull();
    expect(await verifyToken(env, `${kid}.${body}`, "o")).toBeNull();
    expect(await verifyToken(env, `${token}.x`, "o")).toBeNull();
    expect(await verifyToken(env, "", "o")).toBeNull();
  });

  it("refuses a token longer than 8,192 characters even when it is authentic", async () => {
    const at = (m: string) => signToken(env, { ...open, m });
    const fits = await at("m".repeat(6000));
    expect(fits.length).toBeLessThanOrEqual(8192);
    expect(await verifyToken(env, fits, "o")).not.toBeNull();
    let m = "m".repeat(6000);
    let long = fits;
    while (long.length <= 8192) {
      m += "m";
      long = await at(m);
    }
    expect(long.length).toBe(8193);
    expect(await verifyToken(env, long, "o")).toBeNull();
    // …and takes one of exactly 8,192 (with a three-letter kid: base64 is never 1 mod 4 long).
    const k12 = keys(`k12:${SECRET_1}`);
    let exact = "";
    for (let n = 6000; exact.length !== 8192 && n < 6200; n++) {
      for (const l of [1, 10, 100]) {
        const t = await signToken(k12, { ...open, m: "m".repeat(n), l });
        if (t.length === 8192) {
          exact = t;
          break;
        }
      }
    }
    expect(exact.length).toBe(8192);
    expect(await verifyToken(k12, exact, "o")).not.toBeNull();
  });

  it("refuses an authentic token whose payload is not JSON or lacks the org or message", async () => {
    const key = await crypto.subtle.importKey(
      "raw",
      utf8(SECRET_1),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const signed = async (text: string) => {
      const body = base64url(utf8(text));
      const sig = await crypto.subtle.sign("HMAC", key, utf8(`k1.${body}`));
      return `k1.${body}.${base64url(sig)}`;
    };
    expect(await verifyToken(env, await signed(JSON.stringify(open)), "o")).toEqual(open);
    expect(await verifyToken(env, await signed("not json"), "o")).toBeNull();
    expect(
      await verifyToken(env, await signed(JSON.stringify({ k: "o", m: "msg_1" })), "o"),
    ).toBeNull();
    expect(
      await verifyToken(env, await signed(JSON.stringify({ k: "o", g: "org_1" })), "o"),
    ).toBeNull();
    expect(
      await verifyToken(env, await signed(JSON.stringify({ k: "o", g: 1, m: "msg_1" })), "o"),
    ).toBeNull();
  });

  it("takes a click token only with an http(s) destination", async () => {
    const click = (u?: string) => signToken(env, { k: "c", g: "org_1", m: "msg_1", l: 0, u });
    expect(await verifyToken(env, await click("https://example.com/a"), "c")).toMatchObject({
      u: "https://example.com/a",
    });
    expect(await verifyToken(env, await click("HTTP://example.com/"), "c")).not.toBeNull();
    expect(await verifyToken(env, await click("javascript:alert(1)"), "c")).toBeNull();
    expect(await verifyToken(env, await click("xhttps://example.com/"), "c")).toBeNull();
    expect(await verifyToken(env, await click(undefined), "c")).toBeNull();
    // A click token is not an open token either.
    expect(await verifyToken(env, await click("https://example.com/a"), "o")).toBeNull();
    // Only clicks redirect: an open-pixel token needs no destination.
    expect(await verifyToken(env, await signToken(env, open), "o")).not.toBeNull();
  });
});

describe("linkExpired", () => {
  const now = Date.parse("2026-12-01T00:00:00Z");
  const at = (secondsAgo: number): TokenPayload => ({ ...open, t: now / 1000 - secondsAgo });

  it("keeps each consent link for its lifetime, to the second", () => {
    expect(LINK_LIFETIME_DAYS).toEqual({ s: 7, p: 90, u: 90 });
    expect(linkExpired(at(7 * DAY), "s", now)).toBe(false);
    expect(linkExpired(at(7 * DAY + 1), "s", now)).toBe(true);
    expect(linkExpired(at(90 * DAY), "u", now)).toBe(false);
    expect(linkExpired(at(90 * DAY + 1), "u", now)).toBe(true);
    expect(linkExpired(at(90 * DAY + 1), "p", now)).toBe(true);
    expect(linkExpired(at(8 * DAY), "p", now)).toBe(false);
  });

  it("treats a token without an issue time as expired only for a confirmation", () => {
    expect(linkExpired(open, "s", now)).toBe(true);
    expect(linkExpired(open, "u", now)).toBe(false);
    expect(linkExpired(open, "p", now)).toBe(false);
  });
});

describe("trackingUrl", () => {
  it("puts the kind and token under /t on the public origin, with or without its slash", () => {
    expect(trackingUrl("https://nudge.test/", "o", "tok")).toBe("https://nudge.test/t/o/tok");
    expect(trackingUrl("https://nudge.test", "c", "tok")).toBe("https://nudge.test/t/c/tok");
  });
});

describe("replyToken and verifyReplyToken", () => {
  const id = newId("msg");

  it("round-trips, and survives a mail system lowercasing the address", async () => {
    const token = await replyToken(env, id);
    expect(token).toMatch(new RegExp(`^${id}\\.k1\\.[0-9a-f]{16}$`));
    expect(await verifyReplyToken(env, token)).toBe(id);
    expect(await verifyReplyToken(env, token.toLowerCase())).toBe(id);
    expect(await verifyReplyToken(env, ` ${token.toUpperCase()} `)).toBe(id);
  });

  it("verifies with an older key after rotation, and refuses an unknown kid", async () => {
    const token = await replyToken(oldOnly, id);
    expect(await verifyReplyToken(env, token)).toBe(id);
    expect(await verifyReplyToken(newOnly, token)).toBeNull();
  });

  it("refuses another message's MAC and malformed tokens", async () => {
    const token = await replyToken(env, id);
    const other = await replyToken(env, newId("msg"));
    const mac = token.slice(-16);
    expect(await verifyReplyToken(env, `${other.slice(0, -16)}${mac}`)).toBeNull();
    const flipped = `${token.slice(0, -1)}${token.endsWith("0") ? "1" : "0"}`;
    expect(await verifyReplyToken(env, flipped)).toBeNull();
    expect(await verifyReplyToken(env, `x${token}`)).toBeNull();
    expect(await verifyReplyToken(env, `${token}0`)).toBeNull();
    expect(await verifyReplyToken(env, token.replace("msg_", "evt_"))).toBeNull();
    expect(await verifyReplyToken(env, token.replace(".k1.", ".."))).toBeNull();
  });
});
