#!/usr/bin/env node
// Org shard tools for the operator.
//
//   npm run shards:move -- <org id> <shard> [--url https://nudge.example.com]
//
// Moves an org's rows to another shard while it runs, through the admin API
// (POST /v1/admin/orgs/{id}/move, src/accounts/move.ts): the org's requests answer 503 with
// Retry-After and its enrollments wait while its placement cache expires everywhere and its
// rows are copied, counted, switched and deleted from the old shard — at least
// PLACEMENT_TTL_MS (10 s) and then the copy. Prints the rows moved per table.
//
// The base URL is --url, else http://localhost:8787 (npm run dev / npm start). The admin
// token is ADMIN_TOKEN from the environment, else from .dev.vars (written by npm start).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

const root = join(import.meta.dirname, "..");
const USAGE = "usage: npm run shards:move -- <org id> <shard> [--url <base url>]";

function fail(message) {
  console.error(message);
  process.exit(1);
}

/** ADMIN_TOKEN from the environment, else the line of .dev.vars that sets it. */
function adminToken() {
  if (process.env.ADMIN_TOKEN) {
    return process.env.ADMIN_TOKEN;
  }
  const file = join(root, ".dev.vars");
  if (existsSync(file)) {
    for (const line of readFileSync(file, "utf8").split(/\r?\n/)) {
      const m = /^\s*ADMIN_TOKEN\s*=\s*"?([^"\s]+)"?\s*$/.exec(line);
      if (m) {
        return m[1];
      }
    }
  }
  return fail("No admin token: set ADMIN_TOKEN, or run npm start once to write .dev.vars");
}

async function move(base, orgId, shard) {
  const url = `${base.replace(/\/+$/, "")}/v1/admin/orgs/${encodeURIComponent(orgId)}/move`;
  console.log(`Moving ${orgId} to shard ${shard} (${url}); its work waits meanwhile...`);
  let res;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${adminToken()}`, "content-type": "application/json" },
      body: JSON.stringify({ shard }),
    });
  } catch (err) {
    return fail(`Could not reach ${base}: ${err.cause?.message ?? err.message}`);
  }
  const text = await res.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {}
  if (!res.ok) {
    const details = (body?.details ?? []).map((d) => `\n  ${d.path}: ${d.message}`).join("");
    return fail(
      `Move refused: ${res.status} ${body?.error ?? ""} ${body?.message ?? text}${details}`,
    );
  }
  const width = Math.max(...body.tables.map((t) => t.name.length));
  for (const t of body.tables) {
    console.log(`  ${t.name.padEnd(width)}  ${t.rows}`);
  }
  const total = body.tables.reduce((n, t) => n + t.rows, 0);
  console.log(`Moved ${body.orgId} from shard ${body.from} to shard ${body.to}: ${total} rows.`);
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { url: { type: "string", default: "http://localhost:8787" } },
});
const [command, orgId, shardArg] = positionals;
if (command !== "move" || !orgId || shardArg === undefined) {
  fail(USAGE);
}
const shard = Number(shardArg);
if (!Number.isInteger(shard) || shard < 0) {
  fail(`The shard must be a whole number from 0: ${shardArg}\n${USAGE}`);
}
await move(values.url, orgId, shard);
