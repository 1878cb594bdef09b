// Event ingestion: 24 concurrent clients (one org each, as tenants are), 300 enrollments
// waiting for `ping`, and 3,300 single POST /v1/events — 300 that resume them, 3,000 for 500
// other contacts. Measures the accept rate against the bare route at the same concurrency,
// the time from the last accepted event until every waiting enrollment resumed and every
// event was fanned out, and one POST /v1/events/batch of 1,000.
import autocannon from "autocannon";
import { client, sleep } from "../lib/local.mjs";

const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

export async function runEvents(
  base,
  admin,
  metrics,
  { clients = 24, waitingN = 300, noise = 3000 } = {},
) {
  const orgs = [];
  for (let i = 0; i < clients; i++) {
    const org = (await admin("POST", "/v1/admin/orgs", { name: `events ${i}` })).json;
    const api = client(base, org.apiKey.key);
    const wf = await api("POST", "/v1/workflows", {
      name: "Wait for ping",
      status: "active",
      steps: [{ type: "wait_for_event", config: { eventName: "ping", timeout: 86_400 } }],
    });
    orgs.push({ key: org.apiKey.key, api, workflowId: wf.json.id, waiting: 0 });
  }
  for (let i = 0; i < waitingN; i += 100) {
    for (const [o, org] of orgs.entries()) {
      const contacts = [];
      for (let j = i; j < Math.min(i + 100, waitingN); j++) {
        if (j % clients === o) {
          contacts.push({ email: `waiting${j}@bench.test` });
        }
      }
      if (contacts.length > 0) {
        const r = await org.api("POST", "/v1/enrollments/bulk", {
          workflowId: org.workflowId,
          contacts,
        });
        org.waiting += r.json?.createdCount ?? 0;
      }
    }
  }
  // The events, in a fixed shuffle: 300 pings for the waiting contacts, the rest noise.
  const events = [];
  for (let j = 0; j < waitingN; j++) {
    events.push({ org: j % clients, body: { name: "ping", email: `waiting${j}@bench.test` } });
  }
  for (let j = 0; j < noise; j++) {
    events.push({
      org: j % clients,
      body: { name: "page_view", email: `other${j % 500}@bench.test`, data: { j } },
    });
  }
  let seed = 7;
  for (let i = events.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const k = seed % (i + 1);
    [events[i], events[k]] = [events[k], events[i]];
  }

  const bare = await autocannon({ url: `${base}/health`, connections: clients, duration: 5 });
  const bareRps = bare["2xx"] / 5;
  await sleep(500);
  let next = 0;
  const t0 = performance.now();
  const result = await autocannon({
    url: `${base}/v1/events`,
    connections: clients,
    amount: events.length,
    method: "POST",
    headers: { "content-type": "application/json" },
    requests: [
      {
        setupRequest: (req) => {
          const e = events[next++ % events.length];
          return {
            ...req,
            headers: { ...req.headers, authorization: `Bearer ${orgs[e.org].key}` },
            body: JSON.stringify(e.body),
          };
        },
      },
    ],
  });
  const acceptedAt = performance.now();
  const acceptS = (acceptedAt - t0) / 1000;
  const accepted = result["2xx"];
  // Every waiting enrollment resumed (the workflow completes when its wait ends).
  let resumed = 0;
  for (;;) {
    resumed = 0;
    for (const org of orgs) {
      const r = await org.api("GET", `/v1/workflows/${org.workflowId}/enrollments?limit=1`);
      resumed += r.json?.stepFunnel?.totals?.completed ?? 0;
    }
    const backlog = (await metrics()).backlog.eventFanouts;
    if ((resumed >= waitingN && backlog === 0) || performance.now() - acceptedAt > 120_000) {
      break;
    }
    await sleep(250);
  }
  const fanoutS = (performance.now() - acceptedAt) / 1000;
  // One batch of 1,000 to a fresh org.
  const org = (await admin("POST", "/v1/admin/orgs", { name: "events batch" })).json;
  const api = client(base, org.apiKey.key);
  const batch = Array.from({ length: 1000 }, (_, i) => ({
    id: `b-${i}`,
    name: "imported",
    email: `batch${i % 200}@bench.test`,
  }));
  const b0 = performance.now();
  const b = await api("POST", "/v1/events/batch", { events: batch });
  const batchS = (performance.now() - b0) / 1000;
  return {
    clients,
    events: events.length,
    accepted,
    notAccepted: result.requests.total - accepted,
    acceptPerSec: round(accepted / acceptS, 1),
    bareRps: round(bareRps, 1),
    acceptRatio: round(accepted / acceptS / bareRps),
    waiting: orgs.reduce((n, o) => n + o.waiting, 0),
    resumed,
    fanoutS: round(fanoutS),
    batch1000S: round(batchS),
    batchAccepted: b.json?.ids?.filter(Boolean).length ?? 0,
  };
}
