// The Worker's bindings, vars and secrets in one place. Objects are typed by their RPC
// contracts (src/rpc.ts), never by their classes.
import type { Logger } from "./log";
import type { EmailJob, EventJob, WebhookJob } from "./queues";
import type { EnrollmentRpc } from "./rpc";

export interface Env {
  DB: D1Database;
  ENROLLMENT: DurableObjectNamespace<EnrollmentRpc>;
  EMAIL_QUEUE: Queue<EmailJob>;
  WEBHOOK_QUEUE: Queue<WebhookJob>;
  EVENT_QUEUE: Queue<EventJob>;
  EMAIL_DLQ: Queue<EmailJob>;
  WEBHOOK_DLQ: Queue<WebhookJob>;
  RATE_LIMITER: RateLimit;
  /** Cloudflare Email Routing `send_email` binding; optional. */
  SEND_EMAIL?: SendEmail;
  /** "development" allows http://localhost webhook targets; anything else is production. */
  ENVIRONMENT: string;
  /** Public origin used in tracking and unsubscribe links. */
  PUBLIC_URL: string;
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
  /** Base64 32-byte key for AES-GCM encryption of provider credentials. */
  ENCRYPTION_KEY?: string;
}

export type AppEnv = {
  Bindings: Env;
  Variables: {
    requestId: string;
    log: Logger;
    orgId: string;
    apiKeyId: string;
  };
};
