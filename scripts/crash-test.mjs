#!/usr/bin/env node
// npm run test:crash — 500 contacts through a three-email workflow with delays, sent over
// SMTP to a sink outside the product, while the server is killed with SIGKILL twice and
// restarted. Then: every enrollment completed, every email reached the sink, and every
// provider call beyond the first for a message is explained, by its message id, by a send of
// that same message in flight at a kill (claimed, not yet recorded as sent: SMTP has no
// idempotency key, so such a send can only be repeated or lost, and Nudge repeats rather than
// loses) — at most one repeat per kill that caught it in flight. Lost alarms and jobs are
// recovered by the product (watchdog, effect redelivery), not by this script.
//
// Settings: by default the fast ones below (redelivery after 10 s, a watchdog tick every
// 5 s); `--defaults` runs with exactly what `npm start` uses (no overrides, a tick every 10 s).
import { client, listAll, queryLocalD1, sleep, startLocal, tempState } from "./lib/local.mjs";
import { startSmtpSink } from "./lib/smtp-sink.mjs";

const args = process.argv.slice(2);
const defaults = args.includes("--defaults");
/** --json=<file>: also write the figures there (the bench reads them). */
const jsonOut = args.find((a) => a.startsWith("--json="))?.slice(7);
const N = Number(args.find((a) => a.startsWith("--n="))?.slice(4) ?? 500);
const PORT = Number(process.env.CRASH_PORT ?? 8791);
const TIMEOUT_MS = 10 * 60_000;
const settings = defaults
  ? { watchdogMs: 10_000, vars: {} }
  : { watchdogMs: 5_000, vars: { EFFECT_REDELIVERY_SECONDS: "10" } };
const stateDir = tempState("nudge-crash-");
const sink = await startSmtpSink();

const t0 = Date.now();
const start = () => startLocal({ port: PORT, stateDir, ...settings });
let server = await start();
let api = client(server.base, server.key);
console.log(
  `crash test (${defaults ? "default settings" : "fast settings: redelivery 10 s, watchdog every 5 s"}): ${N} contacts, state in ${stateDir}`,
);

const conn = await api("POST", "/v1/connections", {
  provider: "smtp",
  credentials: {
    host: "127.0.0.1",
    port: String(sink.port),
    startTls: "false",
    username: "crash",
    password: "crash-test",
  },
  from: "Crash <crash@example.test>",
});
if (conn.status !== 201) {
  throw new Error(`connection: ${conn.status} ${conn.text}`);
}
const step = (id, type, config) => ({ id, type, config });
const wf = await api("POST", "/v1/workflows", {
  name: "Crash test",
  status: "active",
  steps: [
    step("m1", "send_email", { subject: "One {{ contact.email }}", html: "<p>1</p>" }),
    step("d1", "delay", { amount: 2, unit: "seconds" }),
    step("m2", "send_email", { subject: "Two", html: "<p>2</p>" }),
    step("d2", "delay", { amount: 2, unit: "seconds" }),
    step("m3", "send_email", { subject: "Three", html: "<p>3</p>" }),
  ],
});
if (wf.status !== 201) {
  throw new Error(`workflow: ${wf.status} ${wf.text}`);
}
const workflowId = wf.json.id;

for (let i = 0; i < N; i += 100) {
  const contacts = Array.from({ length: Math.min(100, N - i) }, (_, j) => ({
    email: `crash${i + j}@example.test`,
  }));
  const res = await api(
    "POST",
    "/v1/enrollments/bulk",
    { workflowId, contacts },
    { "idempotency-key": `crash-${i}` },
  );
  if (res.status !== 201 || res.json.createdCount !== contacts.length) {
    throw new Error(`bulk ${i}: ${res.status} ${res.text.slice(0, 300)}`);
  }
}
console.log(`enrolled ${N} in ${Date.now() - t0} ms`);

/** What the database held when the process died (read from its file while it is down). */
async function inFlight() {
  const enrollments = await queryLocalD1(
    stateDir,
    "SELECT status, count(*) AS n FROM enrollments GROUP BY status",
  );
  const claimedIds = await queryLocalD1(
    stateDir,
    "SELECT id FROM messages WHERE status = 'queued' AND sending_at IS NOT NULL",
  );
  const [m] = await queryLocalD1(
    stateDir,
    "SELECT sum(status = 'sent') AS sent, sum(status = 'queued' AND sending_at IS NULL) AS queued, sum(status = 'queued' AND sending_at IS NOT NULL) AS claimed, sum(status NOT IN ('sent', 'queued')) AS other FROM messages",
  );
  return {
    enrollments: Object.fromEntries(enrollments.map((r) => [r.status, r.n])),
    messages: {
      sent: m.sent ?? 0,
      queued: m.queued ?? 0,
      claimed: m.claimed ?? 0,
      other: m.other ?? 0,
    },
    sinkReceived: sink.inbox.length,
    claimedIds: claimedIds.map((r) => r.id),
  };
}

