// The Worker's bindings, vars and secrets in one place. Objects are typed by their RPC
// contracts (src/rpc.ts), never by their classes.

import type { Logger } from "./log";
import type { AgentJob, EventJob, MessageJob, WebhookJob } from "./queues";
import type { AgentGateRpc, EnrollmentRpc, MailboxRpc } from "./rpc";
import type { KeyScope } from "./scopes";

declare const opaque: unique symbol;
/** A D1 org shard as the runtime binds it; only src/db/shards.ts turns one into a database. */
export interface ShardBinding {
  readonly [opaque]: "an org shard: reach it with shardFor(env, orgId)";
}
/** The directory's D1 binding (org → shard, key → org); only src/db/shards.ts opens it. */
export interface DirectoryBinding {
  readonly [opaque]: "the directory: src/db/shards.ts";
}

export interface Env {
  /**
   * Org shards and the directory. Opaque on purpose: only src/db/shards.ts opens them, so
   * no code reaches an org's rows without naming the org (shardFor).
   */
  DB_DIRECTORY: DirectoryBinding;
  DB_SHARD_0: ShardBinding;
  [shard: `DB_SHARD_${number}`]: ShardBinding | undefined;
  ENROLLMENT: DurableObjectNamespace<EnrollmentRpc>;
  MAILBOX: DurableObjectNamespace<MailboxRpc>;
  AGENT_GATE: DurableObjectNamespace<AgentGateRpc>;
  /** Every channel's effects of an enrollment: emails, texts, calls, tasks (nudge-messages). */
  MESSAGE_QUEUE: Queue<MessageJob>;
  WEBHOOK_QUEUE: Queue<WebhookJob>;
  EVENT_QUEUE: Queue<EventJob>;
  /** Agent executions to run (admitted by their gate first). */
  AGENT_QUEUE: Queue<AgentJob>;
  MESSAGE_DLQ: Queue<MessageJob>;
  /** Generated report files (reports/<org>/<report>/<generation>.<format>). */
  REPORTS: R2Bucket;
  WEBHOOK_DLQ: Queue<WebhookJob>;
  /** Rate limits (src/http/rate-limit.ts): per key, per org, per IP failing auth, per tracking token, per IP sending bad tokens, per inbound connection, per IP naming unknown connections. */
  RATE_LIMITER: RateLimit;
  ORG_RATE_LIMITER: RateLimit;
  AUTH_FAIL_LIMITER: RateLimit;
  TRACKING_LIMITER: RateLimit;
  BAD_TOKEN_LIMITER: RateLimit;
  INBOUND_LIMITER: RateLimit;
  INBOUND_UNKNOWN_LIMITER: RateLimit;
  /** Cloudflare Email Routing `send_email` binding; optional. */
  SEND_EMAIL?: SendEmail;
  // Vars: read through config(env) (src/ground/config.ts), which parses, defaults and checks
  // them once and documents each; never read them from env directly.
  ENVIRONMENT: string;
  PUBLIC_URL?: string;
  REPLY_DOMAIN?: string;
  FORWARD_UNMATCHED_TO?: string;
  CLOUDFLARE_SENDER_DOMAINS?: string;
  /** Days an automatic reply may hold an enrollment at most, whatever return date it names (default 30). */
  AUTO_REPLY_MAX_HOLD_DAYS?: string;
  /** debug | info (default) | warn | error */
  LOG_LEVEL?: string;
  WEBHOOK_RETRY_SCHEDULE?: string;
  EMAIL_RETRY_BASE_SECONDS?: string;
  EFFECT_REDELIVERY_SECONDS?: string;
  REPORT_PART_BYTES?: string;
  REPORT_PAGE_ROWS?: string;
  CLICK_TOKEN_MAX_AGE_DAYS?: string;
  LLM_PRICES?: string;
  SHARDS?: string;
  SHARD_REGIONS?: string;
  SHARD_MOVE_SETTLE_MS?: string;
  KEY_CACHE_SECONDS?: string;
  // Secrets, each read by its own parser.
  /** Bearer token of the operator routes (src/http/auth.ts); unset, they answer 404. */
  ADMIN_TOKEN?: string;
  /** Comma-separated `kid:secret` pairs; the first signs, all verify (rotation). */
  TOKEN_SIGNING_KEYS?: string;
  /** `kid:base64(32 bytes),...`: AES-GCM keys for secrets at rest; the first encrypts, all decrypt. */
  ENCRYPTION_KEYS?: string;
  /** One base64 32-byte key (named "default"), accepted when ENCRYPTION_KEYS is not set. */
  ENCRYPTION_KEY?: string;
}

export type AppEnv = {
  Bindings: Env;
  Variables: {
    requestId: string;
    log: Logger;
    orgId: string;
    /** The authenticated key: children it mints may not be wider or outlive it. */
    apiKey: { id: string; scope: KeyScope; expiresAt: number | null };
  };
};
