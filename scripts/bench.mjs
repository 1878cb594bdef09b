#!/usr/bin/env node
import { readFileSync, writeFileSync } from "node:fs";
// npm run bench — starts the worker locally in a temporary state and measures, in one run:
//   1. HTTP: a bare route (GET /health), then the tracking pixel, the click redirect,
//      POST /v1/enrollments and POST /v1/events — requests/s, p50/p99, ratio to the bare route;
//   2. the engine: N contacts (default 2,000; --n=) through send_email → delay 1 s → send_email
//      into the outbox — enrollments/s accepted, steps/s, time to completion, D1 rows written
//      per step, duplicate emails (must be 0).
// D1 figures come from the server's own counters (GET /v1/admin/metrics): every statement
// and every row D1 reports written, in the enrollment objects and the queue consumers alike.
//
// Gates: no non-2xx answer and no transport error on any route, every enrollment completed,
// every email sent once; a full run also gates on the performance targets. The results are
// written to bench/results/latest.json (smoke.json for `--smoke`) marked passed or failed, and
// a full run rewrites the README's performance section from them, failed gates included.
import { availableParallelism, cpus } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { withBench } from "./lib/bench-report.mjs";
import { adminToken, client, listAll, sleep, startLocal, tempState } from "./lib/local.mjs";

const args = process.argv.slice(2);
const smoke = args.includes("--smoke");
const N = Number(args.find((a) => a.startsWith("--n="))?.slice(4) ?? (smoke ? 40 : 2000));
const DURATION = Number(
  args.find((a) => a.startsWith("--duration="))?.slice(11) ?? (smoke ? 2 : 10),
);
const CONNECTIONS = 10;
const PORT = Number(process.env.BENCH_PORT ?? 8792);
const TARGETS = { pixel: 0.9, click: 0.85 };
const root = join(import.meta.dirname, "..");

const stateDir = tempState("nudge-bench-");
const server = await startLocal({ port: PORT, stateDir, watchdogMs: 10_000 });
const api = client(server.base, server.key);
const admin = client(server.base, adminToken(stateDir));
const metrics = async () => {
  const res = await admin("GET", "/v1/admin/metrics");
  if (res.status !== 200) {
    throw new Error(`metrics: ${res.status} ${res.text}`);
  }
  return res.json;
};
const failures = [];
// A fresh key per load phase: the rate limit is per key, and a phase must not spend the next one's budget.
const freshAuth = async (name) => {
  const created = await api("POST", "/v1/api-keys", { name });
  return { authorization: `Bearer ${created.json.key}`, "content-type": "application/json" };
};

