// The email consumer: one send_email effect → at most one provider call. The message row
// (unique per effect key) is claimed before the call; suppression is checked at send time;
// 429/5xx retry with backoff honouring Retry-After; other 4xx fail the message (and the
// enrollment unless the step says onError: "continue"); exhausted jobs are dead-lettered.

import { type Fact, factBatch, messageFact, recordFacts } from "../../analytics";
import {
  type ContactRow,
  getContacts,
  recordSystemEvent,
  recordSystemEvents,
} from "../../contacts";
import { type Db, database } from "../../db/client";
import { confirmEffects, enrollmentStub } from "../../enrollments";
import { config } from "../../ground/config";
import type { Env } from "../../ground/env";
import { errorText, type Logger } from "../../ground/log";
import { Memo } from "../../ground/memo";
import type { EmailJob, MessageJob, SystemEvent } from "../../ground/queues";
import { backoffSeconds } from "../../ground/retry";
import type { Credentials, Provider } from "../../providers/provider";
import { CompositionError, composeEmail, type Sender } from "../compose";
import { type ConnectionRow, getConnection } from "../connections-store";
import { mailboxStub } from "../mailboxes";
import { loadSender, SenderUnavailable } from "../senders";
import {
  claimMessage,
  ensureMessage,
  getMessageById,
  insertOrGetMessages,
  lastConnectionInEnrollment,
  type MessageRow,
  newMessageRow,
  previousInEnrollment,
  settleMessage,
} from "../store";
import { afterFailedAttempt } from "./attempts";
import { deadLetterOutreach, deliverOutreach, type OutreachJob } from "./outreach";

/** Attempts per job before it is dead-lettered (the queue's max_retries is higher). */
export const EMAIL_MAX_ATTEMPTS = 6;
/** A claim older than this is abandoned (provider calls time out after 15 s), so another attempt may take it. */
const CLAIM_STALE_MS = 20_000;

/** The fact a settled message was counted as. */
const SETTLED_FACT: Partial<Record<MessageRow["status"], string>> = {
  sent: "sent",
  delivered: "sent",
  bounced: "sent",
  complained: "sent",
  suppressed: "suppressed",
  failed: "sendFailed",
};

/** A paused mailbox is looked at again this often. */
const PAUSED_RECHECK_S = 900;
/** Queues delay a message at most 12 hours: a later slot is waited for in steps. */
const MAX_QUEUE_DELAY_S = 12 * 3600;

/**
 * The connection a send goes through: the one it already chose (a retry keeps its mailbox and
 * slot), the step's, else one of its pool — the contact's earlier mailbox in this enrollment
 * unless paused, else the member with the earliest free slot — else the org's default (none).
 */
async function chooseConnection(
  env: Env,
  db: Db,
  job: EmailJob,
  message: MessageRow,
  memo: Memo,
): Promise<string | undefined> {
  if (message.connectionId) {
    return message.connectionId;
  }
  const pool = job.config.connectionPool;
  if (job.config.connectionId || !pool || pool.length === 0) {
    return job.config.connectionId;
  }
  const members = (
    await Promise.all(
      pool.map((id) =>
        memo.get(`connection ${job.orgId} ${id}`, () => getConnection(db, job.orgId, id)),
      ),
    )
  ).filter((c): c is ConnectionRow => c !== undefined);
  const live = members.filter((c) => c.pausedAt === null);
  if (live.length === 0) {
    return pool[0]; // every member paused (or gone): wait on the first
  }
  const earlier = await lastConnectionInEnrollment(db, job.enrollmentId, message.id);
  const kept = live.find((c) => c.id === earlier);
  if (kept) {
    return kept.id;
  }
  const now = Date.now();
  const next = await Promise.all(
    live.map(async (c) => (c.limits ? await mailboxStub(env, c.id).peek(c.limits) : now)),
  );
  let best = 0;
  next.forEach((at, i) => {
    if (at < next[best]) {
      best = i;
    }
  });
  return live[best].id;
}

