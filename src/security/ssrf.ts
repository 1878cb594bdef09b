// One policy for everything Nudge fetches or connects to: outbound webhooks, webhook steps and
// provider connections (an SMTP host, an SES region). In production only public hosts, and
// https for URLs; in local development also localhost and 127.0.0.1. Names are normalised
// first (case, trailing dots, numeric IPv4 forms, compressed IPv6), and IPv6 forms that
// carry an IPv4 address inside are refused outright.
//
// Names are judged by their spelling only; what they resolve to is not looked up, on purpose.
// A deployed Worker has no way into a private network but the platform's own: its fetch() and
// connect() leave from Cloudflare's network, whose egress refuses local and private
// destinations — for sockets (SMTP here) the TCP sockets page lists "Cloudflare IPs, localhost,
// and private network IPs" as disallowed addresses
// (https://developers.cloudflare.com/workers/runtime-apis/tcp-sockets/#troubleshooting); for
// fetch(), subrequests are resolved by Cloudflare's resolver
// (https://developers.cloudflare.com/workers/platform/known-issues/#fetch-api-in-cname-setup)
// and a name resolving to "a local or disallowed IP address" is refused with error 1002
// (https://developers.cloudflare.com/support/troubleshooting/http-status-codes/cloudflare-1xxx-errors/error-1002/).
// The operator's own private services are reachable only through Workers VPC bindings over a
// Cloudflare Tunnel (https://developers.cloudflare.com/workers-vpc/), and this Worker declares
// none (test/node/egress.test.ts keeps it so). Resolving names ourselves first (DNS over HTTPS)
// would not add a guarantee: the fetch resolves again, so a name answering a public address to
// the check and a private one to the fetch (DNS rebinding) passes anyway — while every webhook
// delivery would pay an extra subrequest and fail whenever the resolver does. Where the Worker
// does run beside private addresses — `wrangler dev` on the operator's machine — there are no
// tenants, and development mode allows localhost anyway.
import { config } from "../ground/config";
import type { Env } from "../ground/env";

const isDev = (env: Env) => config(env).development;
const LOCAL_DEV_HOSTS = new Set(["localhost", "127.0.0.1"]);

/** An SES region as AWS names them (`us-east-1`, `eu-central-2`, `us-gov-west-1`). */
export const SES_REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

function v4Refusal(ip: string): string | null {
  const p = ip.split(".").map(Number);
  if (p.length !== 4 || p.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) {
    return "Not a valid IPv4 address";
  }
  const [a, b, c] = p;
  const reserved =
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0 && (c === 0 || c === 2)) ||
    (a === 198 && (b === 18 || b === 19)) ||
    (a === 198 && b === 51 && c === 100) ||
    (a === 203 && b === 0 && c === 113) ||
    a >= 224;
  return reserved
    ? "Private, loopback, link-local, CGNAT or reserved addresses are not allowed"
    : null;
}

/** The eight 16-bit groups of an IPv6 address (as the URL parser writes it: compressed, no zone). */
function v6Groups(ip: string): number[] | null {
  const [head, tail, extra] = ip.split("::");
  if (extra !== undefined) {
    return null;
  }
  const part = (s: string | undefined) =>
    s ? s.split(":").map((g) => Number.parseInt(g, 16)) : [];
  const h = part(head);
  const t = part(tail);
  const groups =
    tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff)
    ? groups
    : null;
}

function v6Refusal(ip: string): string | null {
  const g = v6Groups(ip);
  if (!g) {
    return "Not a valid IPv6 address";
  }
  const zeros = (n: number) => g.slice(0, n).every((x) => x === 0);
  const embedsV4 =
    zeros(6) || // ::/96 (IPv4-compatible, and :: and ::1 themselves)
    (zeros(5) && g[5] === 0xffff) || // ::ffff:0:0/96 (IPv4-mapped)
    (zeros(4) && g[4] === 0xffff && g[5] === 0) || // ::ffff:0:0:0/96 (IPv4-translated)
    (g[0] === 0x64 && g[1] === 0xff9b) || // 64:ff9b::/96 and 64:ff9b:1::/48 (NAT64)
    g[0] === 0x2002 || // 2002::/16 (6to4)
    (g[0] === 0x2001 && g[1] === 0); // 2001::/32 (Teredo)
  if (embedsV4) {
    return "IPv6 addresses that carry an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo) are not allowed";
  }
  const reserved =
    (g[0] & 0xfe00) === 0xfc00 || // fc00::/7 unique local
    (g[0] & 0xffc0) === 0xfe80 || // fe80::/10 link-local
    (g[0] & 0xffc0) === 0xfec0 || // fec0::/10 site-local
    (g[0] & 0xff00) === 0xff00 || // ff00::/8 multicast
    (g[0] === 0x2001 && g[1] === 0x0db8) || // 2001:db8::/32 documentation
    (g[0] === 0x0100 && g[1] === 0 && g[2] === 0 && g[3] === 0); // 100::/64 discard
  return reserved
    ? "Private, loopback, link-local, site-local or reserved IPv6 addresses are not allowed"
    : null;
}

/** Why a host (name or address, as a URL parser normalised it) may not be reached, or null. */
function hostRefusal(host: string): string | null {
  if (host.startsWith("[")) {
    return v6Refusal(host.slice(1, -1));
  }
  if (/^[\d.]+$/.test(host)) {
    return v4Refusal(host);
  }
  const name = host.replace(/\.+$/, "");
  const local =
    name === "localhost" ||
    name.endsWith(".localhost") ||
    name.endsWith(".local") ||
    name.endsWith(".internal") ||
    name.endsWith(".home.arpa") ||
    !name.includes(".");
  return local ? "Local host names are not allowed" : null;
}

/** The host as a URL parser normalises it (lower case, numeric IPv4 forms, compressed IPv6), or null. */
function normalisedHost(raw: string): string | null {
  try {
    const bracketed = raw.includes(":") && !raw.startsWith("[") ? `[${raw}]` : raw;
    return new URL(`https://${bracketed}/`).hostname;
  } catch {
    return null;
  }
}

const allowedInDev = (env: Env, host: string) =>
  isDev(env) && LOCAL_DEV_HOSTS.has(host.replace(/\.+$/, ""));

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
  const host = url.hostname;
  if (allowedInDev(env, host) && (url.protocol === "http:" || url.protocol === "https:")) {
    return null;
  }
  if (url.protocol !== "https:") {
    return "Only https URLs are allowed";
  }
  return hostRefusal(host);
}

/** Returns why a host and port (an SMTP relay) are refused, or null when they may be reached. */
export function refuseHost(env: Env, rawHost: string, rawPort: string | number): string | null {
  const port = Number(rawPort);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return "The port must be a whole number from 1 to 65535";
  }
  const host = normalisedHost(rawHost.trim());
  if (!host) {
    return "Not a valid host name or address";
  }
  if (allowedInDev(env, host)) {
    return null;
  }
  return hostRefusal(host);
}
