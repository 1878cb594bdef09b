// The outreach consumer: the message queue's SMS, call and task jobs. Like email, an SMS or a
// call is a message row per effect key, claimed before the one provider call; a task is a row
// per effect key. The enrollment is told (ackEffects) once the row exists; the watchdog
// re-queues a queued message whose job a queue lost.

import { publicUrl } from "../../accounts";
import { factBatch, messageFact, recordFacts } from "../../analytics";
import { type ContactRow, getContacts, recordSystemEvent } from "../../contacts";
import { type Db, database } from "../../db/client";
import { confirmEffects, enrollmentStub } from "../../enrollments";
import { config } from "../../ground/config";
import type { Env } from "../../ground/env";
import { newId } from "../../ground/ids";
import type { Logger } from "../../ground/log";
import type { CallJob, SmsJob, TaskJob } from "../../ground/queues";
import { backoffSeconds } from "../../ground/retry";
import { recordCallOutcome } from "../outreach";
import { loadPhoneSender, SenderUnavailable } from "../senders";
import {
  claimMessage,
  ensureMessage,
  getMessageById,
  insertOrGetMessage,
  type MessageRow,
  newMessageRow,
  settleMessage,
} from "../store";
import { insertOrGetTask, type TaskRow } from "../tasks-store";
import { afterFailedAttempt } from "./attempts";

/** Attempts per SMS or call before it fails for good. */
export const PHONE_MAX_ATTEMPTS = 6;
/** A claim older than this is abandoned (provider calls time out after 15 s). */
const CLAIM_STALE_MS = 20_000;

export type OutreachJob = SmsJob | CallJob | TaskJob;

const backoff = (env: Env, attempts: number, retryAfterSeconds = 0) =>
  backoffSeconds(attempts, {
    baseSeconds: config(env).emailRetryBaseSeconds,
    retryAfterSeconds,
  });

/** Performs one outreach job; returns a retry delay in seconds, or null when it is finished. */
export function deliverOutreach(
  env: Env,
  job: OutreachJob,
  attempts: number,
  log: Logger,
): Promise<number | null> {
  return job.kind === "task" ? createTask(env, job, log) : placePhone(env, job, attempts, log);
}

async function createTask(env: Env, job: TaskJob, log: Logger): Promise<null> {
  const db = database(env.DB);
  const now = Date.now();
  const row: TaskRow = {
    id: newId("tsk", now),
    orgId: job.orgId,
    key: job.key,
    enrollmentId: job.enrollmentId,
    workflowId: job.workflowId,
    stepId: job.stepId,
    contactId: job.contactId,
    taskType: job.task.taskType as TaskRow["taskType"],
    title: job.task.title,
    instructions: job.task.instructions,
    assignee: job.task.assignee,
    outcomes: job.task.outcomes,
    status: "open",
    outcome: null,
    note: null,
    dueAt: job.task.dueAt,
    createdAt: now,
    completedAt: null,
  };
  const { row: task, fresh } = await insertOrGetTask(db, row);
  await confirmEffects(env, [{ enrollmentId: job.enrollmentId, key: job.key }], log);
  if (fresh) {
    await recordFacts(db, [
      { ...messageFact({ ...task, connectionId: null }, "tasksCreated", now), channel: "task" },
    ]);
  }
  // Again on a retry (same key, so stored and delivered once): a crash may have lost it.
  await recordSystemEvent(env, db, {
    orgId: task.orgId,
    contactId: task.contactId,
    name: "task.created",
    data: {
      taskId: task.id,
      taskType: task.taskType,
      title: task.title,
      assignee: task.assignee,
      dueAt: new Date(task.dueAt).toISOString(),
      enrollmentId: task.enrollmentId,
      stepId: task.stepId,
    },
    key: `${task.key}:task.created`,
  });
  return null;
}

/** Why the contact may not get this text or call now, or null. */
function unreachable(contact: ContactRow | undefined, channel: "sms" | "call"): string | null {
  if (!contact || contact.erasedAt) {
    return "erased";
  }
  if (!contact.phone) {
    return "no phone number";
  }
  // Email suppression (a bounced or complained address) says nothing of the phone.
  if (channel === "sms" && !contact.smsSubscribed) {
    return "unsubscribed from SMS";
  }
  return null;
}

