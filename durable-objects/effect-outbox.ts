// The effect outbox: effects handed to a queue and not yet confirmed by their consumer, kept in
// the object's SQLite with the job, and sent again when a queue lost them (consumers are
// idempotent by key). It reports when it next needs the object awake.
import type { EffectJob } from "./effects";

export class EffectOutbox {
  constructor(
    private readonly sql: SqlStorage,
    /** Hands jobs to their queues. */
    private readonly send: (jobs: EffectJob[]) => Promise<void>,
    private readonly redeliveryMs: number,
  ) {
    sql.exec(
      "CREATE TABLE IF NOT EXISTS pending_effects (key TEXT PRIMARY KEY, job TEXT NOT NULL, dispatched_at INTEGER NOT NULL)",
    );
  }

  /** Records the jobs as pending (synchronously, with the object's state), then sends them. */
  async dispatch(jobs: EffectJob[]) {
    if (jobs.length === 0) {
      return;
    }
    const now = Date.now();
    for (const j of jobs) {
      this.sql.exec(
        "INSERT OR REPLACE INTO pending_effects (key, job, dispatched_at) VALUES (?, ?, ?)",
        j.key,
        JSON.stringify(j),
        now,
      );
    }
    await this.send(jobs);
  }

  confirm(keys: string[]) {
    for (const key of keys) {
      this.sql.exec("DELETE FROM pending_effects WHERE key = ?", key);
    }
  }

  /** Jobs dispatched long enough ago that their queue must have lost them. */
  due(now = Date.now()): EffectJob[] {
    return this.sql
      .exec<{ job: string }>(
        "SELECT job FROM pending_effects WHERE dispatched_at <= ?",
        now - this.redeliveryMs,
      )
      .toArray()
      .map((r) => JSON.parse(r.job) as EffectJob);
  }

  /** When unconfirmed effects are due to be sent again, or null when nothing is pending. */
  nextWake(): number | null {
    const row = this.sql
      .exec<{ at: number | null }>("SELECT min(dispatched_at) AS at FROM pending_effects")
      .one();
    return row.at === null ? null : row.at + this.redeliveryMs;
  }
}
