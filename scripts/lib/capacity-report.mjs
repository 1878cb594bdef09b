// The capacity model of docs/scale.md: what each operation costs (D1 statements and rows
// written, queue messages, Durable Object requests), measured by the bench and read from its
// results file, against Cloudflare's published limits. Rendered between two markers, so the
// figures in the doc are always those of a results file (npm run capacity; the bench runs it).
export const START =
  "<!-- capacity:start (written by npm run capacity from bench/results/latest.json) -->";
export const END = "<!-- capacity:end -->";

/** Cloudflare's published limits, each with the page it is from. */
export const LIMITS = {
  d1QueriesPerSecond: {
    value: 1000,
    what: "D1 queries per second per database, at 1 ms a query (each database runs one query at a time)",
    source: "https://developers.cloudflare.com/d1/platform/limits/",
  },
  d1GbPerDatabase: {
    value: 10,
    what: "GB per D1 database (cannot be raised)",
    source: "https://developers.cloudflare.com/d1/platform/limits/",
  },
  queueMessagesPerSecond: {
    value: 5000,
    what: "messages per second per queue (over it, send() and sendBatch() throw)",
    source: "https://developers.cloudflare.com/queues/platform/limits/",
  },
  objectRequestsPerSecond: {
    value: 1000,
    what: "requests per second per Durable Object (soft limit; each object is single-threaded)",
    source: "https://developers.cloudflare.com/durable-objects/platform/limits/",
  },
  workerRequestsPerSecond: {
    value: null,
    what: "requests per second per Worker: no general limit (Workers scale out)",
    source: "https://developers.cloudflare.com/workers/platform/limits/",
  },
};

/**
 * The operations. D1 figures are paths into the results file (null when it does not have
 * them); queue messages and object requests come from the code: an email step queues one job
 * on nudge-messages (src/enrollments/object/effects.ts) and, when its connection has send
 * limits, asks the connection's mailbox object for a slot once (src/messaging/consumers/email.ts);
 * an event, an open and a click each put one job on nudge-event (src/events, src/edge/batcher.ts);
 * a create starts its enrollment's own object and a step is that object's alarm.
 */
export const OPERATIONS = [
  {
    key: "create",
    what: "enrollment created (bulk)",
    queries: "nudge.log.d1QueriesPerCreate",
    rows: "nudge.log.d1RowsWrittenPerCreate",
    queue: null,
  },
  {
    key: "step",
    what: "engine step (log)",
    queries: "nudge.log.d1QueriesPerStep",
    rows: "nudge.log.d1RowsWrittenPerStep",
    queue: null,
  },
  {
    key: "email",
    what: "email sent (send_email step)",
    // The email run's figures are per executed step, and 3 of its 4 steps send: per email,
    // its whole D1 work is divided by the emails sent.
    queries: (r) => perEmail(r, "d1QueriesPerStep"),
    rows: (r) => perEmail(r, "d1RowsWrittenPerStep"),
    queue: "nudge-messages",
    mailbox: true,
  },
  {
    key: "event",
    what: "single event (POST /v1/events)",
    queries: "costs.event.queries",
    rows: "costs.event.rowsWritten",
    queue: "nudge-event",
  },
  {
    key: "open",
    what: "open (tracking pixel)",
    queries: "costs.open.queries",
    rows: "costs.open.rowsWritten",
    queue: "nudge-event",
  },
  {
    key: "click",
    what: "click (tracked link)",
    queries: "costs.click.queries",
    rows: "costs.click.rowsWritten",
    queue: "nudge-event",
  },
];

export const SHARD_COUNTS = [1, 10, 100];

const get = (o, path) => path.split(".").reduce((x, k) => x?.[k], o);

function perEmail(r, field) {
  const run = r.nudgeEmail;
  const v = run?.[field];
  if (v == null || !run.steps || !run.emailsSent) {
    return null;
  }
  return (v * run.steps) / run.emailsSent;
}

const figure = (r, f) => {
  const v = typeof f === "function" ? f(r) : get(r, f);
  return typeof v === "number" ? v : null;
};

const fmt = (n, d = 2) =>
  n == null ? "—" : n.toLocaleString("en-US", { maximumFractionDigits: n >= 100 ? 0 : d });

/**
 * The most operations per second a deployment of `shards` shards sustains doing only `op`, and
 * what stops it there. `queues`: how many queues share the operation's jobs (1 unless sharded).
 */
