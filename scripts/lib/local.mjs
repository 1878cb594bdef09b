// Starts the product locally the way `npm start` does, in its own temporary state, for the
// benchmark, the crash test, the fuzz and the isolation check. Bounded: every wait has a limit.
import { spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function tempState(prefix = "nudge-") {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Starts (or restarts, on the same state dir) a local server; `config`: another wrangler config
 * file; `startTimeoutMs`: how long to wait for it to answer (migrating several shards takes longer).
 */
export async function startLocal({
  port,
  stateDir,
  watchdogMs = 5000,
  vars = {},
  logName = "server.log",
  config = /** @type {string | undefined} */ (undefined),
  startTimeoutMs = 90_000,
}) {
  const varArgs = Object.entries(vars)
    .map(([k, v]) => `--var ${k}:${v}`)
    .join(" ");
  const log = createWriteStream(join(stateDir, logName), { flags: "a" });
  const proc = spawn(process.execPath, [join(root, "scripts", "start.mjs")], {
    cwd: root,
    detached: true,
    env: {
      ...process.env,
      PORT: String(port),
      NUDGE_STATE_DIR: join(stateDir, "state"),
      NUDGE_DEV_VARS: join(stateDir, "dev.vars"),
      NUDGE_KEY_FILE: join(stateDir, "key"),
      NUDGE_WATCHDOG_MS: String(watchdogMs),
      NUDGE_DEV_ARGS: varArgs,
      ...(config ? { NUDGE_WRANGLER_CONFIG: config } : {}),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  proc.stdout.pipe(log);
  proc.stderr.pipe(log);
  const base = `http://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (proc.exitCode !== null) {
      throw new Error(`server exited early (${proc.exitCode}); see ${join(stateDir, logName)}`);
    }
    try {
      const res = await fetch(`${base}/health`);
      if (res.ok) {
        break;
      }
    } catch {}
    if (Date.now() - started > startTimeoutMs) {
      // Not left running behind the error: the launcher, wrangler and workerd all go.
      await stopGroup(proc);
      throw new Error(
        `server did not answer within ${startTimeoutMs / 1000} s; see ${join(stateDir, logName)}`,
      );
    }
    await sleep(250);
  }
  const key = readFileSync(join(stateDir, "key"), "utf8").trim();
  return {
    base,
    key,
    logPath: join(stateDir, logName),
    /** SIGKILL the whole process group: the launcher, wrangler and workerd. */
    kill() {
      try {
        process.kill(-proc.pid, "SIGKILL");
      } catch {}
      return new Promise((r) =>
        proc.exitCode !== null || proc.signalCode ? r() : proc.once("exit", r),
      );
    },
    stop: () => stopGroup(proc),
  };
}

/** Stops a detached process group: SIGTERM, up to 5 s to exit, then SIGKILL. */
export async function stopGroup(proc) {
  try {
    process.kill(-proc.pid, "SIGTERM");
  } catch {}
  await Promise.race([new Promise((r) => proc.once("exit", r)), sleep(5000)]);
  try {
    process.kill(-proc.pid, "SIGKILL");
  } catch {}
}

/** A small JSON client bound to one server and key; unless told not to, it waits out a 429 (Retry-After) up to 3 times. */
export function client(base, key, { waitOnRateLimit = true } = {}) {
  return async function api(method, path, body, headers = {}, attempt = 0) {
    const res = await fetch(`${base}${path}`, {
      method,
      redirect: "manual",
      signal: AbortSignal.timeout(30_000),
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    if (res.status === 429 && waitOnRateLimit && attempt < 3) {
      await res.text();
      await sleep(Number(res.headers.get("retry-after") ?? 1) * 1000);
      return api(method, path, body, headers, attempt + 1);
    }
    const text = await res.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {}
    return { status: res.status, json, text, headers: res.headers };
  };
}

/** Every item of a cursor-paginated list. */
export async function listAll(api, path) {
  const out = [];
  let cursor = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const res = await api("GET", `${path}${sep}limit=100${cursor ? `&cursor=${cursor}` : ""}`);
    if (res.status !== 200) {
      throw new Error(`${path}: ${res.status} ${res.text}`);
    }
    out.push(...res.json.data);
    cursor = res.json.nextCursor;
  } while (cursor);
  return out;
}

/** The admin token `npm start` wrote for this state dir. */
export function adminToken(stateDir) {
  return /ADMIN_TOKEN=(.+)/.exec(readFileSync(join(stateDir, "dev.vars"), "utf8"))[1].trim();
}

/**
 * Runs read-only SQL on the local D1 database of a state dir, straight from its SQLite file.
 * Only while the server is down (after a kill): nothing else holds the file then.
 */
/**
 * The file of the local org shard (DB_SHARD_0, with one shard every org): of the local D1
 * databases, the one that has the enrollments table (the other is the directory).
 */
export async function localShardFile(stateDir) {
  const { DatabaseSync } = await import("node:sqlite");
  const dir = join(stateDir, "state", "v3", "d1", "miniflare-D1DatabaseObject");
  for (const f of readdirSync(dir)) {
    if (!f.endsWith(".sqlite") || f === "metadata.sqlite") {
      continue;
    }
    const db = new DatabaseSync(join(dir, f), { readOnly: true });
    try {
      if (db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'enrollments'").get()) {
        return join(dir, f);
      }
    } finally {
      db.close();
    }
  }
  throw new Error(`no local org shard under ${dir}`);
}

export async function queryLocalD1(stateDir, sql) {
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(await localShardFile(stateDir), { readOnly: true });
  try {
    return db.prepare(sql).all();
  } finally {
    db.close();
  }
}
