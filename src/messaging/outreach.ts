// What comes back from the phone channels and from people: a call's outcome (a provider's
// webhook, or recorded by hand on the outbox), SMS delivery statuses, texts contacts send
// (STOP/START/HELP), and tasks completed or skipped. Each is recorded once and handed to the
// enrollment waiting for it (by the effect key it waits on).

import { factBatch, messageFact, recordFacts } from "../analytics";
import {
  findContactByPhone,
  notifyContactChange,
  recordSystemEvent,
  updateContact,
} from "../contacts";
import type { Db } from "../db/client";
import type { CallOutcome } from "../engine/outreach";
import { enrollmentStub } from "../enrollments";
import type { Env } from "../ground/env";
import type { Logger } from "../ground/log";
import { keywordOf, type PhoneEvent } from "../providers/phone";
import type { InboundConnection } from "./deliveries";
import { markInboundSeen } from "./inbound-store";
import {
  findByProviderId,
  getMessage,
  type MessageRow,
  recordCallEnd,
  settleMessage,
} from "./store";
import { closeTask as closeTaskRow, type TaskRow } from "./tasks-store";

const CALL_METRIC: Record<CallOutcome, string> = {
  answered: "callsAnswered",
  voicemail: "callsVoicemail",
  no_answer: "callsNoAnswer",
  busy: "callsBusy",
  failed: "callsFailed",
};

/** Hands an outcome to the enrollment waiting on `key` (a no-op when it no longer waits). */
async function resume(env: Env, enrollmentId: string | null, key: string, outcome: string) {
  if (enrollmentId) {
    await enrollmentStub(env, enrollmentId).deliverOutcome(key, outcome);
  }
}

/**
 * Records how a call ended — once: a second report keeps the first outcome — and resumes the
 * enrollment with the stored outcome (again on a retried report, which the object ignores
 * when it has moved on). Returns the stored outcome.
 */
export async function recordCallOutcome(
  env: Env,
  db: Db,
  msg: MessageRow,
  outcome: CallOutcome,
  extra: { durationSeconds?: number; summary?: string } = {},
): Promise<string> {
  const now = Date.now();
  const stored = await recordCallEnd(
    db,
    msg.id,
    {
      outcome,
      durationSeconds: extra.durationSeconds ?? null,
      summary: extra.summary ?? null,
    },
    // One fact per call whatever its outcome: a later, different report counts nothing.
    await factBatch(db, [messageFact(msg, CALL_METRIC[outcome], now, `${msg.id}:callEnded`)]),
  );
  if (stored.recorded) {
    await recordSystemEvent(env, db, {
      orgId: msg.orgId,
      contactId: msg.contactId,
      name: "call.completed",
      data: {
        messageId: msg.id,
        enrollmentId: msg.enrollmentId,
        stepId: msg.stepId,
        outcome,
        durationSeconds: extra.durationSeconds ?? null,
        summary: extra.summary ?? null,
      },
      key: `${msg.key}:call.completed`,
    });
  }
  await resume(env, msg.enrollmentId, msg.key, stored.outcome);
  return stored.outcome;
}

/** A message of the connection's org, by our id or the provider's. */
async function messageOf(db: Db, orgId: string, providerId: string, ours?: string) {
  return (
    (ours ? await getMessage(db, orgId, ours) : undefined) ??
    (await findByProviderId(db, orgId, providerId))
  );
}

export const HELP_REPLY = "Reply STOP to unsubscribe from these texts, START to subscribe again.";

/**
 * Applies a verified phone webhook's events (each once per connection). Returns how many
 * changed something and, for a HELP text, the reply to send back.
 */
