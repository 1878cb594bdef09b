#!/usr/bin/env node
// npm run test:mutation — StrykerJS over the pure modules (stryker.config.mjs), then the score
// per module. Arguments go to Stryker: `-- --mutate src/engine/split.ts` for one module,
// `-- --incremental` to retest only mutants whose code or tests changed since the last run,
// `-- --concurrency 2` when the machine is free.
//
// Stryker's JSON report (bench/results/mutation.json) holds only the modules of the run that
// wrote it, so the per-module scores are merged into bench/results/mutation-summary.json: a
// scoped run updates its modules and keeps the others' last measurement, with its date.
// `node scripts/mutation.mjs --summary` only re-reads the report; `--readme` also rewrites the
// table between the mutation markers in README.md.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";

const REPORT = "bench/results/mutation.json";
const SUMMARY = "bench/results/mutation-summary.json";
const README = "README.md";
const TARGET = 80;

const args = process.argv.slice(2);
const summaryOnly = args.includes("--summary");
const readme = args.includes("--readme");
const strykerArgs = args.filter((a) => a !== "--summary" && a !== "--readme");

if (!summaryOnly) {
  const run = spawnSync("stryker", ["run", ...strykerArgs], { stdio: "inherit" });
  if (run.status !== 0) {
    process.exit(run.status ?? 1);
  }
}

/** Counts by status and the score as Stryker defines it: detected / valid mutants. */
function score(mutants) {
  const n = (...s) => mutants.filter((m) => s.includes(m.status)).length;
  const killed = n("Killed");
  const timeout = n("Timeout");
  const survived = n("Survived");
  const noCoverage = n("NoCoverage");
  const errors = n("CompileError", "RuntimeError");
  const ignored = n("Ignored");
  const valid = killed + timeout + survived + noCoverage;
  return {
    mutants: valid,
    killed,
    timeout,
    survived,
    noCoverage,
    errors,
    ignored,
    score: valid === 0 ? null : Math.round(((killed + timeout) / valid) * 10_000) / 100,
  };
}

const report = JSON.parse(readFileSync(REPORT, "utf8"));
const measured = new Date().toISOString().slice(0, 10);
const summary = existsSync(SUMMARY) ? JSON.parse(readFileSync(SUMMARY, "utf8")) : { modules: {} };
for (const [file, { mutants }] of Object.entries(report.files)) {
  summary.modules[file] = { ...score(mutants), measured };
}
summary.modules = Object.fromEntries(
  Object.entries(summary.modules).sort(([a], [b]) => a.localeCompare(b)),
);
summary.target = TARGET;
writeFileSync(SUMMARY, `${JSON.stringify(summary, null, 2)}\n`);

const rows = Object.entries(summary.modules).map(
  ([file, s]) =>
    `| \`${file}\` | ${s.score === null ? "—" : `${s.score.toFixed(1)} %`} | ${s.killed + s.timeout} | ${s.survived} | ${s.noCoverage} | ${s.measured} |`,
);
const table = [
  "| module | score | killed | survived | no coverage | measured |",
  "| --- | ---: | ---: | ---: | ---: | --- |",
  ...rows,
].join("\n");
console.log(`\nMutation score per module (target ≥ ${TARGET} %), ${SUMMARY}:\n\n${table}\n`);

if (readme) {
  const text = readFileSync(README, "utf8");
  const start = "<!-- mutation:start (written by node scripts/mutation.mjs --summary --readme) -->";
  const end = "<!-- mutation:end -->";
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) {
    console.error(`README.md has no ${start} … ${end} section`);
    process.exit(1);
  }
  writeFileSync(README, `${text.slice(0, from + start.length)}\n${table}\n${text.slice(to)}`);
}
