#!/usr/bin/env node
import { spawnSync } from "node:child_process";
// npm run bench — the performance figures of issue #14, measured from outside on a local
// `wrangler dev`, each phase on a fresh state:
//   engine   N enrollments of step → delay 1 s → step → step through bulk (log steps; then
//            send_email steps into the outbox): seconds to create and to finish, D1 rows
//            written and statements per executed step, the p50 of single creates
//   edge     GET /health, the pixel and the click at 32 and 10 connections, spread over the
//            tokens of 1,000 sent messages; only served answers (GIF, redirect) count
//   analytics the p50 of reading 365 days of one workflow's daily metrics against 1 day
//   events   24 tenants' clients, 300 waiting enrollments, 3,300 single events, one batch of
//            1,000: accept rate against the bare route, time until everything is fanned out
//   costs    D1 statements and rows per single event, first open and first click (with the
//            engine's per-step figures, the inputs of docs/scale.md's capacity model)
//   keys     seconds until a key revoked behind the isolate's back is refused (the cache bound)
//   shards   100 orgs with the same small workload on 4 shards: rows per shard, their spread
// `--peers` adds the peers of ../shared/peers run the same way in the same sitting — the bare
// Durable Object loop (the floor) and Cloudflare Workflows — so the engine figures become
// ratios, the growth run (5,000 enrollments, Nudge and the loop), and the crash test.
// `--smoke` (CI) runs small sizes and gates on correctness only.
//
// Results: bench/results/latest.json (smoke.json for --smoke), with every target and whether
// it was met; a full run rewrites the README's performance section and the capacity table of
// docs/scale.md from them.
import { readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { runAnalytics } from "./bench/analytics.mjs";
import { runCosts } from "./bench/costs.mjs";
import { runDashboard } from "./bench/dashboard.mjs";
import { runEdge, sentTokens } from "./bench/edge.mjs";
import { runNudge, singleCreates } from "./bench/engine.mjs";
import { runEvents } from "./bench/events.mjs";
import { runKeyRevocation } from "./bench/keys.mjs";
import { runPeer, singleStarts, startPeer } from "./bench/peers.mjs";
import { runShardBalance } from "./bench/shards.mjs";
import { withBench } from "./lib/bench-report.mjs";
import { withCapacity } from "./lib/capacity-report.mjs";
import { adminToken, client, startLocal, tempState } from "./lib/local.mjs";

const args = process.argv.slice(2);
const smoke = args.includes("--smoke");
const peers = args.includes("--peers");
const arg = (name, dflt) =>
  Number(args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? dflt);
const N = arg("n", smoke ? 40 : 1000);
const GROWTH_N = arg("growth", 5000);
const DURATION = arg("duration", smoke ? 2 : 10);
const TOKENS = arg("tokens", smoke ? 50 : 1000);
const PORT = Number(process.env.BENCH_PORT ?? 8792);
const root = join(import.meta.dirname, "..");
const round = (x, d = 2) => (x == null ? null : Math.round(x * 10 ** d) / 10 ** d);

export const TARGETS = {
  "engine.ratioToFloor": { max: 1.3, what: "log run all finished, × the bare DO loop" },
  "engine.ratioToWorkflows": { max: 0.65, what: "log run all finished, × Cloudflare Workflows" },
  "engine.emailRatioToFloor": { max: 1.8, what: "send_email run all finished, × the bare DO loop" },
  "create.ratioToFloor": { min: 0.5, what: "bulk creation rate, × the bare loop's" },
  "create.singleP50RatioToFloor": { max: 3, what: "single create p50, × one bare DO start" },
  "d1.rowsWrittenPerStep": { max: 2, what: "D1 rows written per executed step (log run)" },
  "d1.rowsWrittenPerEmailStep": {
    max: 8,
    what: "D1 rows written per executed step of the send_email run (every email sent, outbox)",
  },
  "edge.pixel.ratio": { min: 0.9, what: "pixel req/s × GET /health, 32 connections" },
  "edge.click.ratio": { min: 0.85, what: "click req/s × GET /health, 32 connections" },
  "edge.pixel.ratio10": { min: 0.9, what: "pixel, 10 connections" },
  "edge.click.ratio10": { min: 0.85, what: "click, 10 connections" },
  "edge.pixel.p99Ratio": { max: 2, what: "pixel p99 × the bare route's, 32 connections" },
  "edge.click.p99Ratio": { max: 2, what: "click p99 × the bare route's, 32 connections" },
  "events.acceptRatio": { min: 0.5, what: "single events accepted per second × GET /health" },
  "events.batch1000S": { max: 1, what: "seconds to accept one batch of 1,000 events" },
  "events.fanoutS": { max: 10, what: "seconds from the last event until all are fanned out" },
  "analytics.yearToDayRatio": {
    max: 1.5,
    what: "p50 of reading 365 days of a workflow's daily metrics ÷ reading 1 day",
  },
  "dashboard.firstLoadKiB": { max: 150, what: "the dashboard's JavaScript + CSS, gzipped (KiB)" },
  "dashboard.maxCallsPerPage": { max: 3, what: "API calls of the main page that makes most" },
  "crash.recoveryS": { max: 30, what: "seconds from the restart until every due email was sent" },
  "growth.nudgeVsLoop": {
    max: 1,
    what: "Nudge's growth (5,000 vs 1,000, per enrollment) ÷ the loop's",
  },
  "keys.revocationS": {
    max: 10,
    what: "seconds until a key revoked behind an isolate's back is refused by it",
  },
  "shards.balance": {
    max: 0.2,
    what: "rows per shard after 100 orgs on 4 shards, largest deviation from the mean",
  },
};

const get = (o, path) => path.split(".").reduce((x, k) => x?.[k], o);

async function withNudge(fn) {
  const stateDir = tempState("nudge-bench-");
  const server = await startLocal({ port: PORT, stateDir, watchdogMs: 10_000 });
  const admin = client(server.base, adminToken(stateDir));
  const metrics = async () => (await admin("GET", "/v1/admin/metrics")).json;
  const org = async (name) => {
    const o = (await admin("POST", "/v1/admin/orgs", { name })).json;
    return client(server.base, o.apiKey.key);
  };
  try {
    return await fn({ base: server.base, admin, metrics, org, stateDir });
  } finally {
    await server.stop();
  }
}

async function withPeer(name, fn) {
  const peer = await startPeer(name, PORT + 10);
  try {
    return await fn(peer);
  } finally {
    await peer.stop();
  }
}

const results = {
  at: new Date().toISOString(),
  machine: {
    cores: availableParallelism(),
    cpu: cpus()[0]?.model ?? "unknown",
    node: process.version,
    runtime: "local wrangler dev (workerd); queue consumers share the same process and cores",
  },
  smoke,
  peers,
  n: N,
};
const log = (phase, value) => console.log(`${phase}: ${JSON.stringify(value)}`);

// ---- the floor and the alternative (peers) ----------------------------------------------
if (peers) {
  results.doLoop = await withPeer("do-loop", async (p) => ({
    ...(await runPeer(p.base, N)),
    single: await singleStarts(p.base, smoke ? 20 : 200),
  }));
  log("do-loop", results.doLoop);
  results.workflows = await withPeer("cf-workflows", (p) => runPeer(p.base, N));
  log("cf-workflows", results.workflows);
}

// ---- Nudge's engine -----------------------------------------------------------------------
results.nudge = await withNudge(async ({ metrics, org }) => {
  const api = await org("engine");
  return {
    log: await runNudge(api, metrics, { n: N, shape: "log" }),
    single: await singleCreates(await org("single"), smoke ? 20 : 200),
  };
});
log("nudge log", results.nudge.log);
results.nudgeEmail = await withNudge(async ({ metrics, org }) =>
  runNudge(await org("email"), metrics, { n: N, shape: "send_email" }),
);
log("nudge send_email", results.nudgeEmail);

// ---- growth: 5,000 against 1,000, Nudge and the loop ---------------------------------------
if (peers) {
  const loop = await withPeer("do-loop", (p) => runPeer(p.base, GROWTH_N));
  const nudge = await withNudge(async ({ metrics, org }) =>
    runNudge(await org("growth"), metrics, { n: GROWTH_N, shape: "log" }),
  );
  const perRun = (big, small) => big.finishS / GROWTH_N / (small.finishS / N);
  results.growth = {
    n: GROWTH_N,
    nudgeFinishS: nudge.finishS,
    doLoopFinishS: loop.finishS,
    nudgeFactor: round(perRun(nudge, results.nudge.log)),
    doLoopFactor: round(perRun(loop, results.doLoop)),
  };
  results.growth.nudgeVsLoop = round(results.growth.nudgeFactor / results.growth.doLoopFactor);
  log("growth", results.growth);
}

// ---- the edge -----------------------------------------------------------------------------
results.edgeRuns = await withNudge(async ({ base, org, metrics }) => {
  const api = await org("edge");
  const tokens = await sentTokens(api, TOKENS);
  // D1 work per event, first open and first click (docs/scale.md), before the load reopens them.
  results.costs = await runCosts({ base, api, metrics, tokens, n: smoke ? 20 : 200 });
  return runEdge(base, tokens, { connections: smoke ? [10] : [32, 10], duration: DURATION });
});
log("costs", results.costs);
log("edge", results.edgeRuns);

// ---- API keys: how long a revoked key keeps working in another isolate --------------------
results.keys = await withNudge(async ({ admin, stateDir, base }) => {
  const o = (await admin("POST", "/v1/admin/orgs", { name: "keys" })).json;
  const key = o.apiKey.key;
  return runKeyRevocation({ api: client(base, key), key, stateDir });
});
log("keys", results.keys);

// ---- shard balance: orgs on 4 shards -------------------------------------------------------
results.shards = await runShardBalance({
  port: PORT,
  stateDir: tempState("nudge-bench-"),
  orgs: smoke ? 20 : 100,
  shards: 4,
});
log("shards", results.shards);

// ---- events -------------------------------------------------------------------------------
results.eventRuns = await withNudge(async ({ base, admin, metrics }) =>
  runEvents(base, admin, metrics, smoke ? { clients: 4, waitingN: 20, noise: 80 } : {}),
);
log("events", results.eventRuns);

// ---- analytics reads ----------------------------------------------------------------------
results.analytics = await runAnalytics({
  port: PORT,
  stateDir: tempState("nudge-bench-"),
  n: smoke ? 20 : 200,
  reads: smoke ? 10 : 40,
});
log("analytics", results.analytics);

// ---- the dashboard --------------------------------------------------------------------------
results.dashboard = await withNudge(async ({ base, admin }) => {
  const key = (await admin("POST", "/v1/admin/orgs", { name: "dashboard" })).json.apiKey.key;
  return runDashboard({ base, api: client(base, key), key });
});
log("dashboard", results.dashboard);

// ---- crash recovery -----------------------------------------------------------------------
if (peers && !args.includes("--no-crash")) {
  const out = join(tmpdir(), `nudge-crash-${process.pid}.json`);
  const r = spawnSync(
    process.execPath,
    [join(root, "scripts", "crash-test.mjs"), "--defaults", `--json=${out}`],
    {
      cwd: root,
      stdio: "inherit",
    },
  );
  const crash = JSON.parse(readFileSync(out, "utf8"));
  results.crashRun = { ...crash, exitCode: r.status };
}

// ---- figures, ratios, targets -------------------------------------------------------------
const edge32 = results.edgeRuns[32] ?? results.edgeRuns[10];
const edge10 = results.edgeRuns[10];
results.engine = {
  shape: "log → delay 1 s → log → log",
  n: N,
  nudgeCreatedS: results.nudge.log.createdS,
  nudgeFinishS: results.nudge.log.finishS,
  nudgeEmailFinishS: results.nudgeEmail.finishS,
  doLoopCreatedS: results.doLoop?.createdS ?? null,
  doLoopFinishS: results.doLoop?.finishS ?? null,
  workflowsFinishS: results.workflows?.finishS ?? null,
  ratioToFloor: peers ? round(results.nudge.log.finishS / results.doLoop.finishS) : null,
  ratioToWorkflows: peers ? round(results.nudge.log.finishS / results.workflows.finishS) : null,
  emailRatioToFloor: peers ? round(results.nudgeEmail.finishS / results.doLoop.finishS) : null,
};
results.create = {
  nudgePerSec: round(N / results.nudge.log.createdS, 1),
  doLoopPerSec: peers ? round(N / results.doLoop.createdS, 1) : null,
  ratioToFloor: peers ? round(results.doLoop.createdS / results.nudge.log.createdS) : null,
  singleP50Ms: results.nudge.single.p50,
  doLoopSingleP50Ms: results.doLoop?.single.p50 ?? null,
  singleP50RatioToFloor: peers
    ? round(results.nudge.single.p50 / Math.max(results.doLoop.single.p50, 0.1))
    : null,
};
results.d1 = {
  rowsWrittenPerStep: results.nudge.log.d1RowsWrittenPerStep,
  queriesPerStep: results.nudge.log.d1QueriesPerStep,
  rowsWrittenPerCreate: results.nudge.log.d1RowsWrittenPerCreate,
  queriesPerCreate: results.nudge.log.d1QueriesPerCreate,
  // The send_email run's rows per executed step (its steps: three emails and a delay) — the
  // figure issue 31 starts from (26.5), as the target reads it.
  rowsWrittenPerEmailStep: results.nudgeEmail.d1RowsWrittenPerStep,
  emailRun: {
    rowsWrittenPerStep: results.nudgeEmail.d1RowsWrittenPerStep,
    queriesPerStep: results.nudgeEmail.d1QueriesPerStep,
  },
};
results.edge = {
  tokens: TOKENS,
  durationSeconds: DURATION,
  bare: { rps: edge32.bare.rps, p99: edge32.bare.p99 },
  pixel: {
    ratio: edge32.pixel.ratio,
    ratio10: edge10?.pixel.ratio ?? null,
    p99Ratio: edge32.pixel.p99Ratio,
    rps: edge32.pixel.rps,
    notServed: edge32.pixel.notServed,
  },
  click: {
    ratio: edge32.click.ratio,
    ratio10: edge10?.click.ratio ?? null,
    p99Ratio: edge32.click.p99Ratio,
    rps: edge32.click.rps,
    notServed: edge32.click.notServed,
  },
};
results.events = results.eventRuns;
results.crash = results.crashRun
  ? {
      recoveryS: round(results.crashRun.lastEmailAfterRestartMs / 1000),
      allCompletedS: round(results.crashRun.recoveredMs / 1000),
      repeatedProviderCalls: results.crashRun.repeatedProviderCalls,
      passed: results.crashRun.passed,
    }
  : null;

// Correctness gates (every run) and targets (a full --peers run).
const failures = [];
if (results.nudge.log.completed !== N) {
  failures.push(`log run: ${results.nudge.log.completed} of ${N} completed`);
}
if (results.nudgeEmail.completed !== N) {
  failures.push(`email run: ${results.nudgeEmail.completed} of ${N} completed`);
}
if (results.nudgeEmail.emailsSent !== 3 * N) {
  failures.push(`email run: ${results.nudgeEmail.emailsSent} of ${3 * N} emails sent`);
}
if (results.nudgeEmail.emailProblems?.length !== 0) {
  const p = results.nudgeEmail.emailProblems ?? ["never checked"];
  failures.push(
    `email run, not each email sent exactly once: ${p.length} problems (${p.slice(0, 5).join("; ")})`,
  );
}
for (const [c, run] of Object.entries(results.edgeRuns)) {
  for (const k of ["bare", "pixel", "click"]) {
    if (run[k].errors > 0) {
      failures.push(`edge ${k} at ${c}: ${run[k].errors} transport errors`);
    }
    // An answer other than the GIF, the redirect or the bare 200 is an open or click not served.
    if (run[k].notServed !== 0) {
      failures.push(`edge ${k} at ${c}: ${run[k].notServed} requests not served`);
    }
  }
}
if (results.events.accepted !== results.events.events) {
  failures.push(`events: ${results.events.accepted} of ${results.events.events} accepted`);
}
if (results.events.resumed !== results.events.waiting) {
  failures.push(
    `events: ${results.events.resumed} of ${results.events.waiting} waiting enrollments resumed`,
  );
}
if (results.events.batchAccepted !== 1000) {
  failures.push(`events batch: ${results.events.batchAccepted} of 1000 accepted`);
}
if (!results.analytics.correct) {
  failures.push(
    `analytics: ${results.analytics.yearPoints} points, ${results.analytics.yearSent} sent over the year (expected 365 and 365 × ${results.analytics.sentToday})`,
  );
}
if (results.keys.revocationS == null) {
  failures.push(
    `keys: a revoked key was still accepted after 60 s (${results.keys.acceptedAfter} times)`,
  );
}
if (results.shards.rows.length !== results.shards.shards) {
  failures.push(
    `shards: ${results.shards.rows.length} shard files, expected ${results.shards.shards}`,
  );
}
if (results.crash && !results.crash.passed) {
  failures.push("crash test failed");
}
results.targets = {};
for (const [key, t] of Object.entries(TARGETS)) {
  const value = get(results, key);
  const met = value == null ? null : t.max !== undefined ? value <= t.max : value >= t.min;
  results.targets[key] = { ...t, value: value ?? null, met };
  if (!smoke && met === false) {
    failures.push(
      `${key} = ${value} (target ${t.max !== undefined ? `≤ ${t.max}` : `≥ ${t.min}`})`,
    );
  }
}
results.passed = failures.length === 0;
results.failures = failures;

const out = join(root, "bench", "results", smoke ? "smoke.json" : "latest.json");
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
if (!smoke) {
  const readme = join(root, "README.md");
  writeFileSync(readme, withBench(readFileSync(readme, "utf8"), results));
  // The capacity model's table is computed from the same results (docs/scale.md).
  const scale = join(root, "docs", "scale.md");
  writeFileSync(scale, withCapacity(readFileSync(scale, "utf8"), results));
}
console.log("\n| target | value | met |\n| --- | --- | --- |");
for (const [key, t] of Object.entries(results.targets)) {
  console.log(
    `| ${key} (${t.max !== undefined ? `≤ ${t.max}` : `≥ ${t.min}`}) | ${t.value ?? "—"} | ${t.met === null ? "—" : t.met ? "yes" : "NO"} |`,
  );
}
console.log(
  `\nwrote ${out}${smoke ? "" : ", the README's performance section and docs/scale.md's capacity table"}`,
);
for (const f of failures) {
  console.log(`  gate failed: ${f}`);
}
console.log(`bench: ${results.passed ? 1 : 0} passed, ${results.passed ? 0 : 1} failed`);
process.exitCode = results.passed ? 0 : 1;
