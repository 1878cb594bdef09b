// The event consumer: opens, clicks and unsubscribes sent by the edge, and import chunks.
import { database } from "../db/client";
import { unsubscribeContact } from "../db/contacts";
import { addEngagement, type Engagement, getMessageById, messagesByIds, settleMessage } from "../db/messages";
import { CLICK_AFTER_SEND_MIN_MS } from "../edge/machine";
import { type SystemEvent, systemEvent, systemEvents } from "../enrollments";
import type { Env } from "../env";
import { processImportChunk } from "./imports";

export type EventJob =
  | { kind: "open" | "click"; id: string; orgId: string; messageId: string; at: number; machine: string | null; linkIndex?: number; url?: string }
  | { kind: "unsubscribe"; id: string; orgId: string; messageId: string; contactId: string; at: number }
  | { kind: "import"; importId: string; chunk: number };

type EngagementJob = Extract<EventJob, { kind: "open" | "click" }>;

const span = (cur: [number, number] | null, at: number): [number, number] => (cur ? [Math.min(cur[0], at), Math.max(cur[1], at)] : [at, at]);

/**
 * A batch of opens and clicks: one read of their messages, one update per message, and the
 * human ones become email.opened / email.clicked events (stored and fanned out together).
 * Machine opens and clicks are counted apart and emit nothing.
 */
async function engagements(env: Env, jobs: EngagementJob[]) {
  const db = database(env.DB);
  const byId = new Map((await messagesByIds(db, [...new Set(jobs.map((j) => j.messageId))])).map((m) => [m.id, m]));
  const totals = new Map<string, Engagement>();
  const events: SystemEvent[] = [];
  for (const job of jobs) {
    const msg = byId.get(job.messageId);
    if (!msg || msg.orgId !== job.orgId) continue;
    const tooSoon = job.kind === "click" && msg.sentAt != null && job.at - msg.sentAt < CLICK_AFTER_SEND_MIN_MS;
    const machine = job.machine ?? (tooSoon ? "clicked_on_arrival" : null);
    let t = totals.get(msg.id);
    if (!t) {
      t = { id: msg.id, opens: 0, clicks: 0, machineOpens: 0, machineClicks: 0, openedAt: null, clickedAt: null };
      totals.set(msg.id, t);
    }
    if (job.kind === "open") {
      if (machine) t.machineOpens++;
      else {
        t.opens++;
        t.openedAt = span(t.openedAt, job.at);
      }
    } else if (machine) t.machineClicks++;
    else {
      t.clicks++;
      t.clickedAt = span(t.clickedAt, job.at);
    }
    if (machine) continue;
    const name = job.kind === "open" ? "email.opened" : "email.clicked";
    const data = {
      messageId: msg.id,
      enrollmentId: msg.enrollmentId,
      stepId: msg.stepId,
      ...(job.kind === "click" ? { url: job.url, linkIndex: job.linkIndex } : {}),
    };
    events.push({ orgId: job.orgId, contactId: msg.contactId, name, data, key: `${job.id}:${name}` });
  }
  await addEngagement(db, [...totals.values()]);
  await systemEvents(env, db, events);
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
  const opensAndClicks = batch.messages.filter((m) => m.body.kind === "open" || m.body.kind === "click") as Message<EngagementJob>[];
  if (opensAndClicks.length > 0) {
    try {
      await engagements(
        env,
        opensAndClicks.map((m) => m.body),
      );
      for (const m of opensAndClicks) m.ack();
    } catch (err) {
      console.error(JSON.stringify({ level: "error", msg: "engagement batch failed", size: opensAndClicks.length, error: String(err) }));
      for (const m of opensAndClicks) m.retry({ delaySeconds: Math.min(2 ** m.attempts, 300) });
    }
  }
  for (const msg of batch.messages) {
    const job = msg.body;
    if (job.kind === "open" || job.kind === "click") continue;
    try {
      if (job.kind === "import") await processImportChunk(env, job.importId, job.chunk);
      else if (job.kind === "unsubscribe") await unsubscribe(env, job);
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
