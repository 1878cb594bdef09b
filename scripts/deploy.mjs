#!/usr/bin/env node
// npm run deploy — a production deploy from a clean clone, on the account wrangler is logged
// into: the queues and R2 buckets are created when missing, the D1 databases (the directory and
// every org shard) are provisioned by wrangler on the first deploy (wrangler.toml names them,
// with no database_id), every migration is applied remotely to each by binding name, then the
// Worker is deployed. `--dry-run` prints the steps only.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const dryRun = process.argv.includes("--dry-run");
const wrangler = join(root, "node_modules/.bin/wrangler");

function run(args, { allowFailure = false } = {}) {
  console.log(`$ wrangler ${args.join(" ")}`);
  if (dryRun) {
    return { ok: true, output: "" };
  }
  const r = spawnSync(wrangler, args, {
    cwd: root,
    encoding: "utf8",
    stdio: ["inherit", "pipe", "pipe"],
  });
  const output = `${r.stdout ?? ""}${r.stderr ?? ""}`;
  process.stdout.write(output);
  if (r.status !== 0 && !allowFailure) {
    console.error(`deploy: wrangler ${args[0]} failed`);
    process.exit(1);
  }
  return { ok: r.status === 0, output };
}

// 0. The dashboard's assets (public/app), fresh from dashboard/.
console.log("$ node scripts/build-dashboard.mjs");
if (!dryRun) {
  const built = spawnSync(process.execPath, [join(root, "scripts/build-dashboard.mjs")], {
    cwd: root,
    stdio: "inherit",
  });
  if (built.status !== 0) {
    console.error("deploy: the dashboard did not build");
    process.exit(1);
  }
}

// 1. Queues (and their dead-letter queues), each created once.
const toml = readFileSync(join(root, "wrangler.toml"), "utf8");
const queues = [
  ...new Set([...toml.matchAll(/(?:queue|dead_letter_queue) = "([^"]+)"/g)].map((m) => m[1])),
];
for (const q of queues) {
  const r = run(["queues", "create", q], { allowFailure: true });
  if (!r.ok && !/already (exists|taken)/i.test(r.output)) {
    console.error(`deploy: could not create queue ${q}`);
    process.exit(1);
  }
}

// 1b. R2 buckets (reports), each created once.
for (const b of new Set([...toml.matchAll(/bucket_name = "([^"]+)"/g)].map((m) => m[1]))) {
  const r = run(["r2", "bucket", "create", b], { allowFailure: true });
  if (!r.ok && !/already (exists|owned)/i.test(r.output)) {
    console.error(`deploy: could not create R2 bucket ${b}`);
    process.exit(1);
  }
}

// 2. Migrations by binding name, on the directory and on every org shard (each shard gets the
// same migrations/). SHARDS must not name more shards than wrangler.toml binds. On the first
// deploy the databases do not exist yet, so the Worker is deployed first (wrangler provisions
// them), then migrated.
const databases = [...toml.matchAll(/binding = "(DB_DIRECTORY|DB_SHARD_\d+)"/g)].map((m) => m[1]);
const shardsVar = Number(/^SHARDS = "(\d+)"/m.exec(toml)?.[1] ?? 1);
const bound = databases.filter((d) => d.startsWith("DB_SHARD_")).length;
if (bound < shardsVar) {
  console.error(
    `deploy: SHARDS is ${shardsVar} but wrangler.toml binds ${bound} shard(s); add a [[d1_databases]] block for each of DB_SHARD_${bound}…DB_SHARD_${shardsVar - 1} (docs/scale.md)`,
  );
  process.exit(1);
}
const migrate = () =>
  databases.every(
    (binding) => run(["d1", "migrations", "apply", binding, "--remote"], { allowFailure: true }).ok,
  );
if (!migrate()) {
  console.log("deploy: databases missing; deploying once so wrangler provisions them");
  run(["deploy"]);
  if (!migrate()) {
    console.error("deploy: migrations failed; the Worker is deployed but its tables are missing");
    process.exit(1);
  }
}

// 3. The Worker.
run(["deploy"]);
console.log(`
Deployed. Next:
  npx wrangler secret put ADMIN_TOKEN          # any long random string
  npx wrangler secret put TOKEN_SIGNING_KEYS   # k1:<32+ random characters>
  npx wrangler secret put ENCRYPTION_KEYS      # k1:$(openssl rand -base64 32)
  curl -X POST https://<your-worker>/v1/admin/orgs -H "Authorization: Bearer $ADMIN_TOKEN" \\
    -H 'content-type: application/json' -d '{"name":"Acme"}'   # your first org and API key`);