try {
  // Tracking links come from a real email in the outbox.
  const wf = await api("POST", "/v1/workflows", {
    name: "Bench links",
    status: "active",
    steps: [
      {
        type: "send_email",
        config: { subject: "Links", html: '<p><a href="https://example.com/landing">go</a></p>' },
      },
    ],
  });
  await api("POST", "/v1/enrollments", {
    workflowId: wf.json.id,
    contact: { email: "links@example.test" },
  });
  let html = "";
  for (let i = 0; i < 100 && !html; i++) {
    html = (await api("GET", "/v1/outbox?to=links@example.test")).json.data[0]?.html ?? "";
    if (!html) {
      await sleep(100);
    }
  }
  const pixel = new URL(/src="([^"]+\/t\/o\/[^"]+)"/.exec(html)[1]).pathname;
  const click = new URL(/href="([^"]+\/t\/c\/[^"]+)"/.exec(html)[1]).pathname;
  const manual = await api("POST", "/v1/workflows", {
    name: "Bench enroll",
    status: "active",
    steps: [{ type: "delay", config: { amount: 1, unit: "days" } }],
  });

  let seq = 0;
  const eventKeys = [];
  for (let i = 0; i < 4; i++) {
    eventKeys.push((await freshAuth(`bench events ${i}`)).authorization);
  }
  const routes = [
    { name: "GET /health (bare)", key: "bare", opts: { url: `${server.base}/health` } },
    {
      name: "GET /t/o/:token (pixel)",
      key: "pixel",
      opts: {
        url: `${server.base}${pixel}`,
        headers: { "user-agent": "Mozilla/5.0 (bench) Thunderbird" },
      },
    },
    {
      name: "GET /t/c/:token (click)",
      key: "click",
      opts: {
        url: `${server.base}${click}`,
        headers: { "user-agent": "Mozilla/5.0 (bench) Thunderbird" },
      },
    },
    {
      name: "POST /v1/enrollments",
      key: "enroll",
      opts: {
        url: `${server.base}/v1/enrollments`,
        method: "POST",
        headers: await freshAuth("bench enrollments"),
        requests: [
          {
            setupRequest: (req) => ({
              ...req,
              body: JSON.stringify({
                workflowId: manual.json.id,
                contact: { email: `bench${seq++}@example.test` },
              }),
            }),
          },
        ],
      },
    },
    {
      name: "POST /v1/events",
      key: "events",
      opts: {
        url: `${server.base}/v1/events`,
        method: "POST",
        headers: await freshAuth("bench events"),
        // Spread over four keys: this phase measures the route, not the per-key rate limit.
        requests: [
          {
            setupRequest: (req) => ({
              ...req,
              headers: { ...req.headers, authorization: eventKeys[seq % eventKeys.length] },
              body: JSON.stringify({ name: "bench_event", email: `ev${seq++ % 500}@example.test` }),
            }),
          },
        ],
      },
    },
  ];
  const http = {};
  for (const r of routes) {
    const result = await autocannon({ ...r.opts, connections: CONNECTIONS, duration: DURATION });
    const ok = result["2xx"] + result["3xx"];
    http[r.key] = {
      route: r.name,
      rps: Math.round((ok / DURATION) * 10) / 10,
      p50: result.latency.p50,
      p99: result.latency.p99,
      non2xx: result.non2xx - result["3xx"],
      errors: result.errors,
    };
    await sleep(500);
  }
  for (const k of Object.keys(http)) {
    http[k].ratio = Math.round((http[k].rps / http.bare.rps) * 100) / 100;
  }

  // Engine: N contacts, send_email → delay 1 s → send_email (with a key of its own).
  const engineKey = (await api("POST", "/v1/api-keys", { name: "bench engine" })).json.key;
  const eng = client(server.base, engineKey);
  const engineWf = await eng("POST", "/v1/workflows", {
    name: "Bench engine",
    status: "active",
    steps: [
      { id: "e1", type: "send_email", config: { subject: "First", html: "<p>1</p>" } },
      { id: "d", type: "delay", config: { amount: 1, unit: "seconds" } },
      { id: "e2", type: "send_email", config: { subject: "Second", html: "<p>2</p>" } },
    ],
  });
  const m0 = await metrics();
  const t0 = Date.now();
  const batches = [];
  for (let i = 0; i < N; i += 100) {
    batches.push(
      Array.from({ length: Math.min(100, N - i) }, (_, j) => ({
        email: `engine${i + j}@example.test`,
      })),
    );
  }
  let accepted = 0;
  for (let i = 0; i < batches.length; i += 4) {
    const results = await Promise.all(
      batches
        .slice(i, i + 4)
        .map((contacts) =>
          eng("POST", "/v1/enrollments/bulk", { workflowId: engineWf.json.id, contacts }),
        ),
    );
    for (const r of results) {
      accepted += r.json?.createdCount ?? 0;
    }
  }
  const acceptMs = Date.now() - t0;
  const m1 = await metrics();
  let completed = 0;
  const deadline = Date.now() + 20 * 60_000;
  while (completed < N && Date.now() < deadline) {
    const res = await eng("GET", `/v1/workflows/${engineWf.json.id}/enrollments?limit=1`);
    if (res.status !== 200) {
      throw new Error(`funnel: ${res.status} ${res.text}`);
    }
    completed = res.json.stepFunnel.totals.completed;
    if (completed < N) {
      await sleep(1000);
    }
  }
  const completeMs = Date.now() - t0;
  // Emails are sent by the queue consumer a moment after their step: wait for both sends of every contact.
  const sentDeadline = Date.now() + 5 * 60_000;
  for (;;) {
    const stats = (await eng("GET", `/v1/workflows/${engineWf.json.id}/stats`)).json;
    const sent = stats.steps.reduce((n, st) => n + (st.email?.sent ?? 0), 0);
    if (sent >= 2 * N || Date.now() > sentDeadline) {
      break;
    }
    await sleep(2000);
  }
  const messages = (await listAll(eng, "/v1/messages")).filter(
    (m) => m.stepId === "e1" || m.stepId === "e2",
  );
  const keys = new Map();
  for (const m of messages) {
    keys.set(`${m.enrollmentId}:${m.stepId}`, (keys.get(`${m.enrollmentId}:${m.stepId}`) ?? 0) + 1);
  }
  const outbox = await listAll(eng, "/v1/outbox");
  const perMessage = new Map();
  for (const o of outbox) {
    perMessage.set(o.messageId, (perMessage.get(o.messageId) ?? 0) + 1);
  }
  const duplicates =
    [...keys.values()].filter((n) => n > 1).length +
    [...perMessage.values()].filter((n) => n > 1).length;

  const m2 = await metrics();
  // Engine and consumers: the objects' work and the queue batches between the last create and the end.
  const steps = m2.engine.steps - m0.engine.steps;
  const d1 = (m, kinds, f) => kinds.reduce((n, k) => n + m.d1[k][f], 0);
  const engineRows =
    d1(m2, ["object", "queue"], "rowsWritten") - d1(m0, ["object", "queue"], "rowsWritten");
  const engineQueries =
    d1(m2, ["object", "queue"], "queries") - d1(m0, ["object", "queue"], "queries");
  const createRows = m1.d1.request.rowsWritten - m0.d1.request.rowsWritten;
  const engine = {
    shape: "send_email → delay 1 s → send_email",
    contacts: N,
    accepted,
    enrollmentsPerSec: Math.round((accepted / (acceptMs / 1000)) * 10) / 10,
    completed,
    secondsToComplete: Math.round(completeMs / 100) / 10,
    steps,
    stepsPerSec: Math.round((steps / (completeMs / 1000)) * 10) / 10,
    d1RowsWrittenPerStep: steps ? Math.round((engineRows / steps) * 100) / 100 : null,
    d1QueriesPerStep: steps ? Math.round((engineQueries / steps) * 100) / 100 : null,
    d1RowsWrittenPerCreate: accepted ? Math.round((createRows / accepted) * 100) / 100 : null,
    emailsSent: messages.filter((m) => m.status === "sent").length,
    duplicateEmails: duplicates,
  };

  for (const h of Object.values(http)) {
    if (h.non2xx > 0) {
      failures.push(`${h.route}: ${h.non2xx} non-2xx answers`);
    }
    if (h.errors > 0) {
      failures.push(`${h.route}: ${h.errors} transport errors`);
    }
  }
  if (accepted !== N) {
    failures.push(`accepted ${accepted} of ${N} enrollments`);
  }
  if (completed !== N) {
    failures.push(`completed ${completed} of ${N} enrollments`);
  }
  if (engine.emailsSent !== 2 * N) {
    failures.push(`sent ${engine.emailsSent} of ${2 * N} emails`);
  }
  if (duplicates !== 0) {
    failures.push(`${duplicates} duplicate emails`);
  }
  if (!smoke) {
    for (const [k, target] of Object.entries(TARGETS)) {
      if (!(http[k].ratio >= target)) {
        failures.push(`${k}: ${http[k].ratio}× the bare route, target ≥ ${target}×`);
      }
    }
  }
  for (const [k, target] of Object.entries(TARGETS)) {
    http[k].target = target;
  }

  const results = {
    at: new Date().toISOString(),
    machine: {
      cores: availableParallelism(),
      cpu: cpus()[0]?.model ?? "unknown",
      node: process.version,
      runtime: "local wrangler dev (workerd)",
    },
    smoke,
    passed: failures.length === 0,
    failures,
    durationSeconds: DURATION,
    connections: CONNECTIONS,
    http,
    engine,
    targets: TARGETS,
  };
  const out = join(root, "bench", "results", smoke ? "smoke.json" : "latest.json");
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  if (!smoke) {
    const readme = join(root, "README.md");
    writeFileSync(readme, withBench(readFileSync(readme, "utf8"), results));
  }

  const rows2 = Object.values(http).map(
    (h) => `| ${h.route} | ${h.rps} | ${h.p50} | ${h.p99} | ${h.ratio} | ${h.non2xx} |`,
  );
  console.log(
    "\n| route | req/s | p50 ms | p99 ms | × bare | non-2xx |\n| --- | --- | --- | --- | --- | --- |",
  );
  console.log(rows2.join("\n"));
  console.log(
    `\ntargets: pixel ≥ ${TARGETS.pixel}× bare (got ${http.pixel.ratio}), click ≥ ${TARGETS.click}× bare (got ${http.click.ratio})${smoke ? " (not gated in a smoke run)" : ""}`,
  );
  console.log("\n| engine | value |\n| --- | --- |");
  for (const [k, v] of Object.entries(engine)) {
    console.log(`| ${k} | ${v} |`);
  }
  console.log(`\nwrote ${out}${smoke ? "" : " and the README's performance section"}`);
  for (const f of failures) {
    console.log(`  gate failed: ${f}`);
  }
  console.log(`bench: ${results.passed ? 1 : 0} passed, ${results.passed ? 0 : 1} failed`);
  process.exitCode = results.passed ? 0 : 1;
} finally {
  await server.stop();
}
