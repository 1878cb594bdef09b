// What the edge records (opens, clicks, unsubscribes) leaves in batches: jobs are collected
// in this isolate for up to FLUSH_MS, or until there are 100, and sent with one sendBatch.
// The request that opens a batch keeps the isolate alive until it is sent (waitUntil); a
// batch that cannot be sent is logged. A pixel costs the edge one HMAC and a push.
import type { Context } from "hono";
import type { AppEnv } from "../ground/env";
import { errorText } from "../ground/log";
import type { EventJob } from "../ground/queues";

const FLUSH_MS = 200;
const MAX_BATCH = 100;

let pending: EventJob[] = [];
let timer: Promise<void> | null = null;

async function send(c: Context<AppEnv>, jobs: EventJob[]) {
  if (jobs.length === 0) {
    return;
  }
  try {
    await c.env.EVENT_QUEUE.sendBatch(jobs.map((body) => ({ body })));
  } catch (err) {
    c.get("log").error("edge events not queued", { count: jobs.length, error: errorText(err) });
  }
}

function take() {
  const jobs = pending;
  pending = [];
  return jobs;
}

export function record(c: Context<AppEnv>, job: EventJob) {
  pending.push(job);
  if (pending.length >= MAX_BATCH) {
    c.executionCtx.waitUntil(send(c, take()));
    return;
  }
  if (!timer) {
    timer = new Promise<void>((resolve) => setTimeout(resolve, FLUSH_MS)).then(() => {
      timer = null;
      return send(c, take());
    });
    c.executionCtx.waitUntil(timer);
  }
}
