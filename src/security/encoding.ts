// Bytes and text: base64url, SHA-256, HMAC, random secrets and a constant-time comparison.
export function base64url(data: Uint8Array | ArrayBuffer): string {
  const u8 = data instanceof Uint8Array ? data : new Uint8Array(data);
  let s = "";
  for (const b of u8) {
    s += String.fromCharCode(b);
  }
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64url(s: string): Uint8Array {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
  return fromBase64(b64);
}

export function base64(data: Uint8Array | ArrayBuffer): string {
  const u8 = data instanceof Uint8Array ? data : new Uint8Array(data);
  let s = "";
  for (const b of u8) {
    s += String.fromCharCode(b);
  }
  return btoa(s);
}

export function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) {
    out[i] = bin.charCodeAt(i);
  }
  return out;
}

export const utf8 = (s: string) => new TextEncoder().encode(s);

/** A random URL-safe secret of `bytes` bytes (base64url, no padding). */
export function randomSecret(bytes = 24): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", utf8(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** HMAC of `content` with `key` (raw bytes or text). */
export async function hmac(
  hash: "SHA-1" | "SHA-256",
  key: Uint8Array | string,
  content: string,
): Promise<Uint8Array> {
  const raw = typeof key === "string" ? utf8(key) : key;
  const k = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, utf8(content)));
}

export const hex = (bytes: Uint8Array) =>
  [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

/** Constant-time string comparison (length leaks, content does not). */
export function timingSafeEqual(a: string, b: string): boolean {
  const ea = utf8(a);
  const eb = utf8(b);
  if (ea.length !== eb.length) {
    return false;
  }
  let diff = 0;
  for (let i = 0; i < ea.length; i++) {
    diff |= ea[i] ^ eb[i];
  }
  return diff === 0;
}
