// Renders bench/results/latest.json as the README's performance section, so the README's
// figures are always those of the committed results file (test/node/readme.test.ts checks it).
export const START =
  "<!-- bench:start (written by npm run bench from bench/results/latest.json) -->";
export const END = "<!-- bench:end -->";

const fmt = (n) =>
  typeof n === "number"
    ? n.toLocaleString("en-US", { maximumFractionDigits: 2 })
    : String(n ?? "—");

export function renderBench(r) {
  const lines = [
    START,
    `Measured ${r.at.slice(0, 10)} on ${r.machine.cores} cores (${r.machine.cpu}), local \`wrangler dev\`; ${r.connections} connections, ${r.durationSeconds} s per route; the queue consumers run in the same process and share the cores. Gates: ${r.passed ? "all passed" : `FAILED — ${r.failures.join("; ")}`}.`,
    "",
    "| route | req/s | p50 ms | p99 ms | × bare route | non-2xx |",
    "| --- | --- | --- | --- | --- | --- |",
    ...Object.values(r.http).map(
      (h) =>
        `| ${h.route} | ${fmt(h.rps)} | ${fmt(h.p50)} | ${fmt(h.p99)} | ${fmt(h.ratio)}${h.target ? ` (target ≥ ${h.target})` : ""} | ${fmt(h.non2xx)} |`,
    ),
    "",
    `| engine: ${fmt(r.engine.contacts)} contacts, ${r.engine.shape} | value |`,
    "| --- | --- |",
    `| enrollments accepted per second (bulk, 4 × 100 in flight) | ${fmt(r.engine.enrollmentsPerSec)} |`,
    `| time until all completed | ${fmt(r.engine.secondsToComplete)} s |`,
    `| engine steps per second | ${fmt(r.engine.stepsPerSec)} |`,
    `| D1 rows written per step, engine and consumers (as D1 reports them, index entries included) | ${fmt(r.engine.d1RowsWrittenPerStep)} |`,
    `| D1 statements per step, engine and consumers | ${fmt(r.engine.d1QueriesPerStep)} |`,
    `| D1 rows written per enrollment created (the create requests) | ${fmt(r.engine.d1RowsWrittenPerCreate)} |`,
    `| emails sent / duplicates | ${fmt(r.engine.emailsSent)} / ${fmt(r.engine.duplicateEmails)} |`,
    END,
  ];
  return lines.join("\n");
}

/** The README with its bench section replaced by the rendering of `results`. */
export function withBench(readme, results) {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < 0) {
    throw new Error("README.md has no bench section markers");
  }
  return readme.slice(0, a) + renderBench(results) + readme.slice(b + END.length);
}
