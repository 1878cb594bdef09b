// The cron watchdog. Nothing is lost even when a queue or an alarm is:
// - enrollments overdue by more than a minute are poked (their object re-arms a lost alarm
//   and re-sends effects no consumer confirmed), and reservations whose start never landed
//   are started from D1;
// - accepted events not fanned out, queued emails, pending webhook deliveries and import chunks
//   whose queue job is overdue are queued again (every consumer is idempotent);
// - scheduled reports whose time has come start their next run; report builds whose job was
//   lost get it again;
// - expired idempotency keys, old provider event ids, old analytics fact ids and past
//   frequency-cap slots are purged;
// - open tasks past their due time are marked expired;
// - contact chains whose hand-over was lost are handed on (the next link starts);
// - agent executions whose job may be lost are sent on again; model exchanges past their
//   retention and agent logs past 30 days are deleted.
import { claimStalledExecutions, pruneAgentRecords } from "./agents";
import { pruneFacts, tickReports } from "./analytics";
import { claimStalledChunks, overdueFanouts } from "./contacts";
import type { Db } from "./db/client";
import { purgeExpiredKeys } from "./db/idempotency";
import { everyShard, groupByOrg } from "./db/shards";
import {
  cancelReservation,
  enrollmentStub,
  handOverChain,
  overdueEnrollments,
  snapshotOf,
  stalledChainLinks,
  startPayloadFromD1,
} from "./enrollments";
import type { Env } from "./ground/env";
import type { Logger } from "./ground/log";
import type { MessageJob } from "./ground/queues";
import { sendInSlices } from "./ground/retry";
import { claimOverdueMessages, expireTasks, pruneInboundSeen, pruneSlots } from "./messaging";
import { claimOverdueDeliveries } from "./webhooks";

/** An alarm, job or chunk overdue this long was lost (a crash, a dropped queue message). */
const GRACE_MS = 20_000;
/** An accepted event not fanned out this long after its job was queued: the job was lost. */
const FANOUT_GRACE_MS = 15_000;
const BATCH = 500;
/**
 * Provider event ids (and received mail ids) are remembered this long against redeliveries;
 * received texts' as long as their connection (src/messaging/inbound-store.ts).
 */
const INBOUND_SEEN_KEEP_MS = 30 * 86_400_000;
/** A re-queued job gets this long to run before it is considered lost again. */
const REQUEUE_PUSH_MS = 5 * 60_000;
/** Analytics fact ids are kept this long against retried writes (src/analytics/facts.ts). */
const FACTS_KEEP_MS = 35 * 86_400_000;
/** A queued agent execution untouched this long is sent on again (it may wait at its gate: harmless). */
const EXECUTION_QUEUED_CHECK_MS = 10 * 60_000;
/** Longer than a run's every attempt timing out (6 × 300 s) and the backoffs between. */
const EXECUTION_RUNNING_CHECK_MS = 35 * 60_000;
const AGENT_LOGS_KEEP_MS = 30 * 86_400_000;

async function pokeEnrollments(env: Env, db: Db, now: number) {
  const overdue = await overdueEnrollments(db, now, GRACE_MS, BATCH);
  const outcomes: Record<string, number> = {};
  for (let i = 0; i < overdue.length; i += 25) {
    await Promise.all(
      overdue.slice(i, i + 25).map(async (row) => {
        const stub = enrollmentStub(env, row.id);
        let result: string = await stub.poke();
        if (result === "not_started") {
          const payload = await startPayloadFromD1(db, row);
          // A start refused by the object means it was cancelled before it ever ran.
          if (payload && (await stub.start(payload))) {
            result = "started";
          } else if (await cancelReservation(db, row.id, "never_started")) {
            result = "cancelled";
          }
        }
        outcomes[result] = (outcomes[result] ?? 0) + 1;
      }),
    );
  }
  return { overdue: overdue.length, outcomes };
}

/** Chains whose hand-over was lost: ended links still active, pending links with none active. */
async function handOverStalledChains(env: Env, db: Db, now: number, log: Logger) {
  const { ended, orphans } = await stalledChainLinks(db, now, GRACE_MS, BATCH);
  let handed = 0;
  for (const row of ended) {
    const snap = await snapshotOf(env, row.id);
    await handOverChain(
      env,
      db,
      {
        id: row.id,
        orgId: row.orgId,
        workflowId: row.workflowId,
        chainKey: row.chainKey as string,
      },
      snap?.state.chainSucceeded === true,
      log,
    );
    handed++;
  }
  for (const chain of orphans) {
    await handOverChain(env, db, { id: "", orgId: "", ...chain }, false, log);
    handed++;
  }
  return handed;
}

