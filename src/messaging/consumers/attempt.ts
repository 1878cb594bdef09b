// One delivery attempt, the same for every channel that sends through a provider (email, SMS,
// calls). A batch of one channel's jobs reads its contacts and creates its message rows at once
// (new rows already claimed: unique per effect key) and tells the enrollments their effects are
// durable. Then, per job: a row an earlier try settled only has its fact counted again; an
// unreachable contact is settled as suppressed; the row is claimed; the channel prepares the
// send (or names when its turn comes); the one provider call; the row settled with its fact and
// the sent event collected. A failed call retries with backoff while it may, else fails the
// message (an exhausted job is parked in the dead-letter queue). The batch's facts are written
// in one write before any job is acknowledged, guarded by their message rows' `counted` flag
// (no fact row per message); its sent events are recorded after.
import { type Fact, messageFact, ownedFactStatements } from "../../analytics";
import { type ContactRow, getContacts, recordSystemEvents } from "../../contacts";
import type { Db } from "../../db/client";
import { groupByOrg, shardFor } from "../../db/shards";
import { confirmEffects } from "../../enrollments";
import { config } from "../../ground/config";
import type { Env } from "../../ground/env";
import { DomainError } from "../../ground/errors";
import { errorText, type Logger } from "../../ground/log";
import { Memo } from "../../ground/memo";
import type { CallJob, EmailJob, SmsJob, SystemEvent } from "../../ground/queues";
import { backoffSeconds } from "../../ground/retry";
import { ProviderError } from "../../providers/provider";
import {
  CLAIM_STALE_MS,
  claimMessage,
  getMessageById,
  insertOrGetMessages,
  type MessageRow,
  markCounted,
  newMessageRow,
  settleMessage,
  uncounted,
} from "../store";

/** A job that ends in one provider call. */
export type SendJob = EmailJob | SmsJob | CallJob;

/** One job's attempt, as a channel sees it: its row is claimed, its contact reachable. */
export interface Attempt<J extends SendJob> {
  env: Env;
  db: Db;
  job: J;
  message: MessageRow;
  contact: ContactRow;
  /** This job's logger: its lines carry the job's trace. */
  log: Logger;
  /** Lookups shared by the batch (connections, templates). */
  memo: Memo;
}

/** A send ready for its provider: what the sent row records besides the provider's id. */
export interface Outgoing {
  provider: string;
  connectionId: string | null;
  /** The message fields the send fills in (subject, body, recipient, ...). */
  fields: Partial<MessageRow>;
}

/** Not this send's turn (its mailbox's limits, or a paused mailbox): come back then. */
export interface Waiting {
  waitSeconds: number;
  fields: Partial<MessageRow>;
}

/** What differs between channels; everything else is the attempt's. */
export interface Channel<J extends SendJob, O extends Outgoing> {
  name: "email" | "sms" | "call";
  maxAttempts: number;
  /** The contact's address on this channel (empty when it has none). */
  address: (contact: ContactRow | undefined) => string;
  /** Why the contact may not be reached on this channel now, or null. */
  unreachable: (contact: ContactRow | undefined, job: J) => string | null;
  /** The metric a message counts as once sent, once suppressed, once failed (when counted). */
  facts: { sent: string; suppressed?: string; failed?: string };
  /** What follows a suppression besides the row (a call's step waits for its outcome). */
  suppressed?: (env: Env, job: J) => Promise<void>;
  /** Chooses the connection and renders the message, or says when to come back. */
  prepare: (a: Attempt<J>) => Promise<O | Waiting>;
  /** The one provider call. */
  send: (a: Attempt<J>, out: O) => Promise<{ providerMessageId: string | null }>;
  /** The event a sent message records (`email.sent`, `sms.sent`, `call.placed`). */
  sentEvent: string;
  /** A failure retrying cannot fix (a template that does not render, a missing connection). */
  permanent: (err: unknown) => boolean;
  /** Fails the message for good (and what depends on it). */
  fail: (env: Env, db: Db, job: J, message: MessageRow, error: string) => Promise<void>;
}