/** Seconds the send must wait for its mailbox (paused, or its slot later), or null to go now. */
async function mailboxWait(
  env: Env,
  connection: ConnectionRow | null,
  message: MessageRow,
  now: number,
): Promise<number | null> {
  if (!connection) {
    return null;
  }
  if (connection.pausedAt !== null) {
    return PAUSED_RECHECK_S;
  }
  if (!connection.limits) {
    return null;
  }
  const at = await mailboxStub(env, connection.id).reserve(message.key, connection.limits);
  return at > now + 500 ? Math.min(Math.ceil((at - now) / 1000), MAX_QUEUE_DELAY_S) : null;
}

/** The connection the step names, else the org's default, else the outbox (once per batch). */
function resolveProvider(
  env: Env,
  db: Db,
  orgId: string,
  connectionId: string | undefined,
  memo: Memo,
): Promise<
  { provider: Provider; credentials: Credentials; connection: ConnectionRow | null } & Sender
> {
  return memo.get(`provider ${orgId} ${connectionId ?? ""}`, () =>
    loadSender(env, db, orgId, connectionId),
  );
}

const emailBackoff = (env: Env, attempts: number, retryAfterSeconds = 0) =>
  backoffSeconds(attempts, {
    baseSeconds: config(env).emailRetryBaseSeconds,
    retryAfterSeconds,
  });

/** Why the contact may not be emailed now, or null (an unsubscribe stops marketing only). */
function unsendable(contact: ContactRow | undefined, category: string): string | null {
  if (!contact || contact.erasedAt) {
    return "erased";
  }
  if (!contact.email) {
    return "no email address";
  }
  if (contact.suppressed) {
    return `suppressed (${contact.suppressed})`;
  }
  if (!contact.subscribed && category === "marketing") {
    return "unsubscribed";
  }
  return null;
}

/** What a batch reads and records for all its jobs at once: the contacts and the message rows. */
interface Prepared {
  contact: ContactRow | undefined;
  message: MessageRow;
  fresh: boolean;
}

/**
 * The batch's first phase, in few round trips: its contacts (one query per org), its message
 * rows (one batch: new rows are created already claimed for this attempt), and the
 * confirmations to the enrollments (the jobs are durable in D1 from here on: the watchdog
 * re-queues a job a queue loses).
 */
async function prepare(
  env: Env,
  db: Db,
  jobs: EmailJob[],
  log: Logger,
): Promise<{ prepared: Prepared[]; confirmed: Promise<void> }> {
  const now = Date.now();
  const orgs = [...new Set(jobs.map((j) => j.orgId))];
  const contacts = new Map<string, ContactRow>();
  await Promise.all(
    orgs.map(async (orgId) => {
      const ids = jobs.filter((j) => j.orgId === orgId).map((j) => j.contactId);
      for (const c of await getContacts(db, orgId, ids)) {
        contacts.set(c.id, c);
      }
    }),
  );
  const rows = await insertOrGetMessages(
    db,
    jobs.map((j) => newMessageRow(j, "email", contacts.get(j.contactId)?.email ?? "", now, true)),
  );
  // Confirmations go out while the batch sends; the batch waits for them before it acks.
  const confirmed = confirmEffects(
    env,
    jobs.map((j) => ({ enrollmentId: j.enrollmentId, key: j.key })),
    log,
  );
  return {
    prepared: jobs.map((j, i) => ({
      contact: contacts.get(j.contactId),
      message: rows[i].row as MessageRow,
      fresh: rows[i].fresh,
    })),
    confirmed,
  };
}

