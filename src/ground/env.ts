// The Worker's bindings, vars and secrets in one place. Objects are typed by their RPC
// contracts (src/rpc.ts), never by their classes.
import type { Logger } from "./log";
import type { AgentJob, EventJob, MessageJob, WebhookJob } from "./queues";
import type { AgentGateRpc, EnrollmentRpc, MailboxRpc } from "./rpc";
import type { KeyScope } from "./scopes";

export interface Env {
  DB: D1Database;
  ENROLLMENT: DurableObjectNamespace<EnrollmentRpc>;
  MAILBOX: DurableObjectNamespace<MailboxRpc>;
  AGENT_GATE: DurableObjectNamespace<AgentGateRpc>;
  EMAIL_QUEUE: Queue<MessageJob>;
  WEBHOOK_QUEUE: Queue<WebhookJob>;
  EVENT_QUEUE: Queue<EventJob>;
  /** Agent executions to run (admitted by their gate first). */
  AGENT_QUEUE: Queue<AgentJob>;
  EMAIL_DLQ: Queue<MessageJob>;
  /** Generated report files (reports/<org>/<report>/<generation>.<format>). */
  REPORTS: R2Bucket;
  WEBHOOK_DLQ: Queue<WebhookJob>;
  /** Rate limits (src/http/rate-limit.ts): per key, per org, per IP failing auth, per tracking token, per IP sending bad tokens, per inbound connection. */
  RATE_LIMITER: RateLimit;
  ORG_RATE_LIMITER: RateLimit;
  AUTH_FAIL_LIMITER: RateLimit;
  TRACKING_LIMITER: RateLimit;
  BAD_TOKEN_LIMITER: RateLimit;
  INBOUND_LIMITER: RateLimit;
  /** Cloudflare Email Routing `send_email` binding; optional. */
  SEND_EMAIL?: SendEmail;
  /** "development" allows http://localhost webhook targets; anything else is production. */
  ENVIRONMENT: string;
  /** Public origin used in tracking and unsubscribe links. */
  /** The origin of links in emails; unset: the origin of the last API request (domain/public-url). */
  PUBLIC_URL?: string;
  /** Default reply domain (connections may set their own): replies go to reply+<token>@it. */
  REPLY_DOMAIN?: string;
  /** Received mail matched to no message is forwarded here (a verified Email Routing destination). */
  FORWARD_UNMATCHED_TO?: string;
  /** Days an automatic reply may hold an enrollment at most, whatever return date it names (default 30). */
  AUTO_REPLY_MAX_HOLD_DAYS?: string;
  /** debug | info (default) | warn | error */
  LOG_LEVEL?: string;
  /** Comma-separated seconds between webhook attempts. */
  WEBHOOK_RETRY_SCHEDULE?: string;
  /** Email queue backoff base in seconds (tests set it to 0). */
  EMAIL_RETRY_BASE_SECONDS?: string;
  /** Seconds before an enrollment re-sends an effect its consumer has not confirmed (default 120). */
  EFFECT_REDELIVERY_SECONDS?: string;
  ADMIN_TOKEN?: string;
  /** Comma-separated `kid:secret` pairs; the first signs, all verify (rotation). */
  TOKEN_SIGNING_KEYS?: string;
  /** `kid:base64(32 bytes),...`: AES-GCM keys for secrets at rest; the first encrypts, all decrypt. */
  ENCRYPTION_KEYS?: string;
  /** One base64 32-byte key (named "default"), accepted when ENCRYPTION_KEYS is not set. */
  ENCRYPTION_KEY?: string;
  /** Bytes per part of a report's multipart upload: at least (and by default) R2's minimum, 5 MiB. */
  REPORT_PART_BYTES?: string;
  /** Rows read per page while building a report (default 1,000). */
  REPORT_PAGE_ROWS?: string;
  /** Days after which a click token shows an interstitial instead of redirecting (default 365). */
  CLICK_TOKEN_MAX_AGE_DAYS?: string;
  /** JSON `{ "<model>": { "input": usd, "output": usd } }` per million tokens, over the built-in table. */
  LLM_PRICES?: string;
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
