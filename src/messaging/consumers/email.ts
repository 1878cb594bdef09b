// The email channel: one send_email effect → at most one provider call, through the attempt
// every channel shares (./attempt). Suppression is checked at send time; the connection is the
// step's, or one of its pool by mailbox limits; a mailbox's turn may come later; 429/5xx retry
// with backoff honouring Retry-After; other 4xx fail the message (and the enrollment unless the
// step says onError: "continue").

import { factBatch, messageFact } from "../../analytics";
import type { ContactRow } from "../../contacts";
import type { Db } from "../../db/client";
import { shardFor } from "../../db/shards";
import { enrollmentStub } from "../../enrollments";
import type { Env } from "../../ground/env";
import type { Logger } from "../../ground/log";
import type { Memo } from "../../ground/memo";
import type { EmailJob } from "../../ground/queues";
import type { Credentials, OutgoingEmail, Provider } from "../../providers/provider";
import { CompositionError, composeEmail, type Sender } from "../compose";
import { type ConnectionRow, getConnection } from "../connections-store";
import { mailboxStub } from "../mailboxes";
import { loadSender, SenderUnavailable } from "../senders";
import {
  ensureMessage,
  lastConnectionInEnrollment,
  type MessageRow,
  newMessageRow,
  previousInEnrollment,
  settleMessage,
} from "../store";
import { attemptBatch, type Channel, type Outgoing } from "./attempt";

/** Attempts per job before it is dead-lettered (the queue's max_retries is higher). */
export const EMAIL_MAX_ATTEMPTS = 6;

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

/** An email ready for its provider. */
interface ReadyEmail extends Outgoing {
  email: OutgoingEmail;
  via: Provider;
  credentials: Credentials;
}

export const emailChannel: Channel<EmailJob, ReadyEmail> = {
  name: "email",
  maxAttempts: EMAIL_MAX_ATTEMPTS,
  address: (contact) => contact?.email ?? "",
  unreachable: (contact, job) => unsendable(contact, job.config.category ?? "marketing"),
  facts: { sent: "sent", suppressed: "suppressed", failed: "sendFailed" },
  async prepare({ env, db, job, message, contact, memo }) {
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
      return {
        waitSeconds: wait,
        fields: {
          connectionId: connection?.id ?? null,
          error: connection?.pausedAt ? `Waiting: connection ${connection.id} is paused` : null,
        },
      };
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
    return {
      provider: provider.name,
      connectionId: connection?.id ?? null,
      fields: {
        rfcMessageId: email.headers["Message-ID"] ?? null,
        subject: email.subject,
        to: email.to,
      },
      email,
      via: provider,
      credentials,
    };
  },
  send: ({ env, job }, out) =>
    out.via.send(out.email, { env, orgId: job.orgId, credentials: out.credentials }),
  sentEvent: "email.sent",
  // Failures retrying cannot fix fail the message at once.
  permanent: (err) => err instanceof CompositionError || err instanceof SenderUnavailable,
  fail: failMessage,
};

/** Sends one job on its own (a batch of one); returns a retry delay in seconds, or null when finished. */
export async function deliverEmail(
  env: Env,
  job: EmailJob,
  attempts: number,
  log: Logger,
): Promise<number | null> {
  const [delay] = await attemptBatch(emailChannel, env, [{ job, attempts }], log);
  return delay;
}

async function failMessage(env: Env, db: Db, job: EmailJob, message: MessageRow, error: string) {
  // Counted with its fact, in one batch: a later attempt of the job does not count it again.
  await settleMessage(
    db,
    message.id,
    { status: "failed", error, sendingAt: null, counted: true },
    await factBatch(db, [messageFact(message, "sendFailed", Date.now())]),
  );
  if (job.config.onError !== "continue") {
    await enrollmentStub(env, job.enrollmentId).failFromDelivery(job.stepId, error);
  }
}

/** An email job dead-lettered after the queue's retries (the consumer kept throwing): failed, never lost. */
export async function deadLetterEmail(env: Env, job: EmailJob) {
  const db = await shardFor(env, job.orgId);
  const row = await ensureMessage(db, newMessageRow(job, "email", "", Date.now()));
  if (row && row.status === "queued") {
    await failMessage(env, db, job, row, "Dead-lettered after exhausting queue retries");
  }
}
