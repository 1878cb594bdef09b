#!/usr/bin/env node
// `npm start`: the whole product locally on its embedded default.
//  1. .dev.vars with development secrets (generated once, git-ignored)
//  2. D1 migrations applied to the local database
//  3. a development org and API key on an empty database (kept in .nudge-dev-key, so every
//     later start prints the same working key)
//  4. the dashboard's assets built (dashboard/ → public/app)
//  5. `wrangler dev`, plus a ticker for the cron watchdog (cron triggers do not fire locally)
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const root = join(import.meta.dirname, "..");
const port = Number(process.env.PORT ?? 8787);
const stateDir = process.env.NUDGE_STATE_DIR; // optional: a separate local state (bench, crash test)
const persist = stateDir ? ["--persist-to", stateDir] : [];
const devVarsPath = resolve(root, process.env.NUDGE_DEV_VARS ?? ".dev.vars");
const keyPath = resolve(root, process.env.NUDGE_KEY_FILE ?? ".nudge-dev-key");
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" };
// Optional: another wrangler config (the bench's four-shard run writes one); its DB_SHARD_*
// bindings are all migrated, as `npm run deploy` migrates every shard.
const configPath = process.env.NUDGE_WRANGLER_CONFIG;
const configArgs = configPath ? ["--config", configPath] : [];
const shardBindings = [
  ...readFileSync(configPath ?? join(root, "wrangler.toml"), "utf8").matchAll(
    /^binding = "(DB_SHARD_\d+)"$/gm,
  ),
].map((m) => m[1]);
// Run wrangler with this Node (22, from the `node` devDependency under npm scripts), whatever PATH says.
const wranglerJs = join(root, "node_modules", "wrangler", "bin", "wrangler.js");

function run(args, opts = {}) {
  const r = spawnSync(process.execPath, [wranglerJs, ...args, ...configArgs], {
    cwd: root,
    env,
    encoding: "utf8",
    ...opts,
  });
  if (r.status !== 0) {
    process.stderr.write(r.stdout ?? "");
    process.stderr.write(r.stderr ?? "");
    throw new Error(`wrangler ${args.join(" ")} failed (${r.status})`);
  }
  return r.stdout;
}

function ensureDevVars() {
  if (existsSync(devVarsPath)) {
    return;
  }
  const lines = [
    "ENVIRONMENT=development",
    `PUBLIC_URL=http://localhost:${port}`,
    `ADMIN_TOKEN=adm_${randomBytes(24).toString("base64url")}`,
    `TOKEN_SIGNING_KEYS=k1:${randomBytes(32).toString("base64url")}`,
    `ENCRYPTION_KEYS=k1:${randomBytes(32).toString("base64")}`,
  ];
  writeFileSync(devVarsPath, `${lines.join("\n")}\n`, { mode: 0o600 });
  console.log(`Created ${devVarsPath} with development secrets.`);
}

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
function newId(prefix) {
  let t = Date.now();
  let time = "";
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let rand = "";
  for (const b of randomBytes(16)) {
    rand += ALPHABET[b % 32];
  }
  return `${prefix}_${time}${rand}`;
}

/** A statement on a local database: the org shard (DB_SHARD_0) unless another binding is named. */
function sql(command, binding = "DB_SHARD_0") {
  const out = run([
    "d1",
    "execute",
    binding,
    "--local",
    ...persist,
    "--json",
    "--command",
    command,
  ]);
  return JSON.parse(out)[0]?.results ?? [];
}

function ensureDevKey() {
  if (existsSync(keyPath)) {
    const key = readFileSync(keyPath, "utf8").trim();
    const hash = createHash("sha256").update(key).digest("hex");
    const rows = sql(`SELECT id FROM api_keys WHERE key_hash = '${hash}' AND revoked_at IS NULL`);
    if (rows.length === 1) {
      return key;
    }
    console.log("The saved development key is not in this database; creating a new org.");
  }
  const key = `nk_live_${randomBytes(24).toString("base64url")}`;
  const hash = createHash("sha256").update(key).digest("hex");
  const now = Date.now();
  const orgId = newId("org");
  sql(
    `INSERT INTO orgs (id, name, created_at) VALUES ('${orgId}', 'Development', ${now}); ` +
      `INSERT INTO api_keys (id, org_id, name, key_hash, prefix, last_four, expires_at, revoked_at, created_at) ` +
      `VALUES ('${newId("key")}', '${orgId}', 'Development', '${hash}', 'nk_live_', '${key.slice(-4)}', NULL, NULL, ${now});`,
  );
  // The directory names the org's shard and the key's org (src/db/shards.ts).
  sql(
    `INSERT OR IGNORE INTO org_placements (org_id, shard, region, moving_since, created_at) VALUES ('${orgId}', 0, NULL, NULL, ${now}); ` +
      `INSERT OR IGNORE INTO owners (kind, name, org_id) VALUES ('key', '${hash}', '${orgId}');`,
    "DB_DIRECTORY",
  );
  writeFileSync(keyPath, `${key}\n`, { mode: 0o600 });
  return key;
}

ensureDevVars();
console.log("Applying D1 migrations to the local database…");
run(["d1", "migrations", "apply", "DB_DIRECTORY", "--local", ...persist]);
for (const binding of shardBindings) {
  run(["d1", "migrations", "apply", binding, "--local", ...persist]);
}
const key = ensureDevKey();
const built = spawnSync(
  process.execPath,
  [join(root, "scripts", "build-dashboard.mjs"), "--quiet"],
  {
    cwd: root,
    encoding: "utf8",
  },
);
if (built.status !== 0) {
  process.stderr.write(built.stderr ?? "");
  throw new Error("the dashboard did not build (npm run dashboard:build)");
}
console.log(`
  Nudge is starting on http://localhost:${port}
  Development API key: ${key}

    curl -H "Authorization: Bearer ${key}" http://localhost:${port}/v1/account

  Dashboard: http://localhost:${port}/app (sign in with the key above)
  Docs: http://localhost:${port}/docs · Email goes to the outbox: GET /v1/outbox
`);

const child = spawn(
  process.execPath,
  [
    wranglerJs,
    "dev",
    "--port",
    String(port),
    "--ip",
    "127.0.0.1",
    "--test-scheduled",
    "--var",
    `PUBLIC_URL:http://localhost:${port}`,
    ...(process.env.NUDGE_DEV_ARGS?.split(" ").filter(Boolean) ?? []),
    ...persist,
    ...configArgs,
    "--env-file",
    devVarsPath,
  ],
  {
    cwd: root,
    env,
    stdio: "inherit",
  },
);

// Cron triggers do not fire under `wrangler dev`: run the watchdog ourselves.
const tickMs = Number(process.env.NUDGE_WATCHDOG_MS ?? 10_000);
const ticker = setInterval(() => {
  fetch(`http://127.0.0.1:${port}/cdn-cgi/local/scheduled`).catch(() => {});
}, tickMs);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    clearInterval(ticker);
    child.kill(signal);
  });
}
child.on("exit", (code) => {
  clearInterval(ticker);
  process.exit(code ?? 0);
});
