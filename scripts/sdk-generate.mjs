#!/usr/bin/env node
// npm run sdk:generate — writes the served OpenAPI document to sdk/openapi-v1.json and
// regenerates sdk/src/gen with @hey-api/openapi-ts from it. `--check` regenerates into a
// temporary folder and fails when the committed files differ (CI: no drift).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { servedDocument } from "./lib/served-document.mjs";

const root = join(import.meta.dirname, "..");
const check = process.argv.includes("--check");

function files(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

async function generate(target) {
  const docPath = join(target, "openapi-v1.json");
  writeFileSync(docPath, `${JSON.stringify(await servedDocument(), null, 2)}\n`);
  execFileSync(
    join(root, "node_modules/.bin/openapi-ts"),
    ["-i", docPath, "-o", join(target, "src/gen"), "-c", "@hey-api/client-fetch"],
    { stdio: "inherit", cwd: root },
  );
}

if (!check) {
  await generate(join(root, "sdk"));
  console.log("sdk: regenerated sdk/openapi-v1.json and sdk/src/gen");
} else {
  const tmp = mkdtempSync(join(tmpdir(), "nudge-sdk-check-"));
  try {
    await generate(tmp);
    const committed = join(root, "sdk");
    const drift = [];
    for (const f of [join(tmp, "openapi-v1.json"), ...files(join(tmp, "src/gen"))]) {
      const rel = relative(tmp, f);
      let mine = null;
      try {
        mine = readFileSync(join(committed, rel), "utf8");
      } catch {}
      if (mine !== readFileSync(f, "utf8")) {
        drift.push(rel);
      }
    }
    const generated = new Set(files(join(tmp, "src/gen")).map((f) => relative(tmp, f)));
    for (const f of files(join(committed, "src/gen"))) {
      if (!generated.has(relative(committed, f))) {
        drift.push(`${relative(committed, f)} (no longer generated)`);
      }
    }
    if (drift.length > 0) {
      console.error(
        `sdk: drift from the served document; run npm run sdk:generate\n  ${drift.join("\n  ")}`,
      );
      process.exit(1);
    }
    console.log("sdk: committed SDK matches the served document");
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
