// The text and call channels (a message row per effect key, claimed before the one provider
// call, through the attempt every channel shares: ./attempt), and the queue's tasks (a row per
// effect key, no provider). The enrollment is told (ackEffects) once the row exists; the
// watchdog re-queues a queued message whose job a queue lost.

import { publicUrl } from "../../accounts";
import { factBatch, messageFact, recordFacts } from "../../analytics";
import { type ContactRow, recordSystemEvent } from "../../contacts";
import type { Db } from "../../db/client";
import { shardFor } from "../../db/shards";
import { confirmEffects, enrollmentStub } from "../../enrollments";
import type { Env } from "../../ground/env";
import { newId } from "../../ground/ids";
import type { Logger } from "../../ground/log";
import type { CallJob, SmsJob, TaskJob } from "../../ground/queues";
import { recordCallOutcome } from "../outreach";
import { loadPhoneSender, SenderUnavailable } from "../senders";
import { ensureMessage, type MessageRow, newMessageRow, settleMessage } from "../store";
import { insertOrGetTask, type TaskRow } from "../tasks-store";
import type { Attempt, Channel, Outgoing } from "./attempt";

/** Attempts per SMS or call before it fails for good. */
export const PHONE_MAX_ATTEMPTS = 6;

/** Creates a task for a person: a row per effect key (a task is no provider send). */
export async function createTask(env: Env, job: TaskJob, log: Logger): Promise<null> {
  const db = await shardFor(env, job.orgId);
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

/** A text or call ready for its provider. */
interface ReadyPhone extends Outgoing {
  sender: Awaited<ReturnType<typeof loadPhoneSender>>;
  statusCallback: string;
}

/** The connection the step names (else the org's default), and where its status callbacks go. */
async function preparePhone(
  { env, db, job, contact }: Attempt<SmsJob | CallJob>,
  channel: "sms" | "call",
): Promise<ReadyPhone> {
  const connectionId = job.kind === "sms" ? job.connectionId : job.config.connectionId;
  const sender = await loadPhoneSender(env, db, job.orgId, channel, connectionId);
  const statusCallback = sender.connectionId
    ? `${await publicUrl(env, db, job.orgId)}/inbound/${sender.provider.name}/${sender.connectionId}`
    : "";
  const body = job.kind === "sms" ? job.body : (job.config.script ?? null);
  return {
    provider: sender.provider.name,
    connectionId: sender.connectionId,
    fields: { body, to: contact.phone as string },
    sender,
    statusCallback,
  };
}

export const smsChannel: Channel<SmsJob, ReadyPhone> = {
  name: "sms",
  maxAttempts: PHONE_MAX_ATTEMPTS,
  address: (contact) => contact?.phone ?? "",
  unreachable: (contact) => unreachable(contact, "sms"),
  facts: { sent: "smsSent" },
  prepare: (a) => preparePhone(a, "sms"),
  send: ({ env, job, message, contact }, { sender, statusCallback }) =>
    (sender.provider.sendSms as NonNullable<typeof sender.provider.sendSms>)(
      { messageId: message.id, to: contact.phone as string, body: job.body, statusCallback },
      { env, orgId: job.orgId, credentials: sender.credentials },
    ),
  sentEvent: "sms.sent",
  permanent: (err) => err instanceof SenderUnavailable,
  fail: failPhone,
};

export const callChannel: Channel<CallJob, ReadyPhone> = {
  name: "call",
  maxAttempts: PHONE_MAX_ATTEMPTS,
  address: (contact) => contact?.phone ?? "",
  unreachable: (contact) => unreachable(contact, "call"),
  facts: { sent: "callsPlaced" },
  // The step waits for an outcome: this one.
  async suppressed(env, job) {
    await enrollmentStub(env, job.enrollmentId).deliverOutcome(job.key, "suppressed");
  },
  prepare: (a) => preparePhone(a, "call"),
  send: ({ env, job, message, contact }, { sender, statusCallback }) =>
    (sender.provider.placeCall as NonNullable<typeof sender.provider.placeCall>)(
      {
        messageId: message.id,
        to: contact.phone as string,
        script: job.config.script,
        twimlUrl: job.config.twimlUrl,
        agent: job.config.agent,
        maxDurationSeconds: job.config.maxDurationSeconds ?? 600,
        machineDetection: job.config.machineDetection ?? true,
        statusCallback,
        variables: {
          firstName: contact.firstName ?? null,
          lastName: contact.lastName ?? null,
          ...contact.data,
          ...job.vars,
        },
      },
      { env, orgId: job.orgId, credentials: sender.credentials },
    ),
  sentEvent: "call.placed",
  permanent: (err) => err instanceof SenderUnavailable,
  fail: failPhone,
};

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
    { status: "failed", error, sendingAt: null, counted: true },
    await factBatch(db, [messageFact(message, "smsFailed", now)]),
  );
  if (job.onError !== "continue") {
    await enrollmentStub(env, job.enrollmentId).failFromDelivery(job.stepId, error);
  }
}

/** A text or call job dead-lettered after the queue's retries: failed, never lost. */
export async function deadLetterPhone(env: Env, job: SmsJob | CallJob) {
  const db = await shardFor(env, job.orgId);
  const row = await ensureMessage(db, newMessageRow(job, job.kind, "", Date.now()));
  if (row && row.status === "queued") {
    await failPhone(env, db, job, row, "Dead-lettered after exhausting queue retries");
  }
}