/** A job to attempt and how many times its queue has delivered it. */
export interface Delivery<J extends SendJob> {
  job: J;
  attempts: number;
}

/** The trace a job's lines carry: the one its producer gave, else its effect key (older jobs). */
export const traceOf = (job: { trace?: string; key: string }) => job.trace ?? job.key;

export const messageBackoff = (env: Env, attempts: number, retryAfterSeconds = 0) =>
  backoffSeconds(attempts, {
    baseSeconds: config(env).emailRetryBaseSeconds,
    retryAfterSeconds,
  });

/** The batch's contacts and message rows, and its confirmations to the enrollments. */
async function load<J extends SendJob, O extends Outgoing>(
  channel: Channel<J, O>,
  env: Env,
  db: Db,
  jobs: J[],
  log: Logger,
) {
  const now = Date.now();
  const contacts = new Map<string, ContactRow>();
  await Promise.all(
    [...new Set(jobs.map((j) => j.orgId))].map(async (orgId) => {
      const ids = jobs.filter((j) => j.orgId === orgId).map((j) => j.contactId);
      for (const c of await getContacts(db, orgId, ids)) {
        contacts.set(c.id, c);
      }
    }),
  );
  const rows = await insertOrGetMessages(
    db,
    jobs.map((j) =>
      newMessageRow(j, channel.name, channel.address(contacts.get(j.contactId)), now, true),
    ),
  );
  // The jobs are durable in D1 from here on (the watchdog re-queues a job a queue loses): the
  // confirmations go out while the batch sends, and the batch waits for them before it acks.
  const confirmed = confirmEffects(
    env,
    jobs.map((j) => ({ enrollmentId: j.enrollmentId, key: j.key })),
    log,
  );
  const loaded = jobs.map((j, i) => ({
    contact: contacts.get(j.contactId),
    message: rows[i].row as MessageRow,
    fresh: rows[i].fresh,
  }));
  return { loaded, confirmed };
}

/** What one job's attempt leaves for its batch to write. */
interface Collected {
  /** Settled facts, each owned by its message (counted once, by the row's flag). */
  facts: (Fact & { owner: string })[];
  sent: SystemEvent[];
}

/**
 * The batch's settled facts in one write: added to the rollups only for messages not counted
 * yet, whose flag the same batch then sets — a retried batch adds nothing twice. The guard is
 * read once for the whole write, so a fact two deliveries of one job in this batch both
 * collected is kept once here.
 */
async function recordMessageFacts(db: Db, collected: Collected["facts"]) {
  const facts = [...new Map(collected.map((f) => [f.id, f])).values()];
  if (facts.length === 0) {
    return;
  }
  const stmts = [
    ...(await ownedFactStatements(db, facts, uncounted)),
    markCounted(
      db,
      facts.map((f) => f.owner),
    ),
  ];
  await db.batch(stmts as unknown as Parameters<Db["batch"]>[0]);
}

/** The metric a row settled by an earlier try was counted as, if any. */
function settledMetric(facts: Channel<SendJob, Outgoing>["facts"], message: MessageRow) {
  if (message.sentAt !== null) {
    return facts.sent;
  }
  if (message.status === "suppressed") {
    return facts.suppressed;
  }
  return message.status === "failed" ? facts.failed : undefined;
}

