// Nudge's side of the engine race: N enrollments of the peers' shape — step, delay 1 s, step,
// step — created through POST /v1/enrollments/bulk, 100 at a time, one request after another
// (as the peers are spawned), and finished when the workflow's funnel counts N completed.
// `log` steps are the peers' D1 inserts; the `send_email` variant also waits until every email
// of the run is in GET /v1/messages as sent. D1 figures come from the server's own counters.
import { listAll, sleep } from "../lib/local.mjs";

export const SHAPES = {
  log: [
    { id: "s1", type: "log", config: { message: "step" } },
    { id: "d", type: "delay", config: { amount: 1, unit: "seconds" } },
    { id: "s2", type: "log", config: { message: "step" } },
    { id: "s3", type: "log", config: { message: "done" } },
  ],
  send_email: [
    { id: "s1", type: "send_email", config: { subject: "One", html: "<p>1</p>" } },
    { id: "d", type: "delay", config: { amount: 1, unit: "seconds" } },
    { id: "s2", type: "send_email", config: { subject: "Two", html: "<p>2</p>" } },
    { id: "s3", type: "send_email", config: { subject: "Three", html: "<p>3</p>" } },
  ],
};

const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** Runs the shape; returns seconds to create and to finish, and D1 work per executed step. */
export async function runNudge(api, metrics, { n, shape = "log", tag = "" }) {
  const wf = await api("POST", "/v1/workflows", {
    name: `Bench ${shape} ${tag}`.trim(),
    status: "active",
    steps: SHAPES[shape],
  });
  if (wf.status !== 201) {
    throw new Error(`workflow: ${wf.status} ${wf.text}`);
  }
  const m0 = await metrics();
  const t0 = performance.now();
  let accepted = 0;
  for (let i = 0; i < n; i += 100) {
    const contacts = Array.from({ length: Math.min(100, n - i) }, (_, j) => ({
      email: `${shape}${tag}-${i + j}@bench.test`,
    }));
    const res = await api("POST", "/v1/enrollments/bulk", { workflowId: wf.json.id, contacts });
    if (res.status !== 201) {
      throw new Error(`bulk: ${res.status} ${res.text}`);
    }
    accepted += res.json.createdCount;
  }
  const createdS = (performance.now() - t0) / 1000;
  const m1 = await metrics();
  let completed = 0;
  for (;;) {
    const res = await api("GET", `/v1/workflows/${wf.json.id}/enrollments?limit=1`);
    if (res.status !== 200) {
      throw new Error(`funnel: ${res.status} ${res.text}`);
    }
    completed = res.json.stepFunnel.totals.completed;
    if (completed >= n || performance.now() - t0 > 20 * 60_000) {
      break;
    }
    await sleep(100);
  }
  let finishS = (performance.now() - t0) / 1000;
  let emailsSent = null;
  let emailProblems = null;
  if (shape === "send_email") {
    for (;;) {
      const stats = (await api("GET", `/v1/workflows/${wf.json.id}/stats`)).json;
      emailsSent = stats.steps.reduce((s, st) => s + (st.email?.sent ?? 0), 0);
      if (emailsSent >= 3 * n || performance.now() - t0 > 20 * 60_000) {
        break;
      }
      await sleep(100);
    }
    finishS = (performance.now() - t0) / 1000;
    emailProblems = await eachEmailOnce(api, wf.json.id, SHAPES[shape]);
  }
  // Let trailing consumer work (confirmations, mirrors) land before reading the counters.
  await sleep(2000);
  const m2 = await metrics();
  const steps = m2.engine.steps - m0.engine.steps;
  const sum = (m, kinds, f) => kinds.reduce((s, k) => s + m.d1[k][f], 0);
  const rows =
    sum(m2, ["object", "queue"], "rowsWritten") - sum(m0, ["object", "queue"], "rowsWritten");
  const queries = sum(m2, ["object", "queue"], "queries") - sum(m0, ["object", "queue"], "queries");
  const createRows = m1.d1.request.rowsWritten - m0.d1.request.rowsWritten;
  const createQueries = m1.d1.request.queries - m0.d1.request.queries;
  return {
    shape,
    n,
    accepted,
    completed,
    createdS: round(createdS),
    finishS: round(finishS),
    emailsSent,
    emailProblems,
    steps,
    d1RowsWrittenPerStep: steps ? round(rows / steps) : null,
    d1QueriesPerStep: steps ? round(queries / steps) : null,
    d1RowsWrittenPerCreate: accepted ? round(createRows / accepted) : null,
    d1QueriesPerCreate: accepted ? round(createQueries / accepted) : null,
  };
}

/**
 * Every email of the run, by message id: each enrollment has exactly one message per
 * send_email step, each message is sent and captured in the outbox exactly once, and the
 * outbox holds nothing else. A count cannot tell one email sent twice and another never
 * sent from every email sent once; this can. The org is the run's own, so its lists are the run's.
 */
async function eachEmailOnce(api, workflowId, steps) {
  const sendSteps = steps.filter((s) => s.type === "send_email").map((s) => s.id);
  const enrollments = await listAll(api, `/v1/workflows/${workflowId}/enrollments`);
  const messages = await listAll(api, "/v1/messages");
  const outbox = await listAll(api, "/v1/outbox");
  const problems = [];
  const perStep = new Map();
  for (const m of messages) {
    const k = `${m.enrollmentId}:${m.stepId}`;
    perStep.set(k, [...(perStep.get(k) ?? []), m.id]);
  }
  for (const e of enrollments) {
    for (const step of sendSteps) {
      const ids = perStep.get(`${e.id}:${step}`) ?? [];
      if (ids.length !== 1) {
        problems.push(
          `enrollment ${e.id} step ${step}: ${ids.length} messages (${ids.join(", ")})`,
        );
      }
    }
  }
  const captures = new Map();
  for (const o of outbox) {
    captures.set(o.messageId, (captures.get(o.messageId) ?? 0) + 1);
  }
  const ours = new Set(messages.map((m) => m.id));
  for (const m of messages) {
    if (m.status !== "sent" || captures.get(m.id) !== 1) {
      problems.push(`message ${m.id}: ${m.status}, sent ${captures.get(m.id) ?? 0} times`);
    }
  }
  for (const id of captures.keys()) {
    if (!ours.has(id)) {
      problems.push(`outbox: an email of no message of the run (${id})`);
    }
  }
  return problems;
}

/** POST /v1/enrollments with a new contact each, one after another: latency p50 and p99. */
export async function singleCreates(api, n) {
  const wf = await api("POST", "/v1/workflows", {
    name: "Bench single",
    status: "active",
    steps: SHAPES.log,
  });
  const ms = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const res = await api("POST", "/v1/enrollments", {
      workflowId: wf.json.id,
      contact: { email: `single${i}@bench.test` },
    });
    ms.push(performance.now() - t);
    if (res.status !== 201) {
      throw new Error(`single create: ${res.status} ${res.text}`);
    }
  }
  ms.sort((a, b) => a - b);
  return { n, p50: round(ms[Math.floor(n / 2)]), p99: round(ms[Math.floor(n * 0.99)]) };
}
