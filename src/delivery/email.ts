// The email consumer: one `send_email` effect → at most one provider call. The message row
// (unique per effect key) is claimed before the call; suppression is checked at send time;
// 429/5xx retry with backoff honouring Retry-After; other 4xx fail the message (and the
// enrollment unless the step says onError: "continue"); exhausted jobs are dead-lettered.
import { type Db, database } from "../db/client";
import { getConnection, getConnectionByKey } from "../db/connections";
import { getContact } from "../db/contacts";
import { claimMessage, ensureMessage, getMessageById, type MessageRow, settleMessage } from "../db/messages";
import { getTemplate } from "../db/templates";
import { renderTemplate, type TemplateSource } from "../engine/templates";
import { htmlToText } from "../engine/text";
import { contactSnapshot, enrollmentStub, systemEvent } from "../enrollments";
import type { Env } from "../env";
import { newId } from "../http/ids";
import { confirmEffects } from "./ack";
import { decrypt } from "./crypto";
import { PROVIDERS } from "./providers";
import { type Provider, ProviderError } from "./providers/provider";
import { injectTracking, unsubscribeHeaders, unsubscribeUrl } from "./tracking";

export interface EmailJob {
  kind: "send";
  key: string;
  orgId: string;
  enrollmentId: string;
  workflowId: string;
  workflowName: string;
  stepId: string;
  contactId: string;
  config: Record<string, unknown>;
  vars: Record<string, unknown>;
  event: Record<string, unknown>;
}

interface StepEmailConfig {
  templateId?: string;
  subject?: string;
  html?: string;
  text?: string;
  from?: string;
  replyTo?: string;
  connectionId?: string;
  track?: { opens?: boolean; clicks?: boolean };
  onError?: "fail" | "continue";
}

/** Attempts per job before it is dead-lettered (the queue's max_retries is higher). */
export const EMAIL_MAX_ATTEMPTS = 6;
/** A claim older than this is abandoned (providers time out after 30 s), so another attempt may take it. */
const CLAIM_STALE_MS = 60_000;
const DEFAULT_FROM = "Nudge <no-reply@nudge.local>";

class PermanentFailure extends Error {}

function newMessageRow(job: EmailJob, to: string, now: number): MessageRow {
  return {
    id: newId("msg", now),
    orgId: job.orgId,
    key: job.key,
    enrollmentId: job.enrollmentId,
    workflowId: job.workflowId,
    stepId: job.stepId,
    contactId: job.contactId,
    to,
    subject: null,
    provider: null,
    providerMessageId: null,
    status: "queued",
    error: null,
    opens: 0,
    clicks: 0,
    machineOpens: 0,
    machineClicks: 0,
    unsubscribed: false,
    firstOpenedAt: null,
    lastOpenedAt: null,
    firstClickedAt: null,
    lastClickedAt: null,
    deliveredAt: null,
    sendingAt: null,
    nextAttemptAt: now,
    job,
    createdAt: now,
    sentAt: null,
  };
}

async function resolveProvider(
  env: Env,
  db: Db,
  orgId: string,
  connectionId?: string,
): Promise<{ provider: Provider; credentials: Record<string, string>; from: string | null }> {
  const conn = connectionId ? await getConnection(db, orgId, connectionId) : await getConnectionByKey(db, orgId, "default");
  if (connectionId && !conn) throw new PermanentFailure(`Connection ${connectionId} does not exist`);
  if (!conn) return { provider: PROVIDERS.outbox, credentials: {}, from: null };
  const provider = PROVIDERS[conn.provider];
  if (!provider) throw new PermanentFailure(`Unknown provider ${conn.provider}`);
  return { provider, credentials: JSON.parse(await decrypt(env, conn.credentials)) as Record<string, string>, from: conn.from };
}

function backoffSeconds(env: Env, attempts: number, retryAfter: number) {
  const base = Number(env.EMAIL_RETRY_BASE_SECONDS ?? "30");
  return Math.min(Math.max(base * 2 ** (attempts - 1), retryAfter), 43_200);
}