export function ceiling(op, queries, shards, queues = 1) {
  const bounds = [];
  if (queries != null && queries > 0) {
    bounds.push({
      perSecond: (shards * LIMITS.d1QueriesPerSecond.value) / queries,
      by: shards === 1 ? "D1 (the shard)" : `D1 (${shards} shards)`,
    });
  }
  if (op.queue) {
    bounds.push({
      perSecond: queues * LIMITS.queueMessagesPerSecond.value,
      by: queues === 1 ? `queue ${op.queue}` : `${queues} ${op.queue} queues`,
    });
  }
  if (bounds.length === 0) {
    return null;
  }
  return bounds.reduce((a, b) => (b.perSecond < a.perSecond ? b : a));
}

/** The capacity section's generated part for a bench results object. */
export function renderCapacity(r) {
  const rows = OPERATIONS.map((op) => ({
    op,
    queries: figure(r, op.queries),
    rows: figure(r, op.rows),
  }));
  const cell = (c) => (c ? `${fmt(c.perSecond)}/s — ${c.by}` : "—");
  const lines = [
    START,
    `From \`bench/results/latest.json\` of ${r.at.slice(0, 10)} (${r.smoke ? "a smoke run" : "a full run"}). Each line is a workload of only that operation; a ceiling is the lower of the shards' D1 capacity (${fmt(LIMITS.d1QueriesPerSecond.value)} queries/s each ÷ statements per operation) and the queue's (${fmt(LIMITS.queueMessagesPerSecond.value)} messages/s ÷ jobs per operation). Durable Objects do not bound these totals: every enrollment is its own object, so the ${fmt(LIMITS.objectRequestsPerSecond.value)} requests/s of one object limits one enrollment, never the sum (the mailbox object of a connection is the exception, below). Workers have no request-rate limit.`,
    "",
    `| operation | D1 statements | D1 rows written | queue jobs | ${SHARD_COUNTS.map((s) => `ceiling, ${s} shard${s > 1 ? "s" : ""}`).join(" | ")} |`,
    `| --- | --- | --- | --- | ${SHARD_COUNTS.map(() => "---").join(" | ")} |`,
    ...rows.map(({ op, queries, rows: written }) => {
      const measured = queries != null;
      const cells = SHARD_COUNTS.map((s) =>
        measured || !op.queue ? cell(ceiling(op, queries, s)) : "not measured in this file",
      );
      return `| ${op.what} | ${fmt(queries)} | ${fmt(written)} | ${op.queue ? `1 on ${op.queue}` : "0"} | ${cells.join(" | ")} |`;
    }),
  ];
  // A single very large tenant: all its data is on one shard, so its shard's D1 is its bound;
  // its jobs share each queue with every other org unless queues are sharded by org.
  const queued = rows.filter((x) => x.op.queue);
  lines.push(
    "",
    "One very large tenant lives on one shard, whatever the number of shards; its enrollments are spread over as many objects as it has enrollments:",
    "",
    "| the tenant's | its shard's D1 ceiling | one shared queue's ceiling | queues of its own needed to reach its D1 ceiling |",
    "| --- | --- | --- | --- |",
    ...queued.map(({ op, queries }) => {
      if (queries == null) {
        return `| ${op.what} | not measured in this file | ${fmt(LIMITS.queueMessagesPerSecond.value)}/s | — |`;
      }
      const d1 = queries > 0 ? LIMITS.d1QueriesPerSecond.value / queries : null;
      const need = d1 == null ? "—" : fmt(Math.ceil(d1 / LIMITS.queueMessagesPerSecond.value));
      return `| ${op.what} | ${d1 == null ? "no D1 work" : `${fmt(d1)}/s`} | ${fmt(LIMITS.queueMessagesPerSecond.value)}/s | ${need} |`;
    }),
    "",
    `Its emails are also bounded by ${fmt(LIMITS.objectRequestsPerSecond.value)}/s per sending connection that has send limits: one mailbox object per connection, one slot request per email.`,
    END,
  );
  return lines.join("\n");
}

/** The doc with its capacity section replaced by the rendering of `results`. */
export function withCapacity(doc, results) {
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a < 0 || b < 0) {
    throw new Error("docs/scale.md has no capacity markers");
  }
  return doc.slice(0, a) + renderCapacity(results) + doc.slice(b + END.length);
}
