// Outbound webhooks: publish an event → one delivery per subscription → signed POST per
// Standard Webhooks, retried on the API.md schedule; 410 disables; failing 5 days disables.
// Also performs the `webhook` workflow step's HTTP calls.
import type { Db } from "../db/client";
import { database } from "../db/client";
import {
  type DeliveryRow,
  ensureDelivery,
  getDelivery,
  getWebhookById,
  markDeliveryFailed,
  recordAttempt,
  setWebhookHealth,
  subscribersOf,
  type WebhookRow,
} from "../db/webhooks";
import type { Env } from "../env";
import { newId, sha256Hex } from "../http/ids";
import { confirmEffects } from "./ack";
import { checkPayload } from "./catalog";
import { decrypt } from "./crypto";
import { retryAfter } from "./providers/provider";
import { refuseUrl } from "./ssrf";

export interface OutboundEvent {
  id: string;
  type: string;
  createdAt: string;
  data: Record<string, unknown>;
}

export type WebhookJob =
  | { kind: "publish"; orgId: string; event: OutboundEvent; origin?: { enrollmentId: string; key: string } }
  | { kind: "deliver"; deliveryId: string }
  | {
      kind: "call";
      key: string;
      orgId: string;
      enrollmentId: string;
      stepId: string;
      request: { url: string; method: string; headers: Record<string, string>; body: unknown };
    };

const TIMEOUT_MS = 15_000;
const DISABLE_AFTER_MS = 5 * 86_400_000;
const STEP_CALL_ATTEMPTS = 5;

/** An event with a stable id: derived from `key` when given, so a re-run never publishes it twice. */
export async function outboundEvent(type: string, data: Record<string, unknown>, key?: string): Promise<OutboundEvent> {
  const id = key ? `evt_${(await sha256Hex(key)).slice(0, 26).toUpperCase()}` : newId("evt");
  return { id, type, createdAt: new Date().toISOString(), data: checkPayload(type, data) };
}

export async function publish(env: Env, orgId: string, type: string, data: Record<string, unknown>, key?: string) {
  await env.WEBHOOK_QUEUE.send({ kind: "publish", orgId, event: await outboundEvent(type, data, key) });
}

export function retrySchedule(env: Env): number[] {
  return (env.WEBHOOK_RETRY_SCHEDULE ?? "0,5,300,1800,7200,18000,36000,36000").split(",").map((s) => Number(s.trim()));
}

// ---- signing (Standard Webhooks) -----------------------------------------------------------

async function hmacBase64(secret: string, content: string) {
  const raw = Uint8Array.from(atob(secret.replace(/^whsec_/, "")), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(content)));
  return btoa(String.fromCharCode(...sig));
}

/** `v1,<sig>` per secret, space-separated (both secrets during a rotation). */
export async function signatureHeader(secrets: string[], id: string, timestamp: number, body: string) {
  const sigs = await Promise.all(secrets.map((s) => hmacBase64(s, `${id}.${timestamp}.${body}`)));
  return sigs.map((s) => `v1,${s}`).join(" ");
}

export function newWebhookSecret() {
  return `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`;
}

async function signingSecrets(env: Env, w: WebhookRow, now: number) {
  const out = [await decrypt(env, w.secret)];
  if (w.previousSecret && (w.previousSecretExpiresAt ?? 0) > now) out.push(await decrypt(env, w.previousSecret));
  return out;
}

// ---- the consumer --------------------------------------------------------------------------

/** A pending delivery of `event` to one subscription. */
export function newDelivery(orgId: string, webhookId: string, event: OutboundEvent, now = Date.now()): DeliveryRow {
  return {
    id: newId("dlv", now),
    orgId,
    webhookId,
    eventId: event.id,
    eventType: event.type,
    payload: JSON.stringify(event),
    status: "pending",
    attempts: 0,
    lastStatusCode: null,
    nextAttemptAt: now,
    createdAt: now,
    updatedAt: now,
  };
}

/** Subscriptions looked up once per org and event type within one queue batch. */
type SubscriberCache = Map<string, Promise<WebhookRow[]>>;