/** Sends one job; returns a retry delay in seconds, or null when the job is finished. */
export async function deliverEmail(env: Env, job: EmailJob, attempts: number): Promise<number | null> {
  const db = database(env.DB);
  const now = Date.now();
  const config = job.config as StepEmailConfig;
  const contact = await getContact(db, job.orgId, job.contactId);
  const message = (await ensureMessage(db, newMessageRow(job, contact?.email ?? "", now))) as MessageRow;
  // The job is now durable in D1 (the watchdog re-queues it if the queue loses it): the enrollment may stop tracking it.
  await confirmEffects(env, [{ enrollmentId: job.enrollmentId, key: job.key }]);
  if (message.status !== "queued") return null;

  if (!contact || contact.erasedAt || !contact.email || !contact.subscribed || contact.suppressed) {
    const why =
      !contact || contact.erasedAt
        ? "erased"
        : !contact.email
          ? "no email address"
          : contact.suppressed
            ? `suppressed (${contact.suppressed})`
            : "unsubscribed";
    await settleMessage(db, message.id, { status: "suppressed", error: `Not sent: ${why}` });
    return null;
  }
  if (!(await claimMessage(db, message.id, now, CLAIM_STALE_MS))) {
    // Another delivery of this job holds the claim; look again after it would have gone stale.
    const cur = await getMessageById(db, message.id);
    return cur?.status === "queued" ? CLAIM_STALE_MS / 1000 : null;
  }

  try {
    const { provider, credentials, from: connectionFrom } = await resolveProvider(env, db, job.orgId, config.connectionId);
    let source: TemplateSource & { from?: string | null; replyTo?: string | null };
    if (config.templateId) {
      const t = await getTemplate(db, job.orgId, config.templateId);
      if (!t) throw new PermanentFailure(`Template ${config.templateId} does not exist`);
      source = t;
    } else {
      source = { subject: config.subject ?? "", html: config.html ?? "", text: config.text ?? null };
    }
    const unsubscribe = await unsubscribeUrl(env, job.orgId, message.id, contact.id);
    let rendered: ReturnType<typeof renderTemplate>;
    try {
      rendered = renderTemplate(source, {
        contact: contactSnapshot(contact),
        vars: job.vars,
        event: job.event,
        workflow: { id: job.workflowId, name: job.workflowName },
        enrollment: { id: job.enrollmentId },
        unsubscribeUrl: unsubscribe,
      });
    } catch (err) {
      throw new PermanentFailure((err as Error).message);
    }
    const html = await injectTracking(env, rendered.html, job.orgId, message.id, { opens: config.track?.opens ?? true, clicks: config.track?.clicks ?? true });
    const result = await provider.send(
      {
        messageId: message.id,
        idempotencyKey: job.key,
        from: config.from ?? source.from ?? connectionFrom ?? DEFAULT_FROM,
        to: contact.email,
        replyTo: config.replyTo ?? source.replyTo ?? null,
        subject: rendered.subject,
        html,
        text: rendered.text ?? htmlToText(rendered.html),
        headers: unsubscribeHeaders(unsubscribe),
      },
      { env, orgId: job.orgId, credentials },
    );
    const sentAt = Date.now();
    await settleMessage(db, message.id, {
      status: "sent",
      provider: provider.name,
      providerMessageId: result.providerMessageId,
      subject: rendered.subject,
      to: contact.email,
      sentAt,
      error: null,
    });
    await systemEvent(
      env,
      db,
      job.orgId,
      contact.id,
      "email.sent",
      { messageId: message.id, enrollmentId: job.enrollmentId, stepId: job.stepId, provider: provider.name },
      `${job.key}:email.sent`,
    );
    return null;
  } catch (err) {
    const retryable = err instanceof ProviderError ? err.retryable : !(err instanceof PermanentFailure);
    const error = err instanceof Error ? err.message : String(err);
    if (retryable && attempts < EMAIL_MAX_ATTEMPTS) {
      const delay = backoffSeconds(env, attempts, err instanceof ProviderError ? err.retryAfterSeconds : 0);
      await settleMessage(db, message.id, { sendingAt: null, error: `Attempt ${attempts} failed: ${error}`, nextAttemptAt: Date.now() + delay * 1000 });
      return delay;
    }
    await failMessage(env, db, job, message.id, retryable ? `Gave up after ${attempts} attempts: ${error}` : error);
    if (retryable) await env.EMAIL_DLQ.send(job);
    return null;
  }
}

async function failMessage(env: Env, db: Db, job: EmailJob, messageId: string, error: string) {
  await settleMessage(db, messageId, { status: "failed", error, sendingAt: null });
  if ((job.config as StepEmailConfig).onError !== "continue") await enrollmentStub(env, job.enrollmentId).failFromDelivery(job.stepId, error);
}

export async function handleEmailBatch(batch: MessageBatch<EmailJob>, env: Env) {
  for (const msg of batch.messages) {
    try {
      const delay = await deliverEmail(env, msg.body, msg.attempts);
      if (delay === null) msg.ack();
      else msg.retry({ delaySeconds: delay });
    } catch (err) {
      console.error(JSON.stringify({ level: "error", msg: "email job failed", key: msg.body.key, attempts: msg.attempts, error: String(err) }));
      msg.retry({ delaySeconds: backoffSeconds(env, msg.attempts, 0) });
    }
  }
}

/** Jobs that exhausted the queue's retries (the consumer kept throwing): recorded as failed, never lost. */
export async function handleEmailDeadLetters(batch: MessageBatch<EmailJob>, env: Env) {
  const db = database(env.DB);
  for (const msg of batch.messages) {
    const job = msg.body;
    const row = await ensureMessage(db, newMessageRow(job, "", Date.now()));
    if (row && row.status === "queued") await failMessage(env, db, job, row.id, "Dead-lettered after exhausting queue retries");
    msg.ack();
  }
}