export async function applyPhoneEvents(
  env: Env,
  db: Db,
  conn: InboundConnection,
  events: PhoneEvent[],
  log: Logger,
): Promise<{ applied: number; reply: string | null }> {
  let applied = 0;
  let reply: string | null = null;
  for (const e of events) {
    if (e.kind === "ignored") {
      continue;
    }
    // A received text's id (`sms_received:<sid>`) is kept as long as its connection lives
    // (pruneInboundSeen): its webhook carries no time, so only this stops a replay.
    const eventId =
      e.kind === "sms_status"
        ? `${e.providerMessageId}:${e.status}`
        : `${e.kind}:${e.providerMessageId}`;
    if (!(await markInboundSeen(db, conn.id, eventId))) {
      // A retried webhook: a call's outcome is handed over again in case that hand-over was lost.
      if (e.kind === "call_ended") {
        const msg = await messageOf(db, conn.orgId, e.providerMessageId, e.ourMessageId);
        if (msg?.outcome) {
          await resume(env, msg.enrollmentId, msg.key, msg.outcome);
        }
      }
      continue;
    }
    if (e.kind === "call_ended") {
      const msg = await messageOf(db, conn.orgId, e.providerMessageId, e.ourMessageId);
      if (msg?.channel === "call") {
        await recordCallOutcome(env, db, msg, e.outcome, e);
        applied++;
      }
    } else if (e.kind === "sms_status") {
      const msg = await messageOf(db, conn.orgId, e.providerMessageId);
      if (msg?.channel === "sms" && (await applySmsStatus(env, db, msg, e))) {
        applied++;
      }
    } else {
      const r = await receiveSms(env, db, conn.orgId, e);
      applied += r.applied ? 1 : 0;
      reply = r.reply ?? reply;
    }
  }
  log.debug("phone webhook applied", { connectionId: conn.id, applied });
  return { applied, reply };
}

/** A delivery status: delivered, or failed/undelivered (never back to an earlier state). */
async function applySmsStatus(
  env: Env,
  db: Db,
  msg: MessageRow,
  e: Extract<PhoneEvent, { kind: "sms_status" }>,
): Promise<boolean> {
  if (e.status === "sent" || msg.status !== "sent") {
    return false; // sms.sent was recorded at send time; a settled message stays settled
  }
  const now = Date.now();
  const failed = e.status !== "delivered";
  await settleMessage(
    db,
    msg.id,
    failed
      ? { status: "failed", error: e.error ?? `Carrier status: ${e.status}` }
      : { status: "delivered", deliveredAt: now },
    await factBatch(db, [messageFact(msg, failed ? "smsFailed" : "smsDelivered", now)]),
  );
  await recordSystemEvent(env, db, {
    orgId: msg.orgId,
    contactId: msg.contactId,
    name: `sms.${e.status}`,
    data: {
      messageId: msg.id,
      enrollmentId: msg.enrollmentId,
      stepId: msg.stepId,
      ...(e.error ? { reason: e.error } : {}),
    },
    key: `${msg.key}:sms.${e.status}`,
  });
  return true;
}

/** A text from a contact: STOP/START change its SMS subscription; HELP gets the help reply. */
async function receiveSms(
  env: Env,
  db: Db,
  orgId: string,
  e: Extract<PhoneEvent, { kind: "sms_received" }>,
): Promise<{ applied: boolean; reply?: string }> {
  const keyword = keywordOf(e.body);
  const reply = keyword === "help" ? HELP_REPLY : undefined;
  const contact = await findContactByPhone(db, orgId, e.from);
  if (!contact || contact.erasedAt) {
    return { applied: false, reply };
  }
  if (keyword === "stop" || keyword === "start") {
    const smsSubscribed = keyword === "start";
    if (contact.smsSubscribed !== smsSubscribed) {
      const next = await updateContact(db, contact, { smsSubscribed });
      await notifyContactChange(env, db, contact, next, false);
    }
  }
  await recordSystemEvent(env, db, {
    orgId,
    contactId: contact.id,
    name: "sms.received",
    data: { from: e.from, to: e.to, text: e.body.slice(0, 1600), keyword },
    key: `sms.received:${e.providerMessageId}`,
  });
  return { applied: true, reply };
}

/**
 * Completes or skips an open task and resumes its enrollment with the outcome. Undefined when
 * the task was no longer open (completed, skipped or expired meanwhile).
 */
export async function closeTask(
  env: Env,
  db: Db,
  task: TaskRow,
  status: "completed" | "skipped",
  outcome: string,
  note: string | null,
): Promise<TaskRow | undefined> {
  const now = Date.now();
  const closed = await closeTaskRow(db, task.id, { status, outcome, note }, now);
  if (!closed) {
    return undefined;
  }
  await recordFacts(db, [
    {
      ...messageFact(
        { ...task, connectionId: null },
        status === "skipped" ? "tasksSkipped" : "tasksCompleted",
        now,
        `${task.id}:closed`,
      ),
      channel: "task",
    },
  ]);
  await recordSystemEvent(env, db, {
    orgId: task.orgId,
    contactId: task.contactId,
    name: "task.completed",
    data: {
      taskId: task.id,
      status,
      outcome,
      note,
      enrollmentId: task.enrollmentId,
      stepId: task.stepId,
    },
    key: `${task.key}:task.completed`,
  });
  await resume(env, task.enrollmentId, task.key, outcome);
  return closed;
}