/** One job: the delay to retry it after, or null when it is finished. */
async function attempt<J extends SendJob, O extends Outgoing>(
  channel: Channel<J, O>,
  env: Env,
  db: Db,
  d: Delivery<J>,
  loaded: { contact: ContactRow | undefined; message: MessageRow; fresh: boolean },
  log: Logger,
  memo: Memo,
  out: Collected,
): Promise<number | null> {
  const { job, attempts } = d;
  const { contact, message, fresh } = loaded;
  const now = Date.now();
  const count = (fields: Partial<MessageRow>, metric: string | undefined, at: number) => {
    if (metric) {
      out.facts.push({ ...messageFact({ ...message, ...fields }, metric, at), owner: message.id });
    }
  };
  if (message.status !== "queued") {
    // Settled by an earlier try whose batch did not count it (its write failed): counted now.
    if (!message.counted) {
      count({}, settledMetric(channel.facts, message), message.sentAt ?? message.createdAt);
    }
    return null;
  }
  const why = channel.unreachable(contact, job);
  if (why) {
    const fields = { status: "suppressed" as const, error: `Not sent: ${why}` };
    await settleMessage(db, message.id, fields);
    count(fields, channel.facts.suppressed, now);
    log.info("not sent", { messageId: message.id, reason: why });
    await channel.suppressed?.(env, job);
    return null;
  }
  if (!fresh && !(await claimMessage(db, message.id, now, CLAIM_STALE_MS))) {
    // Another delivery of this job holds the claim; look again after it would have gone stale.
    const cur = await getMessageById(db, message.id);
    return cur?.status === "queued" ? CLAIM_STALE_MS / 1000 : null;
  }
  const a: Attempt<J> = { env, db, job, message, contact: contact as ContactRow, log, memo };
  try {
    const ready = await channel.prepare(a);
    if ("waitSeconds" in ready) {
      await settleMessage(db, message.id, {
        sendingAt: null,
        nextAttemptAt: Date.now() + ready.waitSeconds * 1000,
        ...ready.fields,
      });
      log.info("waiting for its mailbox", { messageId: message.id, seconds: ready.waitSeconds });
      return ready.waitSeconds;
    }
    log.info("provider call", { messageId: message.id, provider: ready.provider, attempts });
    const result = await channel.send(a, ready);
    const sentAt = Date.now();
    const fields: Partial<MessageRow> = {
      status: "sent",
      provider: ready.provider,
      connectionId: ready.connectionId,
      providerMessageId: result.providerMessageId,
      ...ready.fields,
      sentAt,
      error: null,
    };
    // The fact is written with the batch's, before the job is acknowledged.
    await settleMessage(db, message.id, fields);
    count(fields, channel.facts.sent, sentAt);
    log.info("sent", { messageId: message.id, provider: ready.provider });
    out.sent.push({
      orgId: job.orgId,
      contactId: job.contactId,
      name: channel.sentEvent,
      data: {
        messageId: message.id,
        enrollmentId: job.enrollmentId,
        stepId: job.stepId,
        provider: ready.provider,
      },
      key: `${job.key}:${channel.name}.sent`,
      at: sentAt,
      trace: traceOf(job),
    });
    return null;
  } catch (err) {
    return afterFailure(channel, env, db, err, d, message, log);
  }
}

/** After a failed provider attempt: the retry delay in seconds, or null when the failure is final. */
async function afterFailure<J extends SendJob, O extends Outgoing>(
  channel: Channel<J, O>,
  env: Env,
  db: Db,
  err: unknown,
  { job, attempts }: Delivery<J>,
  message: MessageRow,
  log: Logger,
): Promise<number | null> {
  const retryable = err instanceof ProviderError ? err.retryable : !channel.permanent(err);
  const error = err instanceof Error ? err.message : String(err);
  if (retryable && attempts < channel.maxAttempts) {
    const delay = messageBackoff(
      env,
      attempts,
      err instanceof ProviderError ? err.retryAfterSeconds : 0,
    );
    await settleMessage(db, message.id, {
      sendingAt: null,
      error: `Attempt ${attempts} failed: ${error}`,
      nextAttemptAt: Date.now() + delay * 1000,
    });
    log.warn("attempt failed; retrying", { messageId: message.id, attempts, delay });
    return delay;
  }
  await channel.fail(
    env,
    db,
    job,
    message,
    retryable ? `Gave up after ${attempts} attempts: ${error}` : error,
  );
  log.warn("message failed", { messageId: message.id, attempts, retryable });
  if (retryable) {
    await env.MESSAGE_DLQ.send(job);
  }
  return null;
}

