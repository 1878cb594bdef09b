// The event consumer: opens, clicks and unsubscribes sent by the edge, import chunks, and the
// fan-out to enrollments of tracked events and of recorded system events.

import { type Fact, factBatch, messageFact, recordFacts } from "../../analytics";
import { recordSystemEvent, recordSystemEvents, unsubscribeContact } from "../../contacts";
import type { Db } from "../../db/client";
import { perOrg, shardFor } from "../../db/shards";
import type { Env } from "../../ground/env";
import { errorText, type Logger } from "../../ground/log";
import type { EventJob, ImportJob, ReportJob, SystemEvent } from "../../ground/queues";
import { backoffSeconds } from "../../ground/retry";
import {
  addEngagement,
  type Engagement,
  getMessageById,
  type MessageRow,
  messagesByIds,
  sendConfirmation,
  settleMessage,
  unsubscribeFromTopic,
} from "../../messaging";
import { fanOutAccepted, fanOutSystemEvents } from "../events";

type EngagementJob = Extract<EventJob, { kind: "open" | "click" }>;

/** Human opens of one message, or clicks of one link, this close together count once. */
export const REPEAT_WINDOW_MS = 60_000;

/** A click this soon after sending is a scanner following links on arrival. */
export const CLICK_AFTER_SEND_MIN_MS = 5_000;

const span = (cur: [number, number] | null, at: number): [number, number] =>
  cur ? [Math.min(cur[0], at), Math.max(cur[1], at)] : [at, at];

/** How a human hit relates to the last one counted (of its message, or of its link). */
function repeatOf(last: number | null | undefined, at: number): "new" | "same" | "repeat" {
  if (last == null || Math.abs(at - last) >= REPEAT_WINDOW_MS) {
    return "new";
  }
  // The very hit counted before (a retried job whose events must still be recorded).
  return at === last ? "same" : "repeat";
}

interface Plan {
  engagement: Engagement;
  events: SystemEvent[];
  /** Analytics facts of the hits, with ids from the hits: a retried job counts once. */
  facts: Fact[];
  changed: boolean;
}

/**
 * Plans one message's hits: machine ones are counted apart and emit nothing; human ones count
 * (and become email.opened / email.clicked) unless one of the same message — or, for clicks, the
 * same link — was counted within REPEAT_WINDOW_MS.
 */
function planMessage(msg: MessageRow, jobs: EngagementJob[]): Plan {
  const t: Engagement = {
    id: msg.id,
    seen: { opens: msg.opens, clicks: msg.clicks },
    opens: 0,
    clicks: 0,
    machineOpens: 0,
    machineClicks: 0,
    openedAt: null,
    clickedAt: null,
    linkClickedAt: null,
  };
  const events: SystemEvent[] = [];
  const facts: Fact[] = [];
  let lastOpen = msg.lastOpenedAt;
  const links: Record<string, number> = { ...(msg.linkClickedAt ?? {}) };
  // Hits this plan already passed: a second one at the very same instant is a repeat, not a retry.
  const passed = new Set<string>();
  for (const job of [...jobs].sort((a, b) => a.at - b.at)) {
    const tooSoon =
      job.kind === "click" && msg.sentAt != null && job.at - msg.sentAt < CLICK_AFTER_SEND_MIN_MS;
    if (job.machine ?? tooSoon) {
      t[job.kind === "open" ? "machineOpens" : "machineClicks"]++;
      facts.push(
        messageFact(
          msg,
          job.kind === "open" ? "machineOpened" : "machineClicked",
          job.at,
          `${job.id}:m`,
        ),
      );
      continue;
    }
    const link = String(job.linkIndex ?? 0);
    const seen = repeatOf(job.kind === "open" ? lastOpen : links[link], job.at);
    const slot = job.kind === "open" ? "open" : `click:${link}`;
    if (seen === "repeat" || (seen === "same" && passed.has(slot))) {
      continue;
    }
    passed.add(slot);
    if (seen === "new") {
      if (job.kind === "open") {
        t.opens++;
        t.openedAt = span(t.openedAt, job.at);
        lastOpen = Math.max(lastOpen ?? 0, job.at);
      } else {
        t.clicks++;
        t.clickedAt = span(t.clickedAt, job.at);
        links[link] = Math.max(links[link] ?? 0, job.at);
        t.linkClickedAt = links;
      }
    }
    const [hit, unique] =
      job.kind === "open" ? ["opened", "uniqueOpened"] : ["clicked", "uniqueClicked"];
    facts.push(messageFact(msg, hit, job.at, `${job.id}:h`), messageFact(msg, unique, job.at));
    const name = job.kind === "open" ? "email.opened" : "email.clicked";
    events.push({
      orgId: job.orgId,
      contactId: msg.contactId,
      name,
      data: {
        messageId: msg.id,
        enrollmentId: msg.enrollmentId,
        stepId: msg.stepId,
        ...(job.kind === "click" ? { url: job.url, linkIndex: job.linkIndex } : {}),
      },
      key: `${job.id}:${name}`,
    });
  }
  const changed = t.opens + t.clicks + t.machineOpens + t.machineClicks > 0;
  return { engagement: t, events, facts, changed };
}

/** Rounds before a batch whose messages keep changing under it is retried by the queue. */
const MAX_ROUNDS = 5;

/**
 * A batch of opens and clicks: one read of their messages, one guarded update per message, and
 * the counted human hits recorded as events. A message another batch changed meanwhile is
 * planned again from a fresh read, so a hit is never counted twice across concurrent batches.
 */