/** Sends one job; returns a retry delay in seconds, or null when the job is finished. */
export async function deliverEmail(
  env: Env,
  job: EmailJob,
  attempts: number,
  log: Logger,
  memo = new Memo(),
  prepared?: Prepared,
  /** Collects email.sent events for the batch to record at once; recorded here when absent. */
  sent?: SystemEvent[],
  /** Collects the batch's analytics facts to record at once; recorded with each update when absent. */
  facts?: Fact[],
): Promise<number | null> {
  const db = database(env.DB);
  const now = Date.now();
  let ready = prepared;
  if (!ready) {
    const one = await prepare(env, db, [job], log);
    await one.confirmed;
    ready = one.prepared[0];
  }
  const { contact, message, fresh } = ready;
  /** The update of a message's outcome, with its fact (batched, or in the same D1 batch). */
  const settle = async (fields: Partial<MessageRow>, metric: string, at: number) => {
    const fact = messageFact({ ...message, ...fields }, metric, at);
    if (facts) {
      facts.push(fact);
      await settleMessage(db, message.id, fields);
    } else {
      await settleMessage(db, message.id, fields, await factBatch(db, [fact]));
    }
  };
  if (message.status !== "queued") {
    // Settled by an earlier try: its fact again (ignored when stored), in case that try's was lost.
    const metric = SETTLED_FACT[message.status];
    if (metric && facts) {
      facts.push(messageFact(message, metric, message.sentAt ?? message.createdAt));
    }
    return null;
  }

  const why = unsendable(contact, job.config.category ?? "marketing");
  if (why) {
    await settle({ status: "suppressed", error: `Not sent: ${why}` }, "suppressed", now);
    return null;
  }
  if (!fresh && !(await claimMessage(db, message.id, now, CLAIM_STALE_MS))) {
    // Another delivery of this job holds the claim; look again after it would have gone stale.
    const cur = await getMessageById(db, message.id);
    return cur?.status === "queued" ? CLAIM_STALE_MS / 1000 : null;
  }

  try {
    const connectionId = await chooseConnection(env, db, job, message, memo);
    const { provider, credentials, connection, ...sender } = await resolveProvider(
      env,
      db,
      job.orgId,
      connectionId,
      memo,
    );
    const wait = await mailboxWait(env, connection, message, Date.now());
    if (wait !== null) {
      // Not this mailbox's turn (its limits), or it is paused: the job comes back at its slot.
      await settleMessage(db, message.id, {
        sendingAt: null,
        connectionId: connection?.id ?? null,
        nextAttemptAt: Date.now() + wait * 1000,
        error: connection?.pausedAt ? `Waiting: connection ${connection.id} is paused` : null,
      });
      return wait;
    }
    const email = await composeEmail(
      env,
      db,
      job,
      message.id,
      contact as ContactRow & { email: string },
      sender,
      memo,
      job.config.thread === "previous"
        ? ((await previousInEnrollment(db, job.enrollmentId, message.id)) ?? null)
        : null,
    );
    const result = await provider.send(email, { env, orgId: job.orgId, credentials });
    const sentAt = Date.now();
    await settle(
      {
        status: "sent",
        provider: provider.name,
        connectionId: connection?.id ?? null,
        providerMessageId: result.providerMessageId,
        rfcMessageId: email.headers["Message-ID"] ?? null,
        subject: email.subject,
        to: email.to,
        sentAt,
        error: null,
      },
      "sent",
      sentAt,
    );
    const sentEvent: SystemEvent = {
      orgId: job.orgId,
      contactId: job.contactId,
      name: "email.sent",
      data: {
        messageId: message.id,
        enrollmentId: job.enrollmentId,
        stepId: job.stepId,
        provider: provider.name,
      },
      key: `${job.key}:email.sent`,
    };
    if (sent) {
      sent.push(sentEvent); // recorded with the rest of the batch
    } else {
      await recordSystemEvent(env, db, sentEvent, memo);
    }
    return null;
  } catch (err) {
    return afterFailedAttempt(env, db, err, {
      messageId: message.id,
      job,
      attempts,
      maxAttempts: EMAIL_MAX_ATTEMPTS,
      // Failures retrying cannot fix fail the message at once.
      permanent: err instanceof CompositionError || err instanceof SenderUnavailable,
      backoff: (retryAfter) => emailBackoff(env, attempts, retryAfter),
      fail: (error) => failMessage(env, db, job, message, error),
    });
  }
}

async function failMessage(env: Env, db: Db, job: EmailJob, message: MessageRow, error: string) {
  await settleMessage(
    db,
    message.id,
    { status: "failed", error, sendingAt: null },
    await factBatch(db, [messageFact(message, "sendFailed", Date.now())]),
  );
  if (job.config.onError !== "continue") {
    await enrollmentStub(env, job.enrollmentId).failFromDelivery(job.stepId, error);
  }
}

const isEmail = (m: Message<MessageJob>): m is Message<EmailJob> => m.body.kind === "send";

