// The event consumer: opens, clicks and unsubscribes sent by the edge, and import chunks.
import { database } from "../db/client";
import { unsubscribeContact } from "../db/contacts";
import { countEngagement, getMessageById, settleMessage } from "../db/messages";
import { CLICK_AFTER_SEND_MIN_MS } from "../edge/machine";
import { systemEvent } from "../enrollments";
import type { Env } from "../env";
import { processImportChunk } from "./imports";

export type EventJob =
  | { kind: "open" | "click"; id: string; orgId: string; messageId: string; at: number; machine: string | null; linkIndex?: number; url?: string }
  | { kind: "unsubscribe"; id: string; orgId: string; messageId: string; contactId: string; at: number }
  | { kind: "import"; importId: string; chunk: number };

async function engagement(env: Env, job: Extract<EventJob, { kind: "open" | "click" }>) {
  const db = database(env.DB);
  const msg = await getMessageById(db, job.messageId);
  if (!msg || msg.orgId !== job.orgId) return;
  const tooSoon = job.kind === "click" && msg.sentAt != null && job.at - msg.sentAt < CLICK_AFTER_SEND_MIN_MS;
  const machine = job.machine ?? (tooSoon ? "clicked_on_arrival" : null);
  await countEngagement(db, job.orgId, msg.id, job.kind, machine !== null, job.at);
  if (machine) return;
  const name = job.kind === "open" ? "email.opened" : "email.clicked";
  const data = {
    messageId: msg.id,
    enrollmentId: msg.enrollmentId,
    stepId: msg.stepId,
    ...(job.kind === "click" ? { url: job.url, linkIndex: job.linkIndex } : {}),
  };
  await systemEvent(env, db, job.orgId, msg.contactId, name, data, `${job.id}:${name}`);
}

async function unsubscribe(env: Env, job: Extract<EventJob, { kind: "unsubscribe" }>) {
  const db = database(env.DB);
  const msg = await getMessageById(db, job.messageId);
  if (msg && msg.orgId === job.orgId) await settleMessage(db, msg.id, { unsubscribed: true });
  if (await unsubscribeContact(db, job.orgId, job.contactId, job.at)) {
    await systemEvent(env, db, job.orgId, job.contactId, "contact.unsubscribed", { messageId: job.messageId, source: "one_click" }, `${job.id}:unsubscribed`);
  }
}

export async function handleEventBatch(batch: MessageBatch<EventJob>, env: Env) {
  for (const msg of batch.messages) {
    const job = msg.body;
    try {
      if (job.kind === "import") await processImportChunk(env, job.importId, job.chunk);
      else if (job.kind === "unsubscribe") await unsubscribe(env, job);
      else await engagement(env, job);
      msg.ack();
    } catch (err) {
      console.error(JSON.stringify({ level: "error", msg: "event job failed", kind: job.kind, attempts: msg.attempts, error: String(err) }));
      msg.retry({ delaySeconds: Math.min(2 ** msg.attempts, 300) });
    }
  }
}

export function handleEventDeadLetters(batch: MessageBatch<EventJob>) {
  for (const msg of batch.messages) {
    console.error(JSON.stringify({ level: "error", msg: "event job dead-lettered", job: msg.body }));
    msg.ack();
  }
}
