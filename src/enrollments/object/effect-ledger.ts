// The effect ledger: effects handed to a queue and not yet confirmed by their consumer, kept in
// the object's SQLite with the job (table pending_effects), and sent again when a queue lost them (consumers are
// idempotent by key). An effect is first checked `redeliveryMs` after it was sent, then after
// twice as long each time it is sent again (so a long queue backlog is not doubled), at most
// every 10 minutes. It reports when it next needs the object awake.
import type { EffectJob } from "./effects";

const MAX_INTERVAL_MS = 10 * 60_000;

/** A job as stored: those stored before the message queue's rename name it "email". */
function storedJob(json: string): EffectJob {
  const job = JSON.parse(json) as EffectJob | (Omit<EffectJob, "queue"> & { queue: "email" });
  return job.queue === "email" ? ({ ...job, queue: "message" } as EffectJob) : job;
}

export class EffectLedger {
  constructor(
    private readonly sql: SqlStorage,
    /** Hands jobs to their queues. */
    private readonly send: (jobs: EffectJob[]) => Promise<void>,
    private readonly redeliveryMs: number,
  ) {
    sql.exec(
      "CREATE TABLE IF NOT EXISTS pending_effects (key TEXT PRIMARY KEY, job TEXT NOT NULL, dispatched_at INTEGER NOT NULL)",
    );
    const columns = sql
      .exec<{ name: string }>("PRAGMA table_info(pending_effects)")
      .toArray()
      .map((c) => c.name);
    if (!columns.includes("due_at")) {
      // Objects created before the adaptive schedule: due one interval after their dispatch.
      sql.exec("ALTER TABLE pending_effects ADD COLUMN sends INTEGER NOT NULL DEFAULT 1");
      sql.exec("ALTER TABLE pending_effects ADD COLUMN due_at INTEGER");
      sql.exec("UPDATE pending_effects SET due_at = dispatched_at + ?", redeliveryMs);
    }
  }

  private interval(sends: number) {
    return Math.min(this.redeliveryMs * 2 ** Math.max(0, sends - 1), MAX_INTERVAL_MS);
  }

  /** Records the jobs as pending (synchronously, with the object's state), then sends them. */
  async dispatch(jobs: EffectJob[]) {
    if (jobs.length === 0) {
      return;
    }
    const now = Date.now();
    for (const j of jobs) {
      const prior = this.sql
        .exec<{ sends: number }>("SELECT sends FROM pending_effects WHERE key = ?", j.key)
        .toArray()[0];
      const sends = (prior?.sends ?? 0) + 1;
      this.sql.exec(
        "INSERT OR REPLACE INTO pending_effects (key, job, dispatched_at, sends, due_at) VALUES (?, ?, ?, ?, ?)",
        j.key,
        JSON.stringify(j),
        now,
        sends,
        now + this.interval(sends),
      );
    }
    await this.send(jobs);
  }

  confirm(keys: string[]) {
    for (const key of keys) {
      this.sql.exec("DELETE FROM pending_effects WHERE key = ?", key);
    }
  }

  /** How many effects are not confirmed yet. */
  size(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM pending_effects").one().n;
  }

  /**
   * Jobs whose check is due: their queue must have lost them. `olderThanMs`: also those sent at
   * least that long ago (an object waking after a restart sends those at once).
   */
  due(now = Date.now(), olderThanMs?: number): EffectJob[] {
    return this.sql
      .exec<{ job: string }>(
        "SELECT job FROM pending_effects WHERE due_at <= ? OR dispatched_at <= ?",
        now,
        olderThanMs === undefined ? -1 : now - olderThanMs,
      )
      .toArray()
      .map((r) => storedJob(r.job));
  }

  /** When unconfirmed effects are next due to be checked, or null when nothing is pending. */
  nextWake(): number | null {
    const row = this.sql
      .exec<{ at: number | null }>("SELECT min(due_at) AS at FROM pending_effects")
      .one();
    return row.at;
  }
}
