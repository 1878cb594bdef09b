// Shard balance: a local Nudge on four shards (a wrangler config generated from wrangler.toml
// with SHARDS = 4 and DB_SHARD_1…3 added), `orgs` orgs created through the admin route, each
// given the same small workload (a workflow, three enrollments that run to the end, two
// events), then the rows on each shard counted from the local SQLite files once the server is
// down. Reports the rows per shard and the largest deviation from their mean, as a fraction.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { adminToken, client, sleep, startLocal } from "../lib/local.mjs";

const root = join(import.meta.dirname, "..", "..");

/** wrangler.toml with `shards` org shards, its relative paths made absolute (it is written elsewhere). */
export function shardedConfig(shards) {
  let toml = readFileSync(join(root, "wrangler.toml"), "utf8");
  toml = toml
    .replace(/^main = "(.+)"$/m, (_, p) => `main = "${join(root, p)}"`)
    .replace(/^directory = "(.+)"$/m, (_, p) => `directory = "${join(root, p)}"`)
    .replace(/^migrations_dir = "(.+)"$/gm, (_, p) => `migrations_dir = "${join(root, p)}"`)
    .replace(/^SHARDS = "\d+"$/m, `SHARDS = "${shards}"`);
  const extra = [];
  for (let i = 1; i < shards; i++) {
    if (!toml.includes(`"DB_SHARD_${i}"`)) {
      extra.push(
        `[[d1_databases]]\nbinding = "DB_SHARD_${i}"\ndatabase_name = "nudge-shard-${i}"\nmigrations_dir = "${join(root, "migrations")}"\n`,
      );
    }
  }
  // Appended after the last table would nest them under it: put them before the first DO binding.
  const at = toml.indexOf("[[durable_objects.bindings]]");
  return `${toml.slice(0, at)}${extra.join("\n")}\n${toml.slice(at)}`;
}

/** Rows in every org table of each local shard file (the directory and bookkeeping left out). */
export async function rowsPerShard(stateDir) {
  const { DatabaseSync } = await import("node:sqlite");
  const dir = join(stateDir, "state", "v3", "d1", "miniflare-D1DatabaseObject");
  const out = [];
  for (const f of readdirSync(dir)) {
    if (!f.endsWith(".sqlite") || f === "metadata.sqlite") {
      continue;
    }
    const db = new DatabaseSync(join(dir, f), { readOnly: true });
    try {
      if (!db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'enrollments'").get()) {
        continue;
      }
      const tables = db
        .prepare(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name != 'd1_migrations'",
        )
        .all();
      let rows = 0;
      for (const { name } of tables) {
        rows += db.prepare(`SELECT count(*) AS n FROM "${name}"`).get().n;
      }
      out.push(rows);
    } finally {
      db.close();
    }
  }
  return out;
}

async function workload(api) {
  const wf = await api("POST", "/v1/workflows", {
    name: "Balance",
    status: "active",
    steps: [{ type: "log", config: { message: "hello" } }],
  });
  if (wf.status !== 201) {
    throw new Error(`workflow: ${wf.status} ${wf.text}`);
  }
  const bulk = await api("POST", "/v1/enrollments/bulk", {
    workflowId: wf.json.id,
    contacts: [0, 1, 2].map((i) => ({ email: `balance${i}@bench.test` })),
  });
  if (bulk.status !== 201) {
    throw new Error(`bulk: ${bulk.status} ${bulk.text}`);
  }
  for (const i of [0, 1]) {
    const e = await api("POST", "/v1/events", { name: "visit", email: `balance${i}@bench.test` });
    if (e.status !== 202) {
      throw new Error(`event: ${e.status} ${e.text}`);
    }
  }
  return wf.json.id;
}

export async function runShardBalance({ port, stateDir, orgs = 100, shards = 4 }) {
  const config = join(stateDir, "wrangler.shards.toml");
  writeFileSync(config, shardedConfig(shards));
  // Five databases to migrate (the directory and four shards), each a wrangler run: allow for it.
  const server = await startLocal({
    port,
    stateDir,
    config,
    watchdogMs: 10_000,
    startTimeoutMs: 300_000,
  });
  const admin = client(server.base, adminToken(stateDir));
  try {
    const made = [];
    for (let i = 0; i < orgs; i++) {
      const o = await admin("POST", "/v1/admin/orgs", { name: `balance ${i}` });
      if (o.status !== 201) {
        throw new Error(`org: ${o.status} ${o.text}`);
      }
      const api = client(server.base, o.json.apiKey.key);
      made.push({ api, workflowId: await workload(api) });
    }
    // Until every org's three enrollments completed and every event was fanned out.
    const started = performance.now();
    for (const { api, workflowId } of made) {
      for (;;) {
        const r = await api("GET", `/v1/workflows/${workflowId}/enrollments?limit=1`);
        if (r.json?.stepFunnel?.totals?.completed >= 3 || performance.now() - started > 180_000) {
          break;
        }
        await sleep(200);
      }
    }
    for (;;) {
      const m = (await admin("GET", "/v1/admin/metrics")).json;
      if (m.backlog.eventFanouts === 0 || performance.now() - started > 180_000) {
        break;
      }
      await sleep(250);
    }
    await sleep(1000);
  } finally {
    await server.stop();
  }
  const rows = await rowsPerShard(stateDir);
  const mean = rows.reduce((a, b) => a + b, 0) / rows.length;
  const balance = Math.max(...rows.map((r) => Math.abs(r - mean) / mean));
  return { orgs, shards, rows, balance: Math.round(balance * 1000) / 1000 };
}
