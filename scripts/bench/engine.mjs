// Nudge's side of the engine race: N enrollments of the peers' shape — step, delay 1 s, step,
// step — created through POST /v1/enrollments/bulk, 100 at a time, one request after another
// (as the peers are spawned), and finished when the workflow's funnel counts N completed.
// `log` steps are the peers' D1 inserts; the `send_email` variant also waits until every email
// of the run is in GET /v1/messages as sent. D1 figures come from the server's own counters.
import { sleep } from "../lib/local.mjs";

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
    steps,
    d1RowsWrittenPerStep: steps ? round(rows / steps) : null,
    d1QueriesPerStep: steps ? round(queries / steps) : null,
    d1RowsWrittenPerCreate: accepted ? round(createRows / accepted) : null,
    d1QueriesPerCreate: accepted ? round(createQueries / accepted) : null,
  };
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
