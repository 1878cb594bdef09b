// Analytics reads: the time to read 365 days of daily metrics for one workflow against 1 day.
// A workflow runs for real (enrollments, emails into the outbox, opens), so today's rollups are
// what the product wrote; the server is stopped, those rows are copied to the 364 days before
// (straight into the local D1 file — a year of traffic cannot be waited for), the server is
// restarted on the same state, and both reads are timed from outside, sequentially.
import { adminToken, client, localShardFile, sleep, startLocal } from "../lib/local.mjs";

const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const p50 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function seedYear(stateDir, orgId) {
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(await localShardFile(stateDir));
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    const seq = "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 364)";
    const rollups = db
      .prepare(
        `${seq} INSERT OR IGNORE INTO metric_rollups
         SELECT org_id, zone, date(day, '-' || n || ' days'), workflow_id, step_id, channel,
                connection_id, category, variant, metric, value
         FROM metric_rollups, seq WHERE org_id = ?`,
      )
      .run(orgId);
    const totals = db
      .prepare(
        `${seq} INSERT OR IGNORE INTO metric_totals
         SELECT org_id, zone, workflow_id, metric, date(day, '-' || n || ' days'), value
         FROM metric_totals, seq WHERE org_id = ?`,
      )
      .run(orgId);
    return Number(rollups.changes) + Number(totals.changes);
  } finally {
    db.close();
  }
}

export async function runAnalytics({ port, stateDir, n = 200, reads = 40 }) {
  let server = await startLocal({ port, stateDir, watchdogMs: 10_000 });
  const admin = client(server.base, adminToken(stateDir));
  const org = (await admin("POST", "/v1/admin/orgs", { name: "analytics" })).json;
  const api = client(server.base, org.apiKey.key);
  const wf = (
    await api("POST", "/v1/workflows", {
      name: "Analytics",
      status: "active",
      steps: [
        {
          id: "s",
          type: "split",
          config: {
            variants: [
              { key: "a", weight: 1 },
              { key: "b", weight: 1 },
            ],
          },
        },
        { id: "a", type: "send_email", config: { subject: "A", html: "<p>a</p>" } },
        { id: "b", type: "send_email", config: { subject: "B", html: "<p>b</p>" } },
      ],
      transitions: [
        { from: "s", to: "a", on: "a" },
        { from: "s", to: "b", on: "b" },
      ],
    })
  ).json;
  for (let i = 0; i < n; i += 100) {
    await api("POST", "/v1/enrollments/bulk", {
      workflowId: wf.id,
      contacts: Array.from({ length: Math.min(100, n - i) }, (_, j) => ({
        email: `a${i + j}@bench.test`,
      })),
    });
  }
  // Wait until every email is counted.
  const started = Date.now();
  let sent = 0;
  while (Date.now() - started < 120_000) {
    const m = await api(
      "GET",
      `/v1/analytics/metrics?workflowId=${wf.id}&metrics=sent&timezone=UTC`,
    );
    sent = m.json.totals?.sent ?? 0;
    if (sent >= n) {
      break;
    }
    await sleep(500);
  }
  await server.stop();
  const seeded = await seedYear(stateDir, org.org.id);
  server = await startLocal({ port, stateDir, watchdogMs: 10_000 });
  const keyed = client(server.base, org.apiKey.key);
  const today = new Date().toISOString().slice(0, 10);
  const yearAgo = new Date(Date.now() - 364 * 86_400_000).toISOString().slice(0, 10);
  const time = async (path) => {
    const ms = [];
    let body = null;
    for (let i = 0; i < reads + 5; i++) {
      const t0 = performance.now();
      const r = await keyed("GET", path);
      const dt = performance.now() - t0;
      if (r.status !== 200) {
        throw new Error(`${path}: ${r.status} ${r.text}`);
      }
      body = r.json;
      if (i >= 5) {
        ms.push(dt); // the first five warm the isolate
      }
    }
    return { p50Ms: round(p50(ms)), body };
  };
  const q = `/v1/analytics/metrics?workflowId=${wf.id}&timezone=UTC`;
  try {
    const day = await time(`${q}&from=${today}&to=${today}`);
    const year = await time(`${q}&from=${yearAgo}&to=${today}`);
    const yearByStep = await time(`${q}&from=${yearAgo}&to=${today}&groupBy=step`);
    return {
      enrollments: n,
      sentToday: sent,
      rollupRowsSeeded: seeded,
      day1P50Ms: day.p50Ms,
      day365P50Ms: year.p50Ms,
      day365ByStepP50Ms: yearByStep.p50Ms,
      yearToDayRatio: round(year.p50Ms / day.p50Ms),
      yearPoints: year.body.series[0].points.length,
      yearSent: year.body.totals.sent,
      correct: year.body.series[0].points.length === 365 && year.body.totals.sent === 365 * sent,
    };
  } finally {
    await server.stop();
  }
}