async function fanOut(env: Env, db: Db, orgId: string, event: OutboundEvent, cache: SubscriberCache) {
  const cacheKey = `${orgId} ${event.type}`;
  let lookup = cache.get(cacheKey);
  if (!lookup) {
    lookup = subscribersOf(db, orgId, event.type);
    cache.set(cacheKey, lookup);
  }
  const subs = await lookup;
  const jobs: { body: WebhookJob }[] = [];
  const now = Date.now();
  for (const w of subs) {
    const d = await ensureDelivery(db, newDelivery(orgId, w.id, event, now));
    if (d && d.attempts === 0) jobs.push({ body: { kind: "deliver", deliveryId: d.id } });
  }
  for (let i = 0; i < jobs.length; i += 100) await env.WEBHOOK_QUEUE.sendBatch(jobs.slice(i, i + 100));
}

/** Retry-After in seconds, capped at the 12 h a queue delay allows. */
const retryAfterSeconds = (res: Response) => Math.min(retryAfter(res), 43_200);

/** One attempt of one delivery. Returns the delay before the next attempt, or null when finished. */
export async function attemptDelivery(env: Env, db: Db, d: DeliveryRow): Promise<number | null> {
  const w = await getWebhookById(db, d.webhookId);
  const now = Date.now();
  if (!w?.active) {
    await markDeliveryFailed(db, d.id, now);
    return null;
  }
  const attempt = d.attempts + 1;
  const timestamp = Math.floor(now / 1000);
  const event = JSON.parse(d.payload) as OutboundEvent;
  let status: number | null = null;
  let error: string | null = null;
  let askedWait = 0;
  const started = Date.now();
  const refused = refuseUrl(env, w.url);
  if (refused) {
    error = `Refused: ${refused}`;
  } else {
    try {
      const res = await fetch(w.url, {
        method: "POST",
        redirect: "manual",
        signal: AbortSignal.timeout(TIMEOUT_MS),
        headers: {
          "content-type": "application/json",
          "user-agent": "Nudge-Webhooks/1.0",
          "webhook-id": event.id,
          "webhook-timestamp": String(timestamp),
          "webhook-signature": await signatureHeader(await signingSecrets(env, w, now), event.id, timestamp, d.payload),
        },
        body: d.payload,
      });
      status = res.status;
      await res.body?.cancel();
      if (status >= 300 && status < 400) error = `Redirect (${status}) not followed`;
      else if (status < 200 || status >= 300) error = `HTTP ${status}`;
      if (status === 429 || status === 502 || status === 503 || status === 504) askedWait = retryAfterSeconds(res);
    } catch (err) {
      error = err instanceof Error && err.name === "TimeoutError" ? `Timed out after ${TIMEOUT_MS / 1000} s` : String(err);
    }
  }
  const durationMs = Date.now() - started;
  const ok = status !== null && status >= 200 && status < 300;
  const schedule = retrySchedule(env);
  const gone = status === 410;
  const exhausted = !ok && (gone || attempt >= schedule.length);
  const delay = ok || exhausted ? null : Math.max(schedule[attempt] ?? 0, askedWait);
  const nextAttemptAt = delay === null ? null : now + delay * 1000;
  await recordAttempt(
    db,
    { deliveryId: d.id, attempt, statusCode: status, durationMs, error, nextAttemptAt, at: now },
    { id: d.id, status: ok ? "succeeded" : exhausted ? "failed" : "pending", attempts: attempt, lastStatusCode: status, nextAttemptAt, updatedAt: now },
  );
  if (ok) {
    if (w.failingSince) await setWebhookHealth(db, w.id, { failingSince: null, updatedAt: now });
  } else if (gone) {
    await setWebhookHealth(db, w.id, { active: false, disabledReason: "The endpoint answered 410 Gone", updatedAt: now });
  } else if (w.failingSince && now - w.failingSince > DISABLE_AFTER_MS) {
    await setWebhookHealth(db, w.id, { active: false, disabledReason: "Failing for more than 5 days", updatedAt: now });
  } else if (!w.failingSince) {
    await setWebhookHealth(db, w.id, { failingSince: now, updatedAt: now });
  }
  if (exhausted && !gone) throw new DeliveryExhausted(d.id, error ?? "failed");
  return delay;
}

