#!/usr/bin/env node
// npm run sdk:quickstart — runs sdk/examples/quickstart.ts, as a user would, against a fresh
// local Nudge (wrangler dev on its own state) with a new org's key. CI runs it.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { adminToken, client, startLocal, tempState } from "./lib/local.mjs";

const root = join(import.meta.dirname, "..");
const stateDir = tempState("nudge-sdk-");
const server = await startLocal({ port: Number(process.env.SDK_PORT ?? 8793), stateDir });
try {
  const admin = client(server.base, adminToken(stateDir));
  const org = (await admin("POST", "/v1/admin/orgs", { name: "SDK quickstart" })).json;
  execFileSync(join(root, "node_modules/.bin/tsx"), [join(root, "sdk/examples/quickstart.ts")], {
    stdio: "inherit",
    env: { ...process.env, NUDGE_BASE_URL: server.base, NUDGE_API_KEY: org.apiKey.key },
  });
} catch (err) {
  console.error(`sdk quickstart failed: ${err.message}`);
  process.exitCode = 1;
} finally {
  await server.stop();
}
