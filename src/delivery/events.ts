// The event consumer: opens, clicks and unsubscribes sent by the edge, import chunks, and the
// fan-out of recorded system events to enrollments.
import { database } from "../db/client";
import { unsubscribeContact } from "../db/contacts";
import {
  addEngagement,
  type Engagement,
  getMessageById,
  messagesByIds,
  settleMessage,
} from "../db/messages";
import { fanOutSystemEvents } from "../domain/events";
import { recordSystemEvent, recordSystemEvents } from "../domain/history";
import type { Env } from "../ground/env";
import { errorText, type Logger } from "../ground/log";
import type { EventJob, SystemEvent } from "../ground/queues";
import { backoffSeconds } from "../ground/retry";
import { processImportChunk } from "./imports";

type EngagementJob = Extract<EventJob, { kind: "open" | "click" }>;

/** A click this soon after sending is a scanner following links on arrival. */
export const CLICK_AFTER_SEND_MIN_MS = 5_000;

const span = (cur: [number, number] | null, at: number): [number, number] =>
  cur ? [Math.min(cur[0], at), Math.max(cur[1], at)] : [at, at];

/**
 * A batch of opens and clicks: one read of their messages, one update per message, and the
 * human ones become email.opened / email.clicked events (recorded together). Machine opens
 * and clicks are counted apart and emit nothing.
 */
async function engagements(env: Env, jobs: EngagementJob[]) {
  const db = database(env.DB);
  const byId = new Map(
    (await messagesByIds(db, [...new Set(jobs.map((j) => j.messageId))])).map((m) => [m.id, m]),
  );
  const totals = new Map<string, Engagement>();
  const events: SystemEvent[] = [];
  for (const job of jobs) {
    const msg = byId.get(job.messageId);
    if (!msg || msg.orgId !== job.orgId) {
      continue;
    }
    const tooSoon =
      job.kind === "click" && msg.sentAt != null && job.at - msg.sentAt < CLICK_AFTER_SEND_MIN_MS;
    const machine = job.machine ?? (tooSoon ? "clicked_on_arrival" : null);
    let t = totals.get(msg.id);
    if (!t) {
      t = {
        id: msg.id,
        opens: 0,
        clicks: 0,
        machineOpens: 0,
        machineClicks: 0,
        openedAt: null,
        clickedAt: null,
      };
      totals.set(msg.id, t);
    }
    if (job.kind === "open") {
      if (machine) {
        t.machineOpens++;
      } else {
        t.opens++;
        t.openedAt = span(t.openedAt, job.at);
      }
    } else if (machine) {
      t.machineClicks++;
    } else {
      t.clicks++;
      t.clickedAt = span(t.clickedAt, job.at);
    }
    if (machine) {
      continue;
    }
    const name = job.kind === "open" ? "email.opened" : "email.clicked";
    const data = {
      messageId: msg.id,
      enrollmentId: msg.enrollmentId,
      stepId: msg.stepId,
      ...(job.kind === "click" ? { url: job.url, linkIndex: job.linkIndex } : {}),
    };
    events.push({
      orgId: job.orgId,
      contactId: msg.contactId,
      name,
      data,
      key: `${job.id}:${name}`,
    });
  }
  await addEngagement(db, [...totals.values()]);
  await recordSystemEvents(env, db, events);
}

async function unsubscribe(env: Env, job: Extract<EventJob, { kind: "unsubscribe" }>) {
  const db = database(env.DB);
  const msg = await getMessageById(db, job.messageId);
  if (msg && msg.orgId === job.orgId) {
    await settleMessage(db, msg.id, { unsubscribed: true });
  }
  if (await unsubscribeContact(db, job.orgId, job.contactId, job.at)) {
    await recordSystemEvent(env, db, {
      orgId: job.orgId,
      contactId: job.contactId,
      name: "contact.unsubscribed",
      data: { messageId: job.messageId, source: "one_click" },
      key: `${job.id}:unsubscribed`,
    });
  }
}

const unexpectedRetry = (attempts: number) =>
  backoffSeconds(attempts, { baseSeconds: 2, capSeconds: 300, jitter: 0.5 });

export async function handleEventBatch(batch: MessageBatch<EventJob>, env: Env, log: Logger) {
  const opensAndClicks = batch.messages.filter(
    (m) => m.body.kind === "open" || m.body.kind === "click",
  ) as Message<EngagementJob>[];
  if (opensAndClicks.length > 0) {
    try {
      await engagements(
        env,
        opensAndClicks.map((m) => m.body),
      );
      for (const m of opensAndClicks) {
        m.ack();
      }
    } catch (err) {
      log.error("engagement batch failed", { size: opensAndClicks.length, error: errorText(err) });
      for (const m of opensAndClicks) {
        m.retry({ delaySeconds: unexpectedRetry(m.attempts) });
      }
    }
  }
  const system = batch.messages.filter((m) => m.body.kind === "system") as Message<
    Extract<EventJob, { kind: "system" }>
  >[];
  if (system.length > 0) {
    try {
      await fanOutSystemEvents(
        env,
        database(env.DB),
        system.flatMap((m) => m.body.events),
        log,
      );
      for (const m of system) {
        m.ack();
      }
    } catch (err) {
      log.error("event fan-out failed", { size: system.length, error: errorText(err) });
      for (const m of system) {
        m.retry({ delaySeconds: unexpectedRetry(m.attempts) });
      }
    }
  }
  for (const msg of batch.messages) {
    const job = msg.body;
    if (job.kind === "open" || job.kind === "click" || job.kind === "system") {
      continue;
    }
    try {
      if (job.kind === "import") {
        await processImportChunk(env, job.importId, job.chunk, log);
      } else if (job.kind === "unsubscribe") {
        await unsubscribe(env, job);
      }
      msg.ack();
    } catch (err) {
      log.error("event job failed", {
        kind: job.kind,
        attempts: msg.attempts,
        error: errorText(err),
      });
      msg.retry({ delaySeconds: unexpectedRetry(msg.attempts) });
    }
  }
}

export function handleEventDeadLetters(batch: MessageBatch<EventJob>, log: Logger) {
  for (const msg of batch.messages) {
    log.error("event job dead-lettered", { kind: msg.body.kind });
    msg.ack();
  }
}