export class DeliveryExhausted extends Error {
  constructor(
    readonly deliveryId: string,
    reason: string,
  ) {
    super(`Webhook delivery ${deliveryId} exhausted its retries: ${reason}`);
  }
}

/** The `webhook` workflow step: an HTTP call with the effect key as Idempotency-Key. Returns a retry delay or null. */
async function callStep(env: Env, job: Extract<WebhookJob, { kind: "call" }>, attempts: number): Promise<number | null> {
  const refused = refuseUrl(env, job.request.url);
  if (refused) {
    console.error(JSON.stringify({ level: "error", msg: "webhook step refused", key: job.key, url: job.request.url, reason: refused }));
    return null;
  }
  const method = job.request.method.toUpperCase();
  const hasBody = method !== "GET" && method !== "DELETE";
  try {
    const res = await fetch(job.request.url, {
      method,
      redirect: "manual",
      signal: AbortSignal.timeout(TIMEOUT_MS),
      headers: { "content-type": "application/json", "user-agent": "Nudge-Webhooks/1.0", "idempotency-key": job.key, ...job.request.headers },
      body: hasBody ? JSON.stringify(job.request.body ?? {}) : undefined,
    });
    await res.body?.cancel();
    if (res.status === 429 || res.status >= 500) return attempts < STEP_CALL_ATTEMPTS ? Math.max(2 ** attempts * 5, retryAfterSeconds(res)) : null;
    if (res.status >= 300) console.error(JSON.stringify({ level: "error", msg: "webhook step got a permanent failure", key: job.key, status: res.status }));
    return null;
  } catch (err) {
    if (attempts < STEP_CALL_ATTEMPTS) return 2 ** attempts * 5;
    console.error(JSON.stringify({ level: "error", msg: "webhook step failed", key: job.key, error: String(err) }));
    return null;
  }
}

export async function handleWebhookBatch(batch: MessageBatch<WebhookJob>, env: Env) {
  const db = database(env.DB);
  const subscribers: SubscriberCache = new Map();
  for (const msg of batch.messages) {
    const job = msg.body;
    try {
      if (job.kind === "publish") {
        await fanOut(env, db, job.orgId, job.event, subscribers);
        if (job.origin) await confirmEffects(env, [job.origin]);
        msg.ack();
      } else if (job.kind === "call") {
        const delay = await callStep(env, job, msg.attempts);
        if (delay === null) {
          await confirmEffects(env, [{ enrollmentId: job.enrollmentId, key: job.key }]);
          msg.ack();
        } else msg.retry({ delaySeconds: delay });
      } else {
        const d = await getDelivery(db, job.deliveryId);
        if (d?.status !== "pending") {
          msg.ack();
          continue;
        }
        const delay = await attemptDelivery(env, db, d);
        if (delay === null) msg.ack();
        else msg.retry({ delaySeconds: delay });
      }
    } catch (err) {
      if (err instanceof DeliveryExhausted) {
        // Recorded as failed; the dead-letter queue keeps the message for inspection and replay.
        await env.WEBHOOK_DLQ.send(job);
        msg.ack();
        continue;
      }
      console.error(JSON.stringify({ level: "error", msg: "webhook job failed", kind: job.kind, attempts: msg.attempts, error: String(err) }));
      msg.retry({ delaySeconds: Math.min(2 ** msg.attempts, 300) });
    }
  }
}

/** Messages that exhausted the queue's own retries: record the delivery as failed. */
export async function handleWebhookDeadLetters(batch: MessageBatch<WebhookJob>, env: Env) {
  const db = database(env.DB);
  for (const msg of batch.messages) {
    const job = msg.body;
    if (job.kind === "deliver") await markDeliveryFailed(db, job.deliveryId, Date.now());
    console.error(JSON.stringify({ level: "error", msg: "webhook job dead-lettered", job }));
    msg.ack();
  }
}
