// Renders bench/results/latest.json as the README's performance section, so the README's
// figures are always those of the committed results file (test/node/readme.test.ts checks it).
export const START =
  "<!-- bench:start (written by npm run bench from bench/results/latest.json) -->";
export const END = "<!-- bench:end -->";

const fmt = (n) =>
  typeof n === "number"
    ? n.toLocaleString("en-US", { maximumFractionDigits: 2 })
    : String(n ?? "—");

const bound = (t) => (t.max !== undefined ? `≤ ${fmt(t.max)}` : `≥ ${fmt(t.min)}`);

export function renderBench(r) {
  const e = r.engine;
  const lines = [
    START,
    `Measured ${r.at.slice(0, 10)} on ${r.machine.cores} cores (${r.machine.cpu}), Node ${r.machine.node}, ${r.machine.runtime}. ${r.peers ? "The peers of `../shared/peers` ran one after another with Nudge, each on a fresh state, in the same sitting." : "Without the peers (no ratios)."} Result: ${r.passed ? "every target met" : `NOT MET — ${r.failures.join("; ")}`}.`,
    "",
    `| ${fmt(e.n)} runs of ${e.shape}, created through bulk | created | all finished |`,
    "| --- | --- | --- |",
    `| bare Durable Object loop (the floor) | ${fmt(e.doLoopCreatedS)} s | ${fmt(e.doLoopFinishS)} s |`,
    `| Cloudflare Workflows | — | ${fmt(e.workflowsFinishS)} s |`,
    `| Nudge | ${fmt(e.nudgeCreatedS)} s | ${fmt(e.nudgeFinishS)} s |`,
    `| Nudge with \`send_email\` steps (every email sent, into the outbox) | ${fmt(r.nudgeEmail.createdS)} s | ${fmt(e.nudgeEmailFinishS)} s |`,
    "",
    "| target | value | met |",
    "| --- | --- | --- |",
    ...Object.entries(r.targets).map(
      ([key, t]) =>
        `| ${t.what} (\`${key}\`, ${bound(t)}) | ${fmt(t.value)} | ${t.met === null ? "—" : t.met ? "yes" : "**no**"} |`,
    ),
    "",
    `Also measured: D1 statements per step ${fmt(r.d1.queriesPerStep)}; D1 rows written per enrollment created ${fmt(r.d1.rowsWrittenPerCreate)}; in the \`send_email\` run ${fmt(r.d1.emailRun.rowsWrittenPerStep)} rows and ${fmt(r.d1.emailRun.queriesPerStep)} statements per step (each email writes its message row, its send, its \`email.sent\` event and the outbox copy). Single creates p50 ${fmt(r.create.singleP50Ms)} ms (a bare DO start ${fmt(r.create.doLoopSingleP50Ms)} ms). Edge at 32 connections over ${fmt(r.edge.tokens)} messages' tokens: GET /health ${fmt(r.edge.bare.rps)} req/s, pixel ${fmt(r.edge.pixel.rps)}, click ${fmt(r.edge.click.rps)}. Events: ${fmt(r.events.accepted)} of ${fmt(r.events.events)} accepted at ${fmt(r.events.acceptPerSec)}/s (GET /health ${fmt(r.events.bareRps)}/s at ${fmt(r.events.clients)} connections), ${fmt(r.events.resumed)} of ${fmt(r.events.waiting)} waiting enrollments resumed.${r.growth ? ` Growth to ${fmt(r.growth.n)}: Nudge ${fmt(r.growth.nudgeFinishS)} s (×${fmt(r.growth.nudgeFactor)} per run), the loop ${fmt(r.growth.doLoopFinishS)} s (×${fmt(r.growth.doLoopFactor)}).` : ""}${r.analytics ? ` Analytics reads (one workflow, ${fmt(r.analytics.rollupRowsSeeded)} rollup rows seeded over the year): 1 day p50 ${fmt(r.analytics.day1P50Ms)} ms, 365 days ${fmt(r.analytics.day365P50Ms)} ms, 365 days grouped by step ${fmt(r.analytics.day365ByStepP50Ms)} ms.` : ""}${r.dashboard ? ` Dashboard: first load ${fmt(r.dashboard.firstLoadKiB)} KiB of gzipped JavaScript + CSS${r.dashboard.browser ? `; in Chromium the most API calls of a main page ${fmt(r.dashboard.maxCallsPerPage)}, the slowest page ${fmt(Math.max(...Object.values(r.dashboard.pageMs)))} ms` : ""}.` : ""}${r.crash ? ` Crash test (default settings): every enrollment completed ${fmt(r.crash.allCompletedS)} s after the last restart, ${fmt(r.crash.repeatedProviderCalls)} repeated provider calls.` : ""}`,
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
