#!/usr/bin/env node
// npm run lint:openapi — lints the served OpenAPI document with Redocly CLI under the rule
// set in redocly.yaml; any error fails (CI runs it).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { servedDocument } from "./lib/served-document.mjs";

const root = join(import.meta.dirname, "..");
const dir = mkdtempSync(join(tmpdir(), "nudge-lint-"));
try {
  const file = join(dir, "openapi-v1.json");
  writeFileSync(file, JSON.stringify(await servedDocument(), null, 2));
  execFileSync(
    join(root, "node_modules/.bin/redocly"),
    ["lint", file, "--config", join(root, "redocly.yaml"), "--format", "stylish"],
    {
      stdio: "inherit",
      cwd: root,
      env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
    },
  );
} catch (err) {
  // Redocly printed its findings; anything else is printed here.
  if (err?.status === undefined) {
    console.error(err);
  }
  process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
