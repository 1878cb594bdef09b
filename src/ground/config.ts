// The Worker's settings (its vars), parsed in one place: typed, defaulted, and refused loudly
// with a ConfigurationError naming the variable when a value is unusable — never a NaN that
// surfaces far away. Bindings stay on env; the secrets keep their own parsers
// (src/security/credentials.ts, src/security/tokens.ts) and ADMIN_TOKEN is compared as is.
import { z } from "zod";
import type { Env } from "./env";
import type { LogLevel } from "./log";

/** A setting or secret the Worker needs is missing or unusable: the operator must fix it. */
export class ConfigurationError extends Error {}

/** R2's minimum part size (every part of a multipart upload but the last). */
export const R2_MIN_PART_BYTES = 5 * 1024 * 1024;

export interface LlmPrice {
  /** USD per million input tokens. */
  input: number;
  /** USD per million output tokens. */
  output: number;
}

/** A number of at least `min` (`int`: a whole one), one message for every way it is not. */
const numberAtLeast = (min: number, { int = false, exclusive = false } = {}) => {
  const error = `must be a${int ? " whole" : ""} number ${exclusive ? "above" : "of at least"} ${min}`;
  const n = z.coerce.number({ error });
  const bounded = exclusive ? n.gt(min, { error }) : n.min(min, { error });
  return int ? bounded.int({ error }) : bounded;
};
const LLM_PRICE = z.object({ input: numberAtLeast(0), output: numberAtLeast(0) });

const SCHEDULE = "must list whole seconds, each 0 or more, separated by commas";
const REGIONS =
  "must list <shard>:<region> pairs separated by commas (e.g. 1:eu); regions: eu, fedramp";
const SENDER_DOMAINS =
  "must list domain names separated by commas (e.g. mail.example.com,example.org)";
/** A domain name: dot-separated labels of letters, digits and inner hyphens, at least two. */
const DOMAIN =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** One entry per variable, named as the environment names it; absent or blank means unset. */
const VARS = z.object({
  /** "development" allows local targets (src/security/ssrf.ts); anything else is production. */
  ENVIRONMENT: z.string().default("production"),
  /**
   * The origin of links in emails; unset: each org's own, learned from its API requests
   * (accounts/public-url).
   */
  PUBLIC_URL: z
    .url({
      protocol: /^https?$/,
      error: "must be an http(s) URL such as https://nudge.example.com",
    })
    .transform((u) => u.replace(/\/+$/, ""))
    .optional(),
  /** Default reply domain (connections may set their own): replies go to reply+<token>@it. */
  REPLY_DOMAIN: z.string().optional(),
  /** Received mail matched to no message is forwarded here (a verified Email Routing destination). */
  FORWARD_UNMATCHED_TO: z.string().optional(),
  /**
   * The domains tenants may send from through the `cloudflare` provider (the SEND_EMAIL binding
   * sends as any address on the operator's account), comma-separated; unset: that provider is
   * refused (src/providers/cloudflare.ts).
   */
  CLOUDFLARE_SENDER_DOMAINS: z
    .string()
    .transform((s) =>
      s
        .split(",")
        .map((d) => d.trim().toLowerCase().replace(/\.+$/, ""))
        .filter(Boolean),
    )
    .pipe(
      z
        .array(z.string().regex(DOMAIN, { error: SENDER_DOMAINS }))
        .min(1, { error: SENDER_DOMAINS }),
    )
    .optional(),
  /** JSON log lines at this level and above (src/ground/log.ts). */
  LOG_LEVEL: z
    .string()
    .toLowerCase()
    .pipe(z.enum(["debug", "info", "warn", "error"], "must be debug, info, warn or error"))
    .default("info"),
  /** Seconds before each webhook attempt: the first, then one per retry (API.md). */
  WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .transform((s) => s.split(",").map((part) => part.trim()))
    .pipe(
      z.array(
        z.coerce
          .number<string>({ error: SCHEDULE })
          .int({ error: SCHEDULE })
          .min(0, { error: SCHEDULE }),
      ),
    )
    .default([0, 5, 300, 1800, 7200, 18_000, 36_000, 36_000]),
  /** The first delay of the email and phone backoff; doubled per attempt (tests set 0). */
  EMAIL_RETRY_BASE_SECONDS: numberAtLeast(0).default(30),
  /** The first check for an effect its consumer has not confirmed (src/enrollments/object/effect-ledger.ts). */
  EFFECT_REDELIVERY_SECONDS: numberAtLeast(0, { exclusive: true }).default(15),
  /** Bytes per part of a report file's multipart upload; R2 refuses smaller parts. */
  REPORT_PART_BYTES: numberAtLeast(R2_MIN_PART_BYTES, { int: true }).default(R2_MIN_PART_BYTES),
  /** Rows read per page while a report is built. */
  REPORT_PAGE_ROWS: numberAtLeast(1, { int: true }).default(1_000),
  /** Older tracking tokens show a page naming the destination instead of redirecting. */
  CLICK_TOKEN_MAX_AGE_DAYS: numberAtLeast(0, { exclusive: true }).default(365),
  /** The longest an automatic reply may hold an enrollment, whatever return date it names. */
  AUTO_REPLY_MAX_HOLD_DAYS: numberAtLeast(0, { exclusive: true }).default(30),
  /** How many org shards (D1 databases DB_SHARD_0…DB_SHARD_{n-1}) there are (src/db/shards.ts). */
  SHARDS: numberAtLeast(1, { int: true }).default(1),
  /**
   * Shards bound to a jurisdiction, `<shard>:<region>` comma-separated (e.g. `1:eu`): orgs
   * created with that `region` are placed only there, and their Durable Objects too.
   */
  SHARD_REGIONS: z
    .string()
    .transform((s) =>
      s
        .split(",")
        .map((part) => part.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^\d+:(eu|fedramp)$/, { error: REGIONS })))
    .transform((parts) =>
      Object.fromEntries(parts.map((p) => p.split(":")).map(([i, r]) => [Number(i), r])),
    )
    .optional(),
  /**
   * How long an org move waits after marking the org moving before it copies a row: every
   * isolate's cached placement must have expired (src/accounts/move.ts; unset: the cache's
   * lifetime and a margin). Tests shorten it.
   */
  SHARD_MOVE_SETTLE_MS: numberAtLeast(0, { int: true }).optional(),
  /** The longest a revoked API key may still be accepted by an isolate that cached it (seconds). */
  KEY_CACHE_SECONDS: numberAtLeast(0).default(10),
  /** Per million tokens, over the built-in table (src/providers/llm.ts). */
  LLM_PRICES: z
    .string()
    .transform((s, ctx) => {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        ctx.issues.push({ code: "custom", input: s, message: "is not JSON" });
        return z.NEVER;
      }
    })
    .pipe(z.record(z.string(), LLM_PRICE))
    .optional(),
});

