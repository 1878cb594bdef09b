// One enrollment = one Durable Object. It keeps the enrollment's state and log in its own
// SQLite storage, wakes by alarm, runs the pure engine, hands side effects to queues with
// deterministic keys, mirrors a summary into D1 (seq-guarded), and re-arms last.
import { DurableObject } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { database } from "../src/db/client";
import { type Mirror, type StepCounts, writeMirror } from "../src/db/enrollments";
import { contacts, workflows } from "../src/db/schema";
import { type EffectJob, jobsFor, sendJobs } from "../src/delivery/dispatch";
import { advance, initialState } from "../src/engine/advance";
import type { AdvanceResult, EmitEffect, EngineInput, EnrollmentState, LogLine, WorkflowDefinition } from "../src/engine/types";
import { contactSnapshot, type StartPayload } from "../src/enrollments";
import type { Env } from "../src/env";
import { countEngine, inUnit } from "../src/metrics";

/** An effect not confirmed by its consumer within this long is sent again (consumers are idempotent by key). */
const DEFAULT_REDELIVERY_MS = 120_000;
/** While the workflow is paused, held enrollments look again this often. */
const HOLD_RECHECK_MS = 30_000;
/** The runtime retries a throwing alarm up to 6 times; on the last one we fail the enrollment instead. */
const LAST_ALARM_RETRY = 5;

type EndEvent = "enrollment.completed" | "enrollment.cancelled" | "enrollment.failed";

interface Meta {
  definition: WorkflowDefinition;
  seq: number;
  /** update_contact merges not yet written to D1. */
  pendingContactData: Record<string, unknown>;
  /** Logs whose step counters are not yet in D1. */
  pendingCounts: Record<string, StepCounts>;
  lastError?: string;
}

/** enrollment.created/completed/failed/cancelled, keyed once per enrollment and status. */
function lifecycleEffect(state: EnrollmentState, eventType: EmitEffect["eventType"]): EmitEffect {
  return {
    type: "emit",
    key: `${state.id}:${eventType}`,
    eventType,
    data: {
      enrollmentId: state.id,
      workflowId: state.workflowId,
      contactId: state.contactId,
      status: state.status,
      exitReason: state.exitReason,
      error: state.error,
    },
  };
}

function countsFor(counts: Record<string, StepCounts>, stepId: string): StepCounts {
  counts[stepId] ??= { stepId, entered: 0, completed: 0, failed: 0 };
  return counts[stepId];
}

export interface EnrollmentSnapshot {
  state: EnrollmentState;
  logs: LogLine[];
  nextRunAt: number | null;
  version: number;
}

export class EnrollmentDO extends DurableObject<Env> {
  private readonly kv: SyncKvStorage;
  /** Engine passes and endings run one at a time, even across awaits on D1 and queues. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.kv = ctx.storage.kv;
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS logs (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, step_id TEXT, step_type TEXT,
      status TEXT NOT NULL, message TEXT NOT NULL, outcome TEXT, data TEXT)`);
    // Effects handed to a queue and not yet confirmed by their consumer; re-sent if a queue loses them.
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS pending_effects (key TEXT PRIMARY KEY, job TEXT NOT NULL, dispatched_at INTEGER NOT NULL)");
  }

  // ---- RPC -------------------------------------------------------------------------------

  /** Idempotent: a second start of the same enrollment changes nothing. */
  async start(p: StartPayload): Promise<boolean> {
    return this.serial(() => this.begin(p));
  }

  private async begin(p: StartPayload): Promise<boolean> {
    if (this.kv.get("state") || this.kv.get("tombstone")) return false;
    const state = initialState(
      {
        id: p.enrollmentId,
        orgId: p.orgId,
        workflowId: p.workflowId,
        contactId: p.contactId,
        contact: p.contact,
        vars: p.vars,
        event: p.event,
        timezone: p.timezone,
        bypassSendWindow: p.bypassSendWindow,
      },
      p.startAt,
    );
    const meta: Meta = { definition: p.definition, seq: 0, pendingContactData: {}, pendingCounts: {} };
    this.kv.put("meta", meta);
    await this.dispatch(await jobsFor(state, meta.definition, [lifecycleEffect(state, "enrollment.created")]));
    this.save(state, []);
    await this.ctx.storage.setAlarm(p.startAt ?? Date.now());
    return true;
  }