/**
 * The message queue's batch: emails together (lookups of the batch — connections, templates,
 * subscriptions — made once, jobs concurrent), SMS, calls and tasks each on their own.
 */
export async function handleMessageBatch(batch: MessageBatch<MessageJob>, env: Env, log: Logger) {
  const others = batch.messages.filter((m) => !isEmail(m)) as Message<OutreachJob>[];
  await Promise.all([
    handleEmails(batch.messages.filter(isEmail), env, log),
    ...others.map(async (msg) => {
      let delay: number | null;
      try {
        delay = await deliverOutreach(env, msg.body, msg.attempts, log);
      } catch (err) {
        log.error("outreach job failed", {
          key: msg.body.key,
          attempts: msg.attempts,
          error: errorText(err),
        });
        delay = emailBackoff(env, msg.attempts);
      }
      if (delay === null) {
        msg.ack();
      } else {
        msg.retry({ delaySeconds: delay });
      }
    }),
  ]);
}

/** The email jobs of a batch (see handleMessageBatch). */
async function handleEmails(messages: Message<EmailJob>[], env: Env, log: Logger) {
  if (messages.length === 0) {
    return;
  }
  const batch = { messages };
  const memo = new Memo();
  let prepared: Prepared[];
  let confirmed: Promise<void>;
  try {
    ({ prepared, confirmed } = await prepare(
      env,
      database(env.DB),
      batch.messages.map((m) => m.body),
      log,
    ));
  } catch (err) {
    log.error("email batch failed", { size: batch.messages.length, error: errorText(err) });
    for (const msg of batch.messages) {
      msg.retry({ delaySeconds: emailBackoff(env, msg.attempts) });
    }
    return;
  }
  const sent: SystemEvent[] = [];
  const facts: Fact[] = [];
  const delays = await Promise.all(
    batch.messages.map((msg, i) => deliverOne(env, msg, log, memo, prepared[i], sent, facts)),
  );
  // The batch's counts in one write before any job is acknowledged: if it fails, every job is
  // retried, and the settled ones count again by the same fact ids (ignored when stored).
  let counted = true;
  try {
    await recordFacts(database(env.DB), facts);
  } catch (err) {
    counted = false;
    log.error("email counts not recorded; retrying the batch", { error: errorText(err) });
  }
  batch.messages.forEach((msg, i) => {
    const delay = counted ? delays[i] : (delays[i] ?? emailBackoff(env, msg.attempts));
    if (delay === null) {
      msg.ack();
    } else {
      msg.retry({ delaySeconds: delay });
    }
  });
  await confirmed;
  try {
    await recordSystemEvents(env, database(env.DB), sent, memo);
  } catch (err) {
    // The emails are sent and recorded as sent; only their email.sent events are missing.
    log.error("email.sent events not recorded", { count: sent.length, error: errorText(err) });
  }
}

/** One job of a batch: the delay to retry it after, or null to acknowledge it. */
async function deliverOne(
  env: Env,
  msg: Message<EmailJob>,
  log: Logger,
  memo: Memo,
  prepared: Prepared,
  sent: SystemEvent[],
  facts: Fact[],
): Promise<number | null> {
  try {
    return await deliverEmail(env, msg.body, msg.attempts, log, memo, prepared, sent, facts);
  } catch (err) {
    log.error("email job failed", {
      key: msg.body.key,
      attempts: msg.attempts,
      error: errorText(err),
    });
    return emailBackoff(env, msg.attempts);
  }
}

/** Jobs that exhausted the queue's retries (the consumer kept throwing): recorded as failed, never lost. */
export async function handleMessageDeadLetters(batch: MessageBatch<MessageJob>, env: Env) {
  const db = database(env.DB);
  for (const msg of batch.messages) {
    const job = msg.body;
    if (job.kind !== "send") {
      await deadLetterOutreach(env, job);
      msg.ack();
      continue;
    }
    const row = await ensureMessage(db, newMessageRow(job, "email", "", Date.now()));
    if (row && row.status === "queued") {
      await failMessage(env, db, job, row, "Dead-lettered after exhausting queue retries");
    }
    msg.ack();
  }
}
