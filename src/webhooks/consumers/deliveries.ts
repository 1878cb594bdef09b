// The webhook consumer: publish an event → one delivery per subscription → a POST signed per
// Standard Webhooks, retried on the API.md schedule; 410 disables the endpoint; failing for 5
// days disables it. Also performs the `webhook` workflow step's HTTP calls.

import { factBatch, recordFacts } from "../../analytics";
import type { Db } from "../../db/client";
import { shardFor } from "../../db/shards";
import { confirmEffects } from "../../enrollments";
import { config } from "../../ground/config";
import type { Env } from "../../ground/env";
import { errorText, type Logger } from "../../ground/log";
import type { OutboundEvent, WebhookJob } from "../../ground/queues";
import {
  backoffSeconds,
  honourRetryAfter,
  retryAfterSeconds,
  sendInSlices,
} from "../../ground/retry";
import { decrypt } from "../../security/credentials";
import { refuseUrl } from "../../security/ssrf";
import { signatureHeader } from "../../security/standard-webhooks";
import { newDelivery } from "../outbound";
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
} from "../store";

const TIMEOUT_MS = 15_000;
const DISABLE_AFTER_MS = 5 * 86_400_000;
const STEP_CALL_ATTEMPTS = 5;

// ---- signing (Standard Webhooks: src/security/standard-webhooks.ts) ----------------------

async function signingSecrets(env: Env, w: WebhookRow, now: number) {
  const where = { orgId: w.orgId, table: "webhooks", rowId: w.id };
  const out = [await decrypt(env, w.secret, where)];
  if (w.previousSecret && (w.previousSecretExpiresAt ?? 0) > now) {
    out.push(await decrypt(env, w.previousSecret, where));
  }
  return out;
}

// ---- the consumer --------------------------------------------------------------------------

/** Subscriptions looked up once per org and event type within one queue batch. */
type SubscriberCache = Map<string, Promise<WebhookRow[]>>;

async function fanOut(
  env: Env,
  db: Db,
  orgId: string,
  event: OutboundEvent,
  cache: SubscriberCache,
  trace: string | undefined,
) {
  const cacheKey = `${orgId} ${event.type}`;
  let lookup = cache.get(cacheKey);
  if (!lookup) {
    lookup = subscribersOf(db, orgId, event.type);
    cache.set(cacheKey, lookup);
  }
  const jobs: WebhookJob[] = [];
  const now = Date.now();
  for (const w of await lookup) {
    const d = await ensureDelivery(db, newDelivery(orgId, w.id, event, now));
    if (d && d.attempts === 0) {
      jobs.push({ kind: "deliver", orgId, deliveryId: d.id, trace });
    }
  }
  await sendInSlices(env.WEBHOOK_QUEUE, jobs);
}

/** One attempt of one delivery. Returns the delay before the next attempt, or null when finished. */
export async function attemptDelivery(
  env: Env,
  db: Db,
  d: DeliveryRow,
  log: Logger,
): Promise<number | null> {
  const w = await getWebhookById(db, d.webhookId);
  const now = Date.now();
  if (!w?.active) {
    await failDelivery(db, d.id, now);
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
          "webhook-signature": await signatureHeader(
            await signingSecrets(env, w, now),
            event.id,
            timestamp,
            d.payload,
          ),
        },
        body: d.payload,
      });
      status = res.status;
      await res.body?.cancel();
      if (status >= 300 && status < 400) {
        error = `Redirect (${status}) not followed`;
      } else if (status < 200 || status >= 300) {
        error = `HTTP ${status}`;
      }
      if (status === 429 || status === 502 || status === 503 || status === 504) {
        askedWait = retryAfterSeconds(res);
      }
    } catch (err) {
      error =
        err instanceof Error && err.name === "TimeoutError"
          ? `Timed out after ${TIMEOUT_MS / 1000} s`
          : String(err);
    }
  }
  const durationMs = Date.now() - started;
  log.info("webhook delivery", {
    deliveryId: d.id,
    eventType: d.eventType,
    attempt,
    status,
    durationMs,
  });
  const ok = status !== null && status >= 200 && status < 300;
  const schedule = config(env).webhookRetrySchedule;
  const gone = status === 410;
  const exhausted = !ok && (gone || attempt >= schedule.length);
  const delay = ok || exhausted ? null : honourRetryAfter(schedule[attempt] ?? 0, askedWait);
  const nextAttemptAt = delay === null ? null : now + delay * 1000;
  const settled = ok ? "webhookSucceeded" : exhausted ? "webhookFailed" : null;
  await recordAttempt(
    db,
    { deliveryId: d.id, attempt, statusCode: status, durationMs, error, nextAttemptAt, at: now },
    {
      id: d.id,
      status: ok ? "succeeded" : exhausted ? "failed" : "pending",
      attempts: attempt,
      lastStatusCode: status,
      nextAttemptAt,
      updatedAt: now,
    },
    settled ? await factBatch(db, [webhookFact(d.id, d.orgId, settled, now)]) : [],
  );
  if (ok) {
    if (w.failingSince) {
      await setWebhookHealth(db, w.id, { failingSince: null, updatedAt: now });
    }
  } else if (gone) {
    await setWebhookHealth(db, w.id, {
      active: false,
      disabledReason: "The endpoint answered 410 Gone",
      updatedAt: now,
    });
  } else if (w.failingSince && now - w.failingSince > DISABLE_AFTER_MS) {
    await setWebhookHealth(db, w.id, {
      active: false,
      disabledReason: "Failing for more than 5 days",
      updatedAt: now,
    });
  } else if (!w.failingSince) {
    await setWebhookHealth(db, w.id, { failingSince: now, updatedAt: now });
  }
  if (exhausted && !gone) {
    throw new DeliveryExhausted(d.id, error ?? "failed");
  }
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
async function callStep(
  env: Env,
  job: Extract<WebhookJob, { kind: "call" }>,
  attempts: number,
  log: Logger,
): Promise<number | null> {
  const refused = refuseUrl(env, job.request.url);
  if (refused) {
    log.error("webhook step refused", { key: job.key, reason: refused });
    return null;
  }
  const method = job.request.method.toUpperCase();
  const hasBody = method !== "GET" && method !== "DELETE";
  const retry = (retryAfter = 0) =>
    attempts < STEP_CALL_ATTEMPTS
      ? backoffSeconds(attempts, { baseSeconds: 10, retryAfterSeconds: retryAfter })
      : null;
  try {
    const res = await fetch(job.request.url, {
      method,
      redirect: "manual",
      signal: AbortSignal.timeout(TIMEOUT_MS),
      headers: {
        "content-type": "application/json",
        "user-agent": "Nudge-Webhooks/1.0",
        "idempotency-key": job.key,
        ...job.request.headers,
      },
      body: hasBody ? JSON.stringify(job.request.body ?? {}) : undefined,
    });
    await res.body?.cancel();
    if (res.status === 429 || res.status >= 500) {
      return retry(retryAfterSeconds(res));
    }
    if (res.status >= 300) {
      log.error("webhook step got a permanent failure", { key: job.key, status: res.status });
    }
    return null;
  } catch (err) {
    const delay = retry();
    if (delay === null) {
      log.error("webhook step failed", { key: job.key, error: errorText(err) });
    }
    return delay;
  }
}

