// Rate limits where abuse enters (Workers rate-limit bindings, one per purpose, each counting
// per 60 s): 429 `rate_limited` with Retry-After. Limits per key live in wrangler.toml:
//   RATE_LIMITER          per API key            (authenticated /v1)
//   ORG_RATE_LIMITER      per org                (all of an org's keys together)
//   AUTH_FAIL_LIMITER     per IP, failed API-key authentications
//   TRACKING_LIMITER      per tracking token     (/t/*: one message's pixel or link hammered)
//   BAD_TOKEN_LIMITER     per IP, /t/* tokens that fail verification (never valid ones: image
//                         proxies fetch for millions of people from few addresses)
//   INBOUND_LIMITER       per connection         (/inbound/*: requests that pass its signature
//                         check; those that fail it count under a key of their own)
//   INBOUND_UNKNOWN_LIMITER per IP, /inbound/* requests for connections that do not exist
import { DomainError } from "../ground/errors";

export const RATE_LIMIT_PERIOD_SECONDS = 60;

export const rateLimited = (message: string, retryAfterSeconds = RATE_LIMIT_PERIOD_SECONDS) =>
  new DomainError("rate_limited", message, {
    headers: { "Retry-After": String(Math.max(1, Math.ceil(retryAfterSeconds))) },
  });

/** Counts one request against `key`; throws 429 when the limiter says it is over. */
export async function spend(limiter: RateLimit, key: string, message: string): Promise<void> {
  const { success } = await limiter.limit({ key });
  if (!success) {
    throw rateLimited(message);
  }
}

/** The client's address as Cloudflare reports it; null where there is none (in-process tests). */
export const clientIp = (header: (name: string) => string | undefined) =>
  header("cf-connecting-ip")?.trim() || null;

/**
 * Hits per key in this isolate, per 60 s window: a cheap first look before asking a
 * rate-limit binding. Keys seen only a few times (every real open of a message) never cost a
 * binding call; a hammered key does, once it passes the threshold here. Bounded.
 */
export class LocalCounter {
  private readonly hits = new Map<string, { since: number; n: number }>();

  constructor(
    private readonly periodMs = RATE_LIMIT_PERIOD_SECONDS * 1000,
    private readonly max = 20_000,
  ) {}

  /** Counts one hit of `key`; returns its hits in the current window, this one included. */
  hit(key: string, now = Date.now()): number {
    const cur = this.hits.get(key);
    if (cur && now - cur.since < this.periodMs) {
      cur.n++;
      return cur.n;
    }
    this.hits.delete(key);
    this.hits.set(key, { since: now, n: 1 });
    if (this.hits.size > this.max) {
      const oldest = this.hits.keys().next().value;
      if (oldest !== undefined) {
        this.hits.delete(oldest);
      }
    }
    return 1;
  }
}

/**
 * Keys that went over a limit, remembered in this isolate until the period ends, so their next
 * requests are refused before any work (a D1 lookup). Bounded: the oldest entries go first.
 */
export class Blocklist {
  private readonly until = new Map<string, number>();

  constructor(
    private readonly periodMs = RATE_LIMIT_PERIOD_SECONDS * 1000,
    private readonly max = 10_000,
  ) {}

  /** Seconds until `key` may try again; 0 when it is not blocked. */
  retryAfter(key: string, now = Date.now()): number {
    const until = this.until.get(key);
    if (until === undefined) {
      return 0;
    }
    if (until <= now) {
      this.until.delete(key);
      return 0;
    }
    return (until - now) / 1000;
  }

  block(key: string, now = Date.now()): void {
    this.until.delete(key);
    this.until.set(key, now + this.periodMs);
    if (this.until.size > this.max) {
      const oldest = this.until.keys().next().value;
      if (oldest !== undefined) {
        this.until.delete(oldest);
      }
    }
  }
}