  /** An event for this enrollment; true when it resumed a wait. */
  async deliverEvent(name: string, data: Record<string, unknown>): Promise<boolean> {
    const state = this.state();
    if (state?.status !== "waiting" || state.wait?.kind !== "event" || state.wait.event !== name) return false;
    const result = await this.serial(() => this.run({ type: "event", name, data }));
    return result?.changed === true;
  }

  /** exitOn: ends an active enrollment as completed with `exit_on:<name>`. */
  async exitOn(name: string): Promise<boolean> {
    return this.end("completed", `exit_on:${name}`, null, "enrollment.completed");
  }

  async cancel(reason: string): Promise<boolean> {
    if (!this.state()) {
      // Never started (or start lost): leave a tombstone so a late start cannot revive it.
      this.kv.put("tombstone", reason);
      return false;
    }
    return this.end("cancelled", reason, null, "enrollment.cancelled");
  }

  /** Consumers confirm effects they have durably recorded or finished. */
  async ackEffects(keys: string[]): Promise<void> {
    if (!this.state()) return; // never started, or deleted: nothing is tracked
    for (const key of keys) this.ctx.storage.sql.exec("DELETE FROM pending_effects WHERE key = ?", key);
  }

  /** A permanent delivery failure reported by a consumer for a step that does not continue on error. */
  async failFromDelivery(stepId: string, error: string): Promise<boolean> {
    return this.end("failed", null, `Step ${stepId}: ${error}`, "enrollment.failed");
  }

  /**
   * Contact erasure: drop the personal data this object holds — the contact snapshot, the
   * variables and trigger data, and log text rendered from templates.
   */
  async forgetContact(): Promise<void> {
    await this.serial(async () => {
      const state = this.state();
      if (!state) return;
      this.kv.put("state", { ...state, contact: { id: state.contactId, data: {} }, vars: {}, event: {} });
      this.ctx.storage.sql.exec("UPDATE logs SET message = '[erased]', data = NULL WHERE step_type IN ('log', 'webhook', 'update_contact')");
    });
  }

  /** DELETE /v1/enrollments/:id: cancel if active, then drop everything this object stored. */
  async destroy(): Promise<void> {
    await this.end("cancelled", "deleted", null, "enrollment.cancelled");
    await this.serial(async () => {
      await this.ctx.storage.deleteAlarm();
      await this.ctx.storage.deleteAll();
      this.kv.put("tombstone", "deleted");
    });
  }