/** A generic retry for an unexpected failure, spread out so failing jobs do not retry in step. */
const unexpectedRetry = (attempts: number) =>
  backoffSeconds(attempts, { baseSeconds: 2, capSeconds: 300, jitter: 0.5 });

export async function handleWebhookBatch(batch: MessageBatch<WebhookJob>, env: Env, log: Logger) {
  const subscribers: SubscriberCache = new Map();
  for (const msg of batch.messages) {
    const job = msg.body;
    const trace =
      job.trace ??
      (job.kind === "call" ? job.key : job.kind === "publish" ? job.origin?.key : undefined);
    const jobLog = log.child({ trace, kind: job.kind });
    jobLog.debug("consumed", { attempts: msg.attempts });
    try {
      const db = await shardFor(env, job.orgId);
      if (job.kind === "publish") {
        await fanOut(env, db, job.orgId, job.event, subscribers, trace);
        if (job.origin) {
          await confirmEffects(env, [job.origin], jobLog);
        }
        msg.ack();
      } else if (job.kind === "call") {
        const delay = await callStep(env, job, msg.attempts, jobLog);
        if (delay === null) {
          await confirmEffects(env, [{ enrollmentId: job.enrollmentId, key: job.key }], jobLog);
          msg.ack();
        } else {
          msg.retry({ delaySeconds: delay });
        }
      } else {
        const d = await getDelivery(db, job.deliveryId);
        if (d?.status !== "pending") {
          msg.ack();
          continue;
        }
        const delay = await attemptDelivery(env, db, d, jobLog);
        if (delay === null) {
          msg.ack();
        } else {
          msg.retry({ delaySeconds: delay });
        }
      }
    } catch (err) {
      if (err instanceof DeliveryExhausted) {
        // Recorded as failed; the dead-letter queue keeps the message for inspection and replay.
        await env.WEBHOOK_DLQ.send(job);
        msg.ack();
        continue;
      }
      jobLog.error("webhook job failed", {
        attempts: msg.attempts,
        error: errorText(err),
      });
      msg.retry({ delaySeconds: unexpectedRetry(msg.attempts) });
    }
  }
}

/** Fails a pending delivery for good, counting it (once: its id keys the fact). */
async function failDelivery(db: Db, id: string, now: number) {
  const orgId = await markDeliveryFailed(db, id, now);
  if (orgId) {
    await recordFacts(db, [webhookFact(id, orgId, "webhookFailed", now)]);
  }
}

const webhookFact = (deliveryId: string, orgId: string, metric: string, at: number) => ({
  id: `${deliveryId}:${metric}`,
  orgId,
  metric,
  at,
  channel: "webhook",
});

/** Messages that exhausted the queue's own retries: record the delivery as failed. */
export async function handleWebhookDeadLetters(
  batch: MessageBatch<WebhookJob>,
  env: Env,
  log: Logger,
) {
  for (const msg of batch.messages) {
    const job = msg.body;
    if (job.kind === "deliver") {
      await failDelivery(await shardFor(env, job.orgId), job.deliveryId, Date.now());
    }
    log.error("webhook job dead-lettered", {
      kind: job.kind,
      trace: job.trace,
      deliveryId: job.kind === "deliver" ? job.deliveryId : null,
      key: job.kind === "call" ? job.key : null,
    });
    msg.ack();
  }
}