let ambiguous = 0;
/** Message id → the number of kills that caught its send in flight. */
const inFlightAtKills = new Map();
for (const pause of [1500, 3000]) {
  await sleep(pause);
  await server.kill();
  const { claimedIds, ...at } = await inFlight();
  ambiguous += at.messages.claimed;
  for (const id of claimedIds) {
    inFlightAtKills.set(id, (inFlightAtKills.get(id) ?? 0) + 1);
  }
  console.log(`SIGKILL at +${Date.now() - t0} ms; in flight: ${JSON.stringify(at)}`);
  server = await start();
  api = client(server.base, server.key);
  console.log(`restarted at +${Date.now() - t0} ms`);
}
const restartedAt = Date.now();

let totals;
let messages = [];
for (;;) {
  const res = await api("GET", `/v1/workflows/${workflowId}/enrollments?limit=1`);
  totals = res.json?.stepFunnel?.totals;
  if (totals?.completed === N) {
    messages = await listAll(api, "/v1/messages");
    if (messages.filter((m) => m.status === "sent").length === 3 * N) {
      break;
    }
  }
  if (Date.now() - t0 > TIMEOUT_MS) {
    console.error(
      `timed out: ${JSON.stringify(totals)}, sent ${messages.filter((m) => m.status === "sent").length} of ${3 * N}`,
    );
    await server.stop();
    await sink.close();
    process.exit(1);
  }
  await sleep(1000);
}
const recoveredMs = Date.now() - restartedAt;
const lastSend = Math.max(...messages.map((m) => Date.parse(m.sentAt)));
await server.stop();
await sink.close();

const perStep = new Map();
for (const m of messages) {
  perStep.set(
    `${m.enrollmentId}:${m.stepId}`,
    (perStep.get(`${m.enrollmentId}:${m.stepId}`) ?? 0) + 1,
  );
}
const calls = new Map();
for (const r of sink.inbox) {
  calls.set(r.messageId, (calls.get(r.messageId) ?? 0) + 1);
}
const ours = new Set(messages.map((m) => m.id));
// A repeat is explained only by its own message's send in flight at a kill, once per such kill.
const unexplained = [...calls]
  .filter(([id, n]) => n - 1 > (inFlightAtKills.get(id) ?? 0))
  .map(
    ([id, n]) => `${id}: ${n} provider calls, in flight at ${inFlightAtKills.get(id) ?? 0} kills`,
  );
const figures = {
  settings: defaults ? "defaults" : "fast",
  contacts: N,
  completed: totals.completed,
  failed: totals.failed,
  messages: messages.length,
  providerCalls: sink.inbox.length,
  messagesDelivered: messages.filter((m) => calls.has(m.id)).length,
  rowsPerStepDuplicated: [...perStep.values()].filter((n) => n > 1).length,
  repeatedProviderCalls: [...calls.values()].reduce((n, c) => n + c - 1, 0),
  sendsInFlightAtKills: ambiguous,
  unexplainedRepeats: unexplained.length,
  strangers: [...calls.keys()].filter((id) => !ours.has(id)).length,
  recoveredMs,
  lastEmailAfterRestartMs: lastSend - restartedAt,
  totalMs: Date.now() - t0,
};
console.log(JSON.stringify(figures));
for (const u of unexplained.slice(0, 10)) {
  console.log(`  repeated, not in flight at a kill: ${u}`);
}

const ok =
  figures.completed === N &&
  figures.messages === 3 * N &&
  perStep.size === 3 * N &&
  figures.rowsPerStepDuplicated === 0 &&
  figures.messagesDelivered === 3 * N &&
  figures.strangers === 0 &&
  figures.unexplainedRepeats === 0;
if (jsonOut) {
  const { writeFileSync } = await import("node:fs");
  writeFileSync(jsonOut, `${JSON.stringify({ ...figures, passed: ok })}\n`);
}
console.log(`crash: ${ok ? 1 : 0} passed, ${ok ? 0 : 1} failed`);
process.exit(ok ? 0 : 1);
