// D1 work per operation, for the capacity model (docs/scale.md, npm run capacity): statements
// and rows written per single event (the request and its fan-out) and per first open and first
// click (the hit and the event consumer recording it). Counted by the isolate's own meters
// (GET /v1/admin/metrics): request, queue and object work together, the cron watchdog left
// out. After each phase it waits until the fan-out backlog is empty and the counters stop
// moving, so trailing consumer work is counted with the operation that caused it.
import { sleep } from "../lib/local.mjs";

const HUMAN = "Mozilla/5.0 (Windows NT 10.0) Thunderbird/115 (bench)";
const KINDS = ["request", "queue", "object", "other"];
const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const total = (m, f) => KINDS.reduce((s, k) => s + m.d1[k][f], 0);

/**
 * Counters once the work has settled: no fan-out pending and nothing written for three reads
 * in a row (1.5 s, longer than the queues' 1 s batch wait and the edge's 200 ms flush).
 * `reads`: how many meter reads that took (each costs `perRead` statements of its own).
 */
async function settled(metrics) {
  let last = await metrics();
  let reads = 1;
  let quiet = 0;
  for (let i = 0; i < 120 && quiet < 3; i++) {
    await sleep(500);
    const m = await metrics();
    reads++;
    const same =
      m.backlog.eventFanouts === 0 &&
      total(m, "rowsWritten") === total(last, "rowsWritten") &&
      m.d1.queue.queries === last.d1.queue.queries &&
      m.d1.object.queries === last.d1.object.queries;
    quiet = same ? quiet + 1 : 0;
    last = m;
  }
  return { m: last, reads };
}

async function measure(metrics, perRead, n, work) {
  const before = await settled(metrics);
  await work();
  const after = await settled(metrics);
  const reads = after.reads;
  return {
    n,
    queries: round((total(after.m, "queries") - total(before.m, "queries") - reads * perRead) / n),
    rowsWritten: round((total(after.m, "rowsWritten") - total(before.m, "rowsWritten")) / n),
  };
}

/** `tokens` from sentTokens: each of the first `n` pixels and links is hit once. */
export async function runCosts({ base, api, metrics, tokens, n }) {
  // What a read of the meters costs (its backlog count queries every shard), to subtract.
  const a = await metrics();
  const b = await metrics();
  const perRead = total(b, "queries") - total(a, "queries");
  const hit = (path) =>
    fetch(`${base}${path}`, { redirect: "manual", headers: { "user-agent": HUMAN } }).then((r) =>
      r.arrayBuffer(),
    );
  const event = await measure(metrics, perRead, n, async () => {
    for (let i = 0; i < n; i++) {
      const r = await api("POST", "/v1/events", {
        name: "page_view",
        email: `cost${i % 10}@bench.test`,
        data: { i },
      });
      if (r.status !== 202) {
        throw new Error(`event: ${r.status} ${r.text}`);
      }
    }
  });
  const k = Math.min(n, tokens.pixels.length);
  const open = await measure(metrics, perRead, k, async () => {
    for (const p of tokens.pixels.slice(0, k)) {
      await hit(p);
    }
  });
  const click = await measure(metrics, perRead, k, async () => {
    for (const p of tokens.clicks.slice(0, k)) {
      await hit(p);
    }
  });
  return { event, open, click };
}