  async snapshot(): Promise<EnrollmentSnapshot | null> {
    const state = this.state();
    const meta = this.meta();
    if (!state || !meta) return null;
    const logs = this.ctx.storage.sql
      .exec<{ at: number; step_id: string | null; step_type: string | null; status: string; message: string; outcome: string | null; data: string | null }>(
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
    return { state, logs, nextRunAt: await this.ctx.storage.getAlarm(), version: meta.definition.version };
  }

  /** The watchdog: re-arm a lost alarm and re-mirror. */
  async poke(): Promise<"rearmed" | "ok" | "finished" | "not_started"> {
    const state = this.state();
    if (!state) return "not_started";
    const active = state.status === "running" || state.status === "waiting";
    if ((active || this.oldestPending() !== null) && (await this.ctx.storage.getAlarm()) == null) {
      await this.ctx.storage.setAlarm(Date.now());
      return "rearmed";
    }
    if (!active) {
      await this.serial(() => this.mirror(state, this.redeliveryAt()));
      return "finished";
    }
    return "ok";
  }

  // ---- alarm -----------------------------------------------------------------------------

  override async alarm(info?: AlarmInvocationInfo): Promise<void> {
    try {
      await this.serial(() => this.run({ type: "wake" }));
      await this.serial(() => this.redeliver());
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const meta = this.meta();
      if (meta) {
        meta.lastError = message;
        this.kv.put("meta", meta);
      }
      console.error(
        JSON.stringify({ level: "error", msg: "enrollment alarm failed", enrollmentId: this.state()?.id, retryCount: info?.retryCount ?? 0, error: message }),
      );
      if ((info?.retryCount ?? 0) >= LAST_ALARM_RETRY) {
        // Never silently stuck: record the failure even if the queues or D1 are what is failing.
        const reason = `Alarm failed after ${(info?.retryCount ?? 0) + 1} attempts: ${message}`;
        await this.serial(() => this.finish("failed", null, reason, "enrollment.failed", true));
        return;
      }
      throw err;
    }
  }

  // ---- internals -------------------------------------------------------------------------

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const unit = () => inUnit("object", fn);
    const p = this.chain.then(unit, unit);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private state() {
    return this.kv.get<EnrollmentState>("state");
  }

  private meta() {
    return this.kv.get<Meta>("meta");
  }

  /** One engine pass: refresh what D1 knows (workflow status, contact), advance, hand off effects, persist, mirror, re-arm. */
  private async run(input: EngineInput): Promise<AdvanceResult | null> {
    const state = this.state();
    const meta = this.meta();
    if (!state || !meta) return null;
    if (state.status !== "running" && state.status !== "waiting") return null;
    const db = database(this.env.DB);
    const [wf, contact] = await db.batch([
      db.select({ status: workflows.status, deletedAt: workflows.deletedAt }).from(workflows).where(eq(workflows.id, state.workflowId)),
      db.select().from(contacts).where(eq(contacts.id, state.contactId)),
    ]);
    if (!wf[0] || wf[0].deletedAt != null) {
      await this.finish("cancelled", "workflow_deleted", null, "enrollment.cancelled");
      return null;
    }
    if (contact[0]?.erasedAt != null) {
      await this.finish("cancelled", "contact_deleted", null, "enrollment.cancelled");
      return null;
    }
    if (contact[0]) state.contact = { ...contactSnapshot(contact[0]), data: { ...contact[0].data, ...meta.pendingContactData } };
    const now = Date.now();
    if (wf[0].status === "paused" && input.type === "wake") {
      // Held at its next step until the workflow is active again.
      const holdUntil = now + HOLD_RECHECK_MS;
      await this.mirror(state, holdUntil);
      await this.ctx.storage.setAlarm(holdUntil);
      return null;
    }

    const result = advance(meta.definition, state, input, now);
    const steps = result.logs.filter((l) => l.status === "started").length;
    // Effects first: a crash after this re-runs the same visit with the same keys, which consumers dedupe.
    await this.dispatch(await jobsFor(result.state, meta.definition, result.effects));
    const merged = Object.assign({}, ...result.effects.map((e) => (e.type === "update_contact" ? e.data : {})));
    this.save(result.state, result.logs, merged);
    await this.mirror(result.state, result.wakeAt);
    await this.arm(result.wakeAt);
    countEngine(steps);
    return result;
  }

  /** Ends an active enrollment from outside the engine (cancel, exitOn, failure). */
  private end(status: "completed" | "cancelled" | "failed", reason: string | null, error: string | null, eventType: EndEvent) {
    return this.serial(() => this.finish(status, reason, error, eventType));
  }

  /** `tolerant`: the state is saved even when emitting or mirroring fails (the watchdog re-mirrors later). */
  private async finish(status: "completed" | "cancelled" | "failed", reason: string | null, error: string | null, eventType: EndEvent, tolerant = false) {
    const state = this.state();
    const meta = this.meta();
    if (!state || !meta || (state.status !== "running" && state.status !== "waiting")) return false;
    const now = Date.now();
    const next: EnrollmentState = { ...state, status, wait: null, exitReason: reason, error, completedAt: now };
    const line: LogLine = {
      at: now,
      stepId: state.currentStepId,
      stepType: null,
      status: status === "failed" ? "failed" : "completed",
      message: error ?? `Enrollment ${status}${reason ? `: ${reason}` : ""}`,
    };
    const emit = jobsFor(next, meta.definition, [lifecycleEffect(next, eventType)]).then((jobs) => this.dispatch(jobs));
    if (tolerant)
      await emit.catch((err: unknown) =>
        console.error(JSON.stringify({ level: "error", msg: "emit on failure lost", enrollmentId: state.id, error: String(err) })),
      );
    else await emit;
    this.save(next, [line]);
    await this.arm(null);
    const mirrored = this.mirror(next, this.redeliveryAt());
    if (tolerant)
      await mirrored.catch((err) =>
        console.error(JSON.stringify({ level: "error", msg: "mirror deferred to watchdog", enrollmentId: state.id, error: String(err) })),
      );
    else await mirrored;
    return true;
  }

  private redeliveryMs() {
    return Number(this.env.EFFECT_REDELIVERY_SECONDS ?? DEFAULT_REDELIVERY_MS / 1000) * 1000;
  }

  /** Records the jobs as pending (synchronously, with the state), then sends them. */
  private async dispatch(jobs: EffectJob[]) {
    if (jobs.length === 0) return;
    const now = Date.now();
    for (const j of jobs) {
      this.ctx.storage.sql.exec("INSERT OR REPLACE INTO pending_effects (key, job, dispatched_at) VALUES (?, ?, ?)", j.key, JSON.stringify(j), now);
    }
    await sendJobs(this.env, jobs);
  }

  private oldestPending(): number | null {
    const row = this.ctx.storage.sql.exec<{ at: number | null }>("SELECT min(dispatched_at) AS at FROM pending_effects").one();
    return row.at ?? null;
  }

  /** When unconfirmed effects are due to be sent again, or null. */
  private redeliveryAt(): number | null {
    const oldest = this.oldestPending();
    return oldest === null ? null : oldest + this.redeliveryMs();
  }

  /** Sends again the effects whose consumer never confirmed them (a queue lost them). */
  private async redeliver() {
    const cutoff = Date.now() - this.redeliveryMs();
    const due = this.ctx.storage.sql
      .exec<{ job: string }>("SELECT job FROM pending_effects WHERE dispatched_at <= ?", cutoff)
      .toArray()
      .map((r) => JSON.parse(r.job) as EffectJob);
    if (due.length > 0) {
      console.log(JSON.stringify({ level: "warn", msg: "re-sending unconfirmed effects", enrollmentId: this.state()?.id, count: due.length }));
      await this.dispatch(due);
    }
    const state = this.state();
    const active = state && (state.status === "running" || state.status === "waiting");
    if (!active) {
      await this.arm(null);
      if (state && due.length > 0) await this.mirror(state, this.redeliveryAt());
    } else if (due.length > 0) {
      await this.arm(state.wait?.until ?? null);
    }
  }

  /** The alarm is the earlier of the engine's wake time and the next redelivery check. */
  private async arm(wakeAt: number | null) {
    const redeliver = this.redeliveryAt();
    const at = wakeAt === null ? redeliver : redeliver === null ? wakeAt : Math.min(wakeAt, redeliver);
    if (at === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(at);
  }

  private save(state: EnrollmentState, logs: LogLine[], contactData: Record<string, unknown> = {}) {
    const meta = this.meta() as Meta;
    Object.assign(meta.pendingContactData, contactData);
    for (const l of logs) {
      this.ctx.storage.sql.exec(
        "INSERT INTO logs (at, step_id, step_type, status, message, outcome, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
        l.at,
        l.stepId,
        l.stepType,
        l.status,
        l.message,
        l.outcome ?? null,
        l.data ? JSON.stringify(l.data) : null,
      );
      if (!l.stepId || !l.stepType) continue;
      const c = countsFor(meta.pendingCounts, l.stepId);
      if (l.status === "started") c.entered++;
      else if (l.status === "completed" || l.status === "skipped") c.completed++;
      else if (l.status === "failed") c.failed++;
    }
    this.kv.put("state", state);
    this.kv.put("meta", meta);
  }

  /** Writes the summary to D1 with the next seq; pending counters and contact merges ride in the same batch. */
  private async mirror(state: EnrollmentState, nextRunAt: number | null = null) {
    const meta = this.meta();
    if (!meta) return;
    meta.seq += 1;
    this.kv.put("meta", meta);
    const active = state.status === "running" || state.status === "waiting";
    const m: Mirror = {
      id: state.id,
      seq: meta.seq,
      status: state.status,
      currentStepId: state.currentStepId,
      nextRunAt: active ? (nextRunAt ?? state.wait?.until ?? null) : nextRunAt,
      waitingEvent: state.status === "waiting" && state.wait?.kind === "event" ? (state.wait.event ?? null) : null,
      waitingUntil: state.status === "waiting" ? (state.wait?.until ?? null) : null,
      exitReason: state.exitReason,
      error: state.error,
      updatedAt: Date.now(),
      completedAt: state.completedAt,
    };
    const counts = meta.pendingCounts;
    const data = meta.pendingContactData;
    this.kv.put("meta", { ...meta, pendingCounts: {}, pendingContactData: {} });
    const merge = Object.keys(data).length > 0 ? { orgId: state.orgId, contactId: state.contactId, data } : null;
    try {
      return await writeMirror(database(this.env.DB), state.workflowId, m, Object.values(counts), merge);
    } catch (err) {
      // Put what was not written back, under anything newer.
      const cur = this.meta() as Meta;
      for (const c of Object.values(counts)) {
        const t = countsFor(cur.pendingCounts, c.stepId);
        t.entered += c.entered;
        t.completed += c.completed;
        t.failed += c.failed;
      }
      cur.pendingContactData = { ...data, ...cur.pendingContactData };
      this.kv.put("meta", cur);
      throw err;
    }
  }
}
