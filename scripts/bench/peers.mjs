// The peer workers of ../shared/peers (a bare Durable Object loop, Cloudflare Workflows), set
// up as their README says — each folder copied out of the tree with its schema as a migration,
// `npm install` with the peers' package.json (wrangler pinned), migrations applied, `wrangler
// dev` on a fresh state directory — and driven with the same run shape as Nudge. The copies and
// their node_modules live in the system temp directory and are reused while the peers' files
// are unchanged; nothing of them enters this repository.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sleep, stopGroup, tempState } from "../lib/local.mjs";

export const PEERS_DIR = join(import.meta.dirname, "..", "..", "..", "shared", "peers");
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" };

function sh(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed in ${cwd}:\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

/** Copies one peer out and installs it once per version of the peers' files. */
export function setUpPeer(name) {
  if (!existsSync(join(PEERS_DIR, name))) {
    throw new Error(`no peer "${name}" in ${PEERS_DIR}`);
  }
  const files = ["package.json", "schema.sql", `${name}/wrangler.toml`, `${name}/src/index.ts`].map(
    (f) => readFileSync(join(PEERS_DIR, f)),
  );
  const hash = createHash("sha256").update(Buffer.concat(files)).digest("hex").slice(0, 12);
  const dir = join(tmpdir(), "nudge-peers", `${name}-${hash}`);
  if (!existsSync(join(dir, "node_modules", "wrangler"))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    cpSync(join(PEERS_DIR, name), dir, { recursive: true });
    mkdirSync(join(dir, "migrations"), { recursive: true });
    cpSync(join(PEERS_DIR, "schema.sql"), join(dir, "migrations", "0001_init.sql"));
    cpSync(join(PEERS_DIR, "package.json"), join(dir, "package.json"));
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    sh(npm, ["install", "--no-audit", "--no-fund", "--loglevel=error"], dir);
  }
  return dir;
}

/** Starts a peer on a fresh state directory; resolves once it answers /health. */
export async function startPeer(name, port) {
  const dir = setUpPeer(name);
  const state = tempState(`nudge-peer-${name}-`);
  const wrangler = join(dir, "node_modules", "wrangler", "bin", "wrangler.js");
  const node = join(dir, "node_modules", "node", "bin", "node");
  const nodeBin = existsSync(node) ? node : process.execPath;
  sh(
    nodeBin,
    [wrangler, "d1", "migrations", "apply", "probe", "--local", "--persist-to", state],
    dir,
  );
  const log = createWriteStream(join(state, "server.log"));
  const proc = spawn(
    nodeBin,
    [wrangler, "dev", "--port", String(port), "--ip", "127.0.0.1", "--persist-to", state],
    { cwd: dir, env, detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  proc.stdout.pipe(log);
  proc.stderr.pipe(log);
  const base = `http://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (proc.exitCode !== null) {
      throw new Error(`peer ${name} exited early; see ${join(state, "server.log")}`);
    }
    try {
      if ((await fetch(`${base}/health`)).ok) {
        break;
      }
    } catch {}
    if (Date.now() - started > 90_000) {
      throw new Error(`peer ${name} did not answer within 90 s`);
    }
    await sleep(250);
  }
  return {
    base,
    async stop() {
      await stopGroup(proc);
      rmSync(state, { recursive: true, force: true });
    },
  };
}

/**
 * N runs of the peer's shape (step, sleep 1 s, step, step), spawned 100 at a time, one request
 * after another as Nudge's bulk calls are; finished when every run wrote its `done` row.
 */
export async function runPeer(base, n, { timeoutMs = 15 * 60_000 } = {}) {
  const t0 = performance.now();
  for (let i = 0; i < n; i += 100) {
    const res = await fetch(`${base}/spawn/${Math.min(100, n - i)}`, { method: "POST" });
    if (!res.ok) {
      throw new Error(`spawn: ${res.status} ${await res.text()}`);
    }
  }
  const createdS = (performance.now() - t0) / 1000;
  for (;;) {
    const rows = await (await fetch(`${base}/count`)).json();
    const done = rows.find((r) => r.kind === "done")?.n ?? 0;
    if (done >= n) {
      break;
    }
    if (performance.now() - t0 > timeoutMs) {
      throw new Error(`peer: ${done} of ${n} runs finished in ${timeoutMs / 1000} s`);
    }
    await sleep(100);
  }
  return { createdS, finishS: (performance.now() - t0) / 1000 };
}

/** One run started per request, one request after another: the p50 of a bare DO start. */
export async function singleStarts(base, n) {
  const ms = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const res = await fetch(`${base}/spawn/1`, { method: "POST" });
    await res.text();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return {
    n,
    p50: Math.round(ms[Math.floor(n / 2)] * 100) / 100,
    p99: Math.round(ms[Math.floor(n * 0.99)] * 100) / 100,
  };
}