async function engagements(env: Env, jobs: EngagementJob[]) {
  // Each org's hits on its own shard; one that keeps failing fails the batch (it is retried).
  await perOrg(
    env,
    jobs,
    (j) => j.orgId,
    (db, own) => engagementsOf(env, db, own),
  );
}

async function engagementsOf(env: Env, db: Db, jobs: EngagementJob[]) {
  let pending = jobs;
  for (let round = 0; pending.length > 0; round++) {
    if (round === MAX_ROUNDS) {
      throw new Error(`engagement: ${pending.length} hits kept conflicting`);
    }
    const byMessage = new Map<string, EngagementJob[]>();
    for (const job of pending) {
      byMessage.set(job.messageId, [...(byMessage.get(job.messageId) ?? []), job]);
    }
    const plans: Plan[] = [];
    for (const msg of await messagesByIds(db, [...byMessage.keys()])) {
      const own = (byMessage.get(msg.id) ?? []).filter((j) => j.orgId === msg.orgId);
      if (own.length > 0) {
        plans.push(planMessage(msg, own));
      }
    }
    const updated = await addEngagement(
      db,
      plans.filter((p) => p.changed).map((p) => p.engagement),
    );
    const done = plans.filter((p) => !p.changed || updated.has(p.engagement.id));
    await recordFacts(
      db,
      done.flatMap((p) => p.facts),
    );
    await recordSystemEvents(
      env,
      db,
      done.flatMap((p) => p.events),
    );
    const conflicted = new Set(
      plans.filter((p) => p.changed && !updated.has(p.engagement.id)).map((p) => p.engagement.id),
    );
    pending = pending.filter((j) => conflicted.has(j.messageId));
  }
}

async function unsubscribe(env: Env, job: Extract<EventJob, { kind: "unsubscribe" }>) {
  const db = await shardFor(env, job.orgId);
  const msg = await getMessageById(db, job.messageId);
  if (msg && msg.orgId === job.orgId) {
    await settleMessage(
      db,
      msg.id,
      { unsubscribed: true },
      await factBatch(db, [messageFact(msg, "unsubscribed", job.at)]),
    );
    if (msg.topic) {
      // A message sent under a topic: its one-click unsubscribe stops that topic only.
      await unsubscribeFromTopic(env, db, job.orgId, job.contactId, msg.topic);
      return;
    }
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

/**
 * The jobs of other wings that ride this queue (import chunks, report builds): src/index.ts
 * hands their consumers in, so this wing never reaches into another wing's entry points.
 */
export interface WorkJobHandlers {
  importChunk(env: Env, job: ImportJob, log: Logger): Promise<void>;
  buildReport(env: Env, job: ReportJob, log: Logger): Promise<void>;
  reportDeadLettered(env: Env, job: ReportJob): Promise<void>;
}

export async function handleEventBatch(
  batch: MessageBatch<EventJob>,
  env: Env,
  log: Logger,
  work: WorkJobHandlers,
) {
  // Each job's lines carry its trace (batched kinds log theirs on arrival).
  const logOf = (m: Message<EventJob>) => log.child({ trace: m.body.trace, kind: m.body.kind });
  for (const m of batch.messages) {
    logOf(m).debug("consumed", { attempts: m.attempts });
  }
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
      await perOrg(
        env,
        system.flatMap((m) => m.body.events),
        (e) => e.orgId,
        (db, events) => fanOutSystemEvents(env, db, events, log),
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
  const fanouts = batch.messages.filter((m) => m.body.kind === "fanout") as Message<
    Extract<EventJob, { kind: "fanout" }>
  >[];
  if (fanouts.length > 0) {
    try {
      await perOrg(
        env,
        fanouts,
        (m) => m.body.orgId,
        (db, own) =>
          fanOutAccepted(
            env,
            db,
            own.flatMap((m) => m.body.eventIds),
            log,
          ),
      );
      for (const m of fanouts) {
        m.ack();
      }
    } catch (err) {
      log.error("tracked event fan-out failed", { size: fanouts.length, error: errorText(err) });
      for (const m of fanouts) {
        m.retry({ delaySeconds: unexpectedRetry(m.attempts) });
      }
    }
  }
  for (const msg of batch.messages) {
    const job = msg.body;
    const jobLog = logOf(msg);
    if (
      job.kind === "open" ||
      job.kind === "click" ||
      job.kind === "system" ||
      job.kind === "fanout"
    ) {
      continue;
    }
    try {
      if (job.kind === "import") {
        await work.importChunk(env, job, jobLog);
      } else if (job.kind === "report") {
        await work.buildReport(env, job, jobLog);
      } else if (job.kind === "unsubscribe") {
        await unsubscribe(env, job);
      } else if (job.kind === "confirm") {
        await sendConfirmation(
          env,
          await shardFor(env, job.orgId),
          job.orgId,
          job.contactId,
          job.templateId,
        );
      }
      msg.ack();
    } catch (err) {
      jobLog.error("event job failed", {
        attempts: msg.attempts,
        error: errorText(err),
      });
      msg.retry({ delaySeconds: unexpectedRetry(msg.attempts) });
    }
  }
}

export async function handleEventDeadLetters(
  batch: MessageBatch<EventJob>,
  env: Env,
  log: Logger,
  work: WorkJobHandlers,
) {
  for (const msg of batch.messages) {
    log.error("event job dead-lettered", { kind: msg.body.kind, trace: msg.body.trace });
    if (msg.body.kind === "report") {
      // A report whose build kept failing: failed, with what happened, never stuck "running".
      await work.reportDeadLettered(env, msg.body);
    }
    msg.ack();
  }
}
