#!/usr/bin/env node
// npm run test:crash — 500 contacts through a three-email workflow with delays while the
// server is killed with SIGKILL twice and restarted; then every enrollment must complete and
// each (enrollment, email step) must have produced exactly one outbox message. Lost alarms
// and jobs are recovered by the product (watchdog, effect redelivery), not by this script.
import { client, listAll, sleep, startLocal, tempState } from "./lib/local.mjs";

const N = Number(process.argv.find((a) => a.startsWith("--n="))?.slice(4) ?? 500);
const PORT = Number(process.env.CRASH_PORT ?? 8791);
const TIMEOUT_MS = 8 * 60_000;
const stateDir = tempState("nudge-crash-");
// Short redelivery so a lost job is re-sent within seconds.
const vars = { EFFECT_REDELIVERY_SECONDS: "10" };

const t0 = Date.now();
let server = await startLocal({ port: PORT, stateDir, vars });
let api = client(server.base, server.key);
console.log(`crash test: ${N} contacts, state in ${stateDir}`);

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
if (wf.status !== 201) throw new Error(`workflow: ${wf.status} ${wf.text}`);
const workflowId = wf.json.id;

for (let i = 0; i < N; i += 100) {
  const contacts = Array.from({ length: Math.min(100, N - i) }, (_, j) => ({ email: `crash${i + j}@example.test` }));
  const res = await api("POST", "/v1/enrollments/bulk", { workflowId, contacts }, { "idempotency-key": `crash-${i}` });
  if (res.status !== 201 || res.json.createdCount !== contacts.length) throw new Error(`bulk ${i}: ${res.status} ${res.text.slice(0, 300)}`);
}
console.log(`enrolled ${N} in ${Date.now() - t0} ms`);

for (const pause of [1500, 3000]) {
  await sleep(pause);
  await server.kill();
  console.log(`SIGKILL at +${Date.now() - t0} ms`);
  server = await startLocal({ port: PORT, stateDir, vars });
  api = client(server.base, server.key);
  console.log(`restarted at +${Date.now() - t0} ms`);
}
const restartedAt = Date.now();

let totals;
for (;;) {
  const res = await api("GET", `/v1/workflows/${workflowId}/enrollments?limit=1`);
  totals = res.json?.stepFunnel?.totals;
  const messages = await api("GET", "/v1/messages?limit=1");
  if (totals?.completed === N) {
    const sent = (await listAll(api, "/v1/messages")).filter((m) => m.status === "sent").length;
    if (sent === 3 * N) break;
  }
  if (Date.now() - t0 > TIMEOUT_MS) {
    console.error(`timed out: ${JSON.stringify(totals)}, last messages page: ${messages.status}`);
    await server.stop();
    process.exit(1);
  }
  await sleep(2000);
}
const recoveredMs = Date.now() - restartedAt;

const messages = await listAll(api, "/v1/messages");
const outbox = await listAll(api, "/v1/outbox");
const perStep = new Map();
for (const m of messages) perStep.set(`${m.enrollmentId}:${m.stepId}`, (perStep.get(`${m.enrollmentId}:${m.stepId}`) ?? 0) + 1);
const perMessage = new Map();
for (const o of outbox) perMessage.set(o.messageId, (perMessage.get(o.messageId) ?? 0) + 1);
const duplicates = [...perStep.values()].filter((n) => n > 1).length + [...perMessage.values()].filter((n) => n > 1).length;
const missing = 3 * N - perStep.size + messages.filter((m) => !perMessage.has(m.id)).length;
await server.stop();

const figures = {
  contacts: N,
  completed: totals.completed,
  failed: totals.failed,
  messages: messages.length,
  outbox: outbox.length,
  duplicates,
  missing,
  recoveredMs,
  totalMs: Date.now() - t0,
};
console.log(JSON.stringify(figures));
const ok = totals.completed === N && outbox.length === 3 * N && duplicates === 0 && missing === 0;
console.log(`crash: ${ok ? 1 : 0} passed, ${ok ? 0 : 1} failed`);
process.exit(ok ? 0 : 1);