type VarName = keyof typeof VARS.shape & keyof Env;
const NAMES = Object.keys(VARS.shape) as VarName[];

export interface Config {
  environment: string;
  /** Local development: loopback webhook targets and relays are allowed. */
  development: boolean;
  publicUrl: string | null;
  replyDomain: string | null;
  forwardUnmatchedTo: string | null;
  /** Domains the `cloudflare` provider may send from (lower case); null: that provider is off. */
  cloudflareSenderDomains: readonly string[] | null;
  logLevel: LogLevel;
  webhookRetrySchedule: readonly number[];
  emailRetryBaseSeconds: number;
  effectRedeliveryMs: number;
  reportPartBytes: number;
  reportPageRows: number;
  clickTokenMaxAgeDays: number;
  autoReplyMaxHoldMs: number;
  llmPrices: Readonly<Record<string, LlmPrice>>;
  /** Org shards: their number, and the jurisdiction of those that have one (by index). */
  shards: number;
  shardRegions: Readonly<Record<number, Region>>;
  /** The wait of an org move before its copy; null: PLACEMENT_TTL_MS and a margin. */
  shardMoveSettleMs: number | null;
  keyCacheMs: number;
}

/** A data-residency jurisdiction (Durable Objects' `namespace.jurisdiction()`). */
export type Region = "eu" | "fedramp";

function parse(raw: (string | undefined)[]): Config {
  // A var set to "" (an emptied line in wrangler.toml or .dev.vars) is a var not set.
  const input = Object.fromEntries(
    NAMES.map((name, i) => [name, raw[i]?.trim() ? raw[i].trim() : undefined]),
  );
  const r = VARS.safeParse(input);
  if (!r.success) {
    const problems = r.error.issues.map((issue) => {
      const [name, ...inside] = issue.path.map(String);
      const value = String(input[name]);
      const shown = value.length > 80 ? `${value.slice(0, 80)}…` : value;
      const where = inside.length > 0 ? ` at ${inside.join(".")}` : "";
      return `${name}${where} ${issue.message} (it is "${shown}")`;
    });
    throw new ConfigurationError(problems.join("; "));
  }
  const v = r.data;
  return Object.freeze({
    environment: v.ENVIRONMENT,
    development: v.ENVIRONMENT === "development",
    publicUrl: v.PUBLIC_URL || null,
    replyDomain: v.REPLY_DOMAIN ?? null,
    forwardUnmatchedTo: v.FORWARD_UNMATCHED_TO ?? null,
    cloudflareSenderDomains: v.CLOUDFLARE_SENDER_DOMAINS
      ? Object.freeze(v.CLOUDFLARE_SENDER_DOMAINS)
      : null,
    logLevel: v.LOG_LEVEL,
    webhookRetrySchedule: Object.freeze(v.WEBHOOK_RETRY_SCHEDULE),
    emailRetryBaseSeconds: v.EMAIL_RETRY_BASE_SECONDS,
    effectRedeliveryMs: v.EFFECT_REDELIVERY_SECONDS * 1000,
    reportPartBytes: v.REPORT_PART_BYTES,
    autoReplyMaxHoldMs: v.AUTO_REPLY_MAX_HOLD_DAYS * 86_400_000,
    reportPageRows: v.REPORT_PAGE_ROWS,
    clickTokenMaxAgeDays: v.CLICK_TOKEN_MAX_AGE_DAYS,
    llmPrices: Object.freeze(v.LLM_PRICES ?? {}),
    shards: v.SHARDS,
    shardRegions: Object.freeze((v.SHARD_REGIONS ?? {}) as Record<number, Region>),
    shardMoveSettleMs: v.SHARD_MOVE_SETTLE_MS ?? null,
    keyCacheMs: v.KEY_CACHE_SECONDS * 1000,
  });
}

/**
 * The parsed settings of `env`, kept per env object with the raw values they came from: the
 * runtime hands every request of an isolate the same env and never changes it, so each is
 * parsed once; a test that changes a var on that object in place gets it parsed again rather
 * than a stale copy.
 */
const parsed = new WeakMap<Env, { raw: (string | undefined)[]; config: Config }>();

export function config(env: Env): Config {
  const raw = NAMES.map((name) => env[name]);
  const hit = parsed.get(env);
  if (hit?.raw.every((value, i) => value === raw[i])) {
    return hit.config;
  }
  const fresh = parse(raw);
  parsed.set(env, { raw, config: fresh });
  return fresh;
}