async function placePhone(
  env: Env,
  job: SmsJob | CallJob,
  attempts: number,
  log: Logger,
): Promise<number | null> {
  const db = database(env.DB);
  const now = Date.now();
  const channel = job.kind === "sms" ? "sms" : "call";
  const [contact] = await getContacts(db, job.orgId, [job.contactId]);
  const { row, fresh } = await insertOrGetMessage(
    db,
    newMessageRow(job, channel, contact?.phone ?? "", now, true),
  );
  const message = row as MessageRow;
  await confirmEffects(env, [{ enrollmentId: job.enrollmentId, key: job.key }], log);
  if (message.status !== "queued") {
    return null;
  }
  const why = unreachable(contact, channel);
  if (why) {
    await settleMessage(db, message.id, { status: "suppressed", error: `Not sent: ${why}` });
    if (job.kind === "call") {
      // The step waits for an outcome: this one.
      await enrollmentStub(env, job.enrollmentId).deliverOutcome(job.key, "suppressed");
    }
    return null;
  }
  if (!fresh && !(await claimMessage(db, message.id, now, CLAIM_STALE_MS))) {
    const cur = await getMessageById(db, message.id);
    return cur?.status === "queued" ? CLAIM_STALE_MS / 1000 : null;
  }
  const phone = (contact as ContactRow).phone as string;
  try {
    const connectionId = job.kind === "sms" ? job.connectionId : job.config.connectionId;
    const sender = await loadPhoneSender(env, db, job.orgId, channel, connectionId);
    const statusCallback = sender.connectionId
      ? `${await publicUrl(env, db)}/inbound/${sender.provider.name}/${sender.connectionId}`
      : "";
    const ctx = { env, orgId: job.orgId, credentials: sender.credentials };
    const body = job.kind === "sms" ? job.body : (job.config.script ?? null);
    const result =
      job.kind === "sms"
        ? await (sender.provider.sendSms as NonNullable<typeof sender.provider.sendSms>)(
            { messageId: message.id, to: phone, body: job.body, statusCallback },
            ctx,
          )
        : await (sender.provider.placeCall as NonNullable<typeof sender.provider.placeCall>)(
            {
              messageId: message.id,
              to: phone,
              script: job.config.script,
              twimlUrl: job.config.twimlUrl,
              agent: job.config.agent,
              maxDurationSeconds: job.config.maxDurationSeconds ?? 600,
              machineDetection: job.config.machineDetection ?? true,
              statusCallback,
              variables: {
                firstName: contact?.firstName ?? null,
                lastName: contact?.lastName ?? null,
                ...contact?.data,
                ...job.vars,
              },
            },
            ctx,
          );
    const sentAt = Date.now();
    const settled = { ...message, connectionId: sender.connectionId };
    await settleMessage(
      db,
      message.id,
      {
        status: "sent",
        provider: sender.provider.name,
        connectionId: sender.connectionId,
        providerMessageId: result.providerMessageId,
        body,
        to: phone,
        sentAt,
        error: null,
      },
      await factBatch(db, [
        messageFact(settled, channel === "sms" ? "smsSent" : "callsPlaced", sentAt),
      ]),
    );
    await recordSystemEvent(env, db, {
      orgId: job.orgId,
      contactId: job.contactId,
      name: channel === "sms" ? "sms.sent" : "call.placed",
      data: {
        messageId: message.id,
        enrollmentId: job.enrollmentId,
        stepId: job.stepId,
        provider: sender.provider.name,
      },
      key: `${job.key}:${channel}.sent`,
    });
    return null;
  } catch (err) {
    return afterFailedAttempt(env, db, err, {
      messageId: message.id,
      job,
      attempts,
      maxAttempts: PHONE_MAX_ATTEMPTS,
      permanent: err instanceof SenderUnavailable,
      backoff: (retryAfter) => backoff(env, attempts, retryAfter),
      fail: (error) => failPhone(env, db, job, message, error),
    });
  }
}

/**
 * A text or call that failed for good: a call's step takes outcome `failed`; a text fails its
 * enrollment unless the step continues on error.
 */
async function failPhone(
  env: Env,
  db: Db,
  job: SmsJob | CallJob,
  message: MessageRow,
  error: string,
) {
  const now = Date.now();
  if (job.kind === "call") {
    await settleMessage(db, message.id, { status: "failed", error, sendingAt: null });
    await recordCallOutcome(env, db, { ...message, status: "failed" }, "failed");
    return;
  }
  await settleMessage(
    db,
    message.id,
    { status: "failed", error, sendingAt: null },
    await factBatch(db, [messageFact(message, "smsFailed", now)]),
  );
  if (job.onError !== "continue") {
    await enrollmentStub(env, job.enrollmentId).failFromDelivery(job.stepId, error);
  }
}

/** An outreach job dead-lettered after the queue's retries: failed, never lost. */
export async function deadLetterOutreach(env: Env, job: OutreachJob) {
  if (job.kind === "task") {
    return; // a task row is one insert: a job that kept failing is re-sent by its enrollment
  }
  const db = database(env.DB);
  const row = await ensureMessage(db, newMessageRow(job, job.kind, "", Date.now()));
  if (row && row.status === "queued") {
    await failPhone(env, db, job, row, "Dead-lettered after exhausting queue retries");
  }
}