/** One tick over every shard (each its own pass, one after another): what each found, summed. */
export async function runWatchdog(env: Env, log: Logger, now = Date.now()) {
  const reports = [];
  for (const db of everyShard(env)) {
    reports.push(await watchShard(env, db, log, now));
  }
  return reports.reduce(sumReports);
}

type WatchReport = Awaited<ReturnType<typeof watchShard>>;

/** Adds two ticks' figures, key by key (numbers summed, nested records likewise). */
function sumReports(a: WatchReport, b: WatchReport): WatchReport {
  const add = (x: unknown, y: unknown): unknown =>
    typeof x === "number" && typeof y === "number"
      ? x + y
      : x && y && typeof x === "object" && typeof y === "object"
        ? Object.fromEntries(
            [...new Set([...Object.keys(x), ...Object.keys(y)])].map((k) => [
              k,
              add((x as Record<string, unknown>)[k] ?? 0, (y as Record<string, unknown>)[k] ?? 0),
            ]),
          )
        : (x ?? y);
  return add(a, b) as WatchReport;
}

async function watchShard(env: Env, db: Db, log: Logger, now: number) {
  const enrollments = await pokeEnrollments(env, db, now);
  const messages = await claimOverdueMessages(db, now, GRACE_MS, BATCH, REQUEUE_PUSH_MS);
  await sendInSlices(
    env.MESSAGE_QUEUE,
    messages.flatMap((m): MessageJob[] => (m.job ? [m.job] : [])),
  );
  const deliveries = await claimOverdueDeliveries(db, now, GRACE_MS, BATCH, REQUEUE_PUSH_MS);
  await sendInSlices(
    env.WEBHOOK_QUEUE,
    deliveries.map((d) => ({ kind: "deliver" as const, orgId: d.orgId, deliveryId: d.id })),
  );
  const fanouts = await overdueFanouts(db, now, FANOUT_GRACE_MS, 60_000, BATCH * 10);
  const fanoutJobs = [];
  for (const [orgId, own] of groupByOrg(fanouts, (f) => f.orgId)) {
    for (let i = 0; i < own.length; i += 100) {
      fanoutJobs.push({
        kind: "fanout" as const,
        orgId,
        eventIds: own.slice(i, i + 100).map((f) => f.id),
      });
    }
  }
  await sendInSlices(env.EVENT_QUEUE, fanoutJobs);
  const chunks = await claimStalledChunks(db, now, GRACE_MS, BATCH);
  await sendInSlices(
    env.EVENT_QUEUE,
    chunks.map((c) => ({
      kind: "import" as const,
      orgId: c.orgId,
      importId: c.importId,
      chunk: c.chunk,
    })),
  );
  const reports = await tickReports(env, db, now);
  await purgeExpiredKeys(db, now);
  await pruneInboundSeen(db, now - INBOUND_SEEN_KEEP_MS);
  await pruneFacts(db, now - FACTS_KEEP_MS);
  // Frequency-cap slots outlive their ISO week by a week at most.
  await pruneSlots(db, now - 15 * 86_400_000);
  const chains = await handOverStalledChains(env, db, now, log);
  const executions = await claimStalledExecutions(
    db,
    now,
    EXECUTION_QUEUED_CHECK_MS,
    EXECUTION_RUNNING_CHECK_MS,
    BATCH,
  );
  await sendInSlices(
    env.AGENT_QUEUE,
    executions.map((x) => ({ kind: "run" as const, orgId: x.orgId, executionId: x.id })),
  );
  await pruneAgentRecords(db, now, now - AGENT_LOGS_KEEP_MS);
  // Reading shows an open task past its due time as expired; this writes it down.
  const expiredTasks = await expireTasks(db, now);
  const report = {
    ...enrollments,
    requeued: {
      events: fanouts.length,
      messages: messages.length,
      deliveries: deliveries.length,
      importChunks: chunks.length,
      reports: reports.resumed,
      agentExecutions: executions.length,
    },
    scheduledReports: reports.started,
    expiredTasks,
    chainsHandedOn: chains,
  };
  if (
    report.overdue +
      fanouts.length +
      messages.length +
      deliveries.length +
      chunks.length +
      reports.started +
      reports.resumed >
    0
  ) {
    log.info("watchdog", {
      overdue: report.overdue,
      ...report.outcomes,
      ...report.requeued,
      scheduledReports: reports.started,
    });
  }
  return report;
}