/**
 * Attempts a batch of one channel's jobs; returns each job's retry delay in seconds, or null
 * for a job that is finished (to acknowledge).
 */
export async function attemptBatch<J extends SendJob, O extends Outgoing>(
  channel: Channel<J, O>,
  env: Env,
  deliveries: Delivery<J>[],
  log: Logger,
): Promise<(number | null)[]> {
  const delays: (number | null)[] = deliveries.map(() => null);
  const orgs = groupByOrg(
    deliveries.map((d, i) => ({ d, i })),
    (x) => x.d.job.orgId,
  );
  // Each org's jobs on its own shard; an org that cannot be reached now (being moved) retries.
  await Promise.all(
    [...orgs].map(async ([orgId, own]) => {
      let got: (number | null)[];
      try {
        const db = await shardFor(env, orgId);
        got = await attemptOrgBatch(
          channel,
          env,
          db,
          own.map((x) => x.d),
          log,
        );
      } catch (err) {
        log.warn(`${channel.name} jobs of an org not attempted`, { orgId, error: errorText(err) });
        // An org being moved says when to come back: retried at once (tests' backoff is 0),
        // its jobs would use up their queue retries within the move and be dead-lettered.
        const after =
          err instanceof DomainError ? Number(err.headers?.["Retry-After"] ?? 0) || 0 : 0;
        got = own.map((x) => messageBackoff(env, x.d.attempts, after));
      }
      own.forEach((x, k) => {
        delays[x.i] = got[k];
      });
    }),
  );
  return delays;
}

/** One org's jobs of a batch, on its shard. */
async function attemptOrgBatch<J extends SendJob, O extends Outgoing>(
  channel: Channel<J, O>,
  env: Env,
  db: Db,
  deliveries: Delivery<J>[],
  log: Logger,
): Promise<(number | null)[]> {
  if (deliveries.length === 0) {
    return [];
  }
  const memo = new Memo();
  const logs = deliveries.map((d) => log.child({ trace: traceOf(d.job), key: d.job.key }));
  for (const [i, l] of logs.entries()) {
    l.info("consumed", { channel: channel.name, attempts: deliveries[i].attempts });
  }
  let batch: Awaited<ReturnType<typeof load<J, O>>>;
  try {
    batch = await load(
      channel,
      env,
      db,
      deliveries.map((d) => d.job),
      log,
    );
  } catch (err) {
    log.error(`${channel.name} batch failed`, { size: deliveries.length, error: errorText(err) });
    return deliveries.map((d) => messageBackoff(env, d.attempts));
  }
  const out: Collected = { facts: [], sent: [] };
  const delays = await Promise.all(
    deliveries.map(async (d, i) => {
      try {
        return await attempt(channel, env, db, d, batch.loaded[i], logs[i], memo, out);
      } catch (err) {
        logs[i].error(`${channel.name} job failed`, {
          attempts: d.attempts,
          error: errorText(err),
        });
        return messageBackoff(env, d.attempts);
      }
    }),
  );
  // The batch's counts in one write before any job is acknowledged: if it fails, every job is
  // retried, and the settled ones are counted then (their rows say they were not).
  let counted = true;
  try {
    await recordMessageFacts(db, out.facts);
  } catch (err) {
    counted = false;
    log.error(`${channel.name} counts not recorded; retrying the batch`, { error: errorText(err) });
  }
  await batch.confirmed;
  try {
    await recordSystemEvents(env, db, out.sent, memo);
  } catch (err) {
    // The messages are sent and recorded as sent; only their sent events are missing.
    log.error(`${channel.sentEvent} events not recorded`, {
      count: out.sent.length,
      error: errorText(err),
    });
  }
  return delays.map((delay, i) =>
    counted ? delay : (delay ?? messageBackoff(env, deliveries[i].attempts)),
  );
}
