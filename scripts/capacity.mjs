#!/usr/bin/env node
// npm run capacity — rewrites the capacity table of docs/scale.md from a bench results file
// (bench/results/latest.json unless `--results=<file>`; `--doc=<file>` for another doc), so the
// doc's figures cannot drift from the measured ones. `--check` only says whether it is current.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { withCapacity } from "./lib/capacity-report.mjs";

const root = join(import.meta.dirname, "..");
const args = process.argv.slice(2);
const opt = (name, dflt) => args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? dflt;
const resultsPath = opt("results", join(root, "bench", "results", "latest.json"));
const docPath = opt("doc", join(root, "docs", "scale.md"));

const doc = readFileSync(docPath, "utf8");
const next = withCapacity(doc, JSON.parse(readFileSync(resultsPath, "utf8")));
if (args.includes("--check")) {
  if (next !== doc) {
    console.error(`${docPath} is not the rendering of ${resultsPath}: run npm run capacity`);
    process.exitCode = 1;
  }
} else if (next !== doc) {
  writeFileSync(docPath, next);
  console.log(`wrote the capacity table of ${docPath} from ${resultsPath}`);
} else {
  console.log(`${docPath} is already current`);
}
