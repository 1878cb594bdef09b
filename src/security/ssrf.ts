// Where outbound HTTP may go: in production only https to public hosts; in local
// development also http://localhost and http://127.0.0.1. Checked at create and at send.
import type { Env } from "../ground/env";

function v4Private(ip: string): boolean {
  const p = ip.split(".").map(Number);
  if (p.length !== 4 || p.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) {
    return true;
  }
  const [a, b] = p;
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0 && p[2] === 0) ||
    (a === 198 && (b === 18 || b === 19)) ||
    a >= 224
  );
}

function v6Private(host: string): boolean {
  const ip = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (ip === "::" || ip === "::1") {
    return true;
  }
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (mapped) {
    return v4Private(mapped[1]);
  }
  const hexMapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(ip);
  if (hexMapped) {
    const hi = Number.parseInt(hexMapped[1], 16);
    const lo = Number.parseInt(hexMapped[2], 16);
    return v4Private(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`);
  }
  const first = Number.parseInt(ip.split(":")[0] || "0", 16);
  return (
    (first & 0xfe00) === 0xfc00 ||
    (first & 0xffc0) === 0xfe80 ||
    (first & 0xff00) === 0xff00 ||
    ip.startsWith("64:ff9b:") ||
    ip.startsWith("2001:db8:")
  );
}

const isDev = (env: Env) => env.ENVIRONMENT === "development";
const LOCAL_DEV_HOSTS = new Set(["localhost", "127.0.0.1"]);

/** Returns why the URL is refused, or null when it may be called. */
export function refuseUrl(env: Env, raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "Not a valid URL";
  }
  if (url.username || url.password) {
    return "URLs with credentials are not allowed";
  }
  const host = url.hostname.toLowerCase();
  if (
    isDev(env) &&
    LOCAL_DEV_HOSTS.has(host) &&
    (url.protocol === "http:" || url.protocol === "https:")
  ) {
    return null;
  }
  if (url.protocol !== "https:") {
    return "Only https URLs are allowed";
  }
  if (host.includes(":") || host.startsWith("[")) {
    return v6Private(host)
      ? "Private, loopback or link-local IPv6 addresses are not allowed"
      : null;
  }
  if (/^[\d.]+$/.test(host)) {
    return v4Private(host)
      ? "Private, loopback, link-local or CGNAT addresses are not allowed"
      : null;
  }
  if (
    host === "localhost" ||
    host.endsWith(".localhost") ||
    host.endsWith(".local") ||
    host.endsWith(".internal") ||
    !host.includes(".")
  ) {
    return "Local host names are not allowed";
  }
  return null;
}
