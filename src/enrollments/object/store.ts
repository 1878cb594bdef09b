// An enrollment's own storage: its state and the workflow version it pinned (KV), its
// timeline (SQLite), and a tombstone that refuses a start arriving after a cancel or delete.
import type { EnrollmentState, LogLine, WorkflowDefinition } from "../../engine/types";

interface Meta {
  definition: WorkflowDefinition;
  lastError?: string;
}

type LogRow = {
  at: number;
  step_id: string | null;
  step_type: string | null;
  status: string;
  message: string;
  outcome: string | null;
  data: string | null;
};

export class EnrollmentStore {
  private readonly kv: SyncKvStorage;
  private readonly sql: SqlStorage;

  constructor(storage: DurableObjectStorage) {
    this.kv = storage.kv;
    this.sql = storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS logs (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, step_id TEXT, step_type TEXT,
      status TEXT NOT NULL, message TEXT NOT NULL, outcome TEXT, data TEXT)`);
  }

  state(): EnrollmentState | undefined {
    return this.kv.get<EnrollmentState>("state");
  }

  definition(): WorkflowDefinition | undefined {
    return this.kv.get<Meta>("meta")?.definition;
  }

  tombstoned(): boolean {
    return this.kv.get("tombstone") !== undefined;
  }

  tombstone(reason: string) {
    this.kv.put("tombstone", reason);
  }

  begin(definition: WorkflowDefinition) {
    this.kv.put("meta", { definition } satisfies Meta);
  }

  /** The event types the org's webhooks wanted when the object last looked (null: never looked). */
  subscriptions(): string[] | null {
    return this.kv.get<string[]>("subscriptions") ?? null;
  }

  /** A hold on the next step (an automatic reply's return date), logged when placed. */
  held(): { until: number; reason: string } | undefined {
    return this.kv.get<{ until: number; reason: string }>("hold");
  }

  hold(until: number, reason: string) {
    this.kv.put("hold", { until, reason });
    this.sql.exec(
      "INSERT INTO logs (at, step_id, step_type, status, message, outcome, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
      Date.now(),
      null,
      null,
      "waiting",
      `Paused until ${new Date(until).toISOString()}: ${reason}`,
      null,
      JSON.stringify({ until: new Date(until).toISOString() }),
    );
  }

  release() {
    this.kv.delete("hold");
  }

  setSubscriptions(types: string[]) {
    this.kv.put("subscriptions", types);
  }

  /** The new state and the run's log lines, together (the object's storage writes are atomic per run). */
  save(state: EnrollmentState, logs: LogLine[]) {
    for (const l of logs) {
      this.sql.exec(
        "INSERT INTO logs (at, step_id, step_type, status, message, outcome, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
        l.at,
        l.stepId,
        l.stepType,
        l.status,
        l.message,
        l.outcome ?? null,
        l.data ? JSON.stringify(l.data) : null,
      );
    }
    this.kv.put("state", state);
  }

  noteError(message: string) {
    const meta = this.kv.get<Meta>("meta");
    if (meta) {
      this.kv.put("meta", { ...meta, lastError: message });
    }
  }

  logs(): LogLine[] {
    return this.sql
      .exec<LogRow>(
        "SELECT at, step_id, step_type, status, message, outcome, data FROM logs ORDER BY seq",
      )
      .toArray()
      .map((r) => ({
        at: r.at,
        stepId: r.step_id,
        stepType: r.step_type,
        status: r.status as LogLine["status"],
        message: r.message,
        ...(r.outcome ? { outcome: r.outcome } : {}),
        ...(r.data ? { data: JSON.parse(r.data) } : {}),
      }));
  }

  /** Contact erasure: the snapshot, variables and trigger data, and log text rendered from templates. */
  forgetContact() {
    const state = this.state();
    if (!state) {
      return;
    }
    this.kv.put("state", {
      ...state,
      contact: { id: state.contactId, data: {} },
      vars: {},
      event: {},
    });
    this.sql.exec(
      "UPDATE logs SET message = '[erased]', data = NULL WHERE step_type IN ('log', 'webhook', 'update_contact')",
    );
  }
}
