// The D1 mirror of an enrollment: the summary that list queries, funnels and the watchdog need
// (status, current step, wait, next run, effects not yet confirmed), written with a growing
// seq so that a late, stale write never wins. Step counters, analytics counts and
// update_contact merges ride in the same batch; what a failed write did not carry is kept for
// the next one.
//
// Coalesced: a run that leaves the enrollment running, or waiting on a timer due within
// MIRROR_DEFER_MS, writes nothing — the next run's write carries it. Waiting for an event, a
// longer wait and an update_contact merge are written at once. Finishing is written once its
// last effects are confirmed (usually within a second), or at the first redelivery check if
// they are not, then showing how many are still pending — so D1 never shows an enrollment
// completed while its work is unaccounted for.

import { sql } from "drizzle-orm";
import { type EnrollmentFact, enrollmentCountStatements } from "../../analytics";
import type { Db } from "../../db/client";
import { gapBucket, type StepFact } from "../../engine/metrics";
import type { EnrollmentState, LogLine } from "../../engine/types";
import { summaryOf } from "../enrollments";
import { writeMirror } from "../store";

/** A wait this short is not worth a D1 write: the run after it writes. */
export const MIRROR_DEFER_MS = 5_000;

interface Pending {
  seq: number;
  /** The unconfirmed effects the last write reported. */
  effects?: number;
  /** A run's state that no write has carried yet. */
  dirty?: boolean;
  /**
   * What the runs counted (steps entered, completed, failed, ended; enrolled, the end, a
   * variant) and no write has carried into D1. Each keeps the seq of the first write that
   * carried it: a retry after a write D1 applied (but whose answer was lost) adds nothing.
   */
  facts?: (EnrollmentFact & { seq?: number })[];
  /** Step counters noted by objects older than `facts` (converted at their next write). */
  counts?: Record<string, { entered: number; completed: number; failed: number }>;
  /** update_contact merges not yet written to D1. */
  contactData: Record<string, unknown>;
  /** `enrolled` and the ending are counted once. */
  counted?: { enrolled?: boolean; ended?: boolean };
  /** When the last step was entered (the funnel's time between steps). */
  lastEnteredAt?: number;
  /** The variant the first A/B split chose, until D1 holds it. */
  variant?: string;
}

const KEY = "mirror";

export class Mirror {
  constructor(
    private readonly kv: SyncKvStorage,
    /** The org's database (its shard). */
    private readonly db: (orgId: string) => Promise<Db>,
  ) {}

  private pending(): Pending {
    const stored = this.kv.get<Pending>(KEY);
    if (stored) {
      return stored;
    }
    // Objects started before the mirror kept its own key held these in "meta".
    const legacy = this.kv.get<{
      seq?: number;
      pendingCounts?: Pending["counts"];
      pendingContactData?: Record<string, unknown>;
    }>("meta");
    return {
      seq: legacy?.seq ?? 0,
      counts: legacy?.pendingCounts ?? {},
      contactData: legacy?.pendingContactData ?? {},
    };
  }

  /** update_contact merges the object has made and D1 does not hold yet. */
  unwrittenContactData(): Record<string, unknown> {
    return this.pending().contactData;
  }

  /**
   * Counts a run's log lines and its end, and keeps its contact merges, for the next write
   * (`started`: the enrollment's first run).
   */
  note(
    state: EnrollmentState,
    logs: LogLine[],
    contactData: Record<string, unknown> = {},
    started = false,
  ) {
    const p = this.pending();
    Object.assign(p.contactData, contactData);
    p.facts ??= [];
    p.counted ??= {};
    const { facts, counted } = p;
    const step = (stepId: string, at: number, s: StepFact) => facts.push({ at, stepId, step: s });
    const now = logs.at(-1)?.at ?? Date.now();
    if (started && !counted.enrolled) {
      counted.enrolled = true;
      facts.push({ at: logs[0]?.at ?? now, metric: "enrolled" });
    }
    for (const l of logs) {
      if (!l.stepId || !l.stepType) {
        continue;
      }
      if (l.status === "started") {
        step(l.stepId, l.at, { kind: "entered" });
        if (p.lastEnteredAt !== undefined) {
          step(l.stepId, l.at, { kind: "gap", bucket: gapBucket(l.at - p.lastEnteredAt) });
        }
        p.lastEnteredAt = l.at;
      } else if (l.status === "completed" || l.status === "skipped") {
        step(l.stepId, l.at, { kind: "completed" });
        if (l.stepType === "split" && l.outcome && p.variant === undefined) {
          p.variant = l.outcome;
          facts.push({ at: l.at, metric: "assigned", variant: l.outcome });
        }
      } else if (l.status === "failed") {
        step(l.stepId, l.at, { kind: "failed" });
      }
    }
    const finished = !(state.status === "running" || state.status === "waiting");
    if (finished && !counted.ended) {
      counted.ended = true;
      const at = state.completedAt ?? now;
      const variant = p.variant ?? null;
      facts.push({ at, metric: state.status, variant });
      // An exit: an exit step, an exitOn event, a reply, a cancellation's reason — not the end of the steps.
      const exited = state.exitReason !== null && state.exitReason !== "completed";
      if (exited) {
        facts.push(
          { at, metric: "exited", variant },
          { at, metric: `exited.${state.exitReason}`, variant },
        );
      }
      // Where it ended, for the funnel's drop-off.
      if (state.currentStepId) {
        const how = state.status === "completed" && exited ? "exited" : state.status;
        step(state.currentStepId, at, { kind: "ended", how });
      }
    }
    this.kv.put(KEY, p);
  }

  /** The pending counts as statements, a group per seq they were first written with. */
  private async countStatements(
    db: Db,
    state: EnrollmentState,
    facts: (EnrollmentFact & { seq: number })[],
  ) {
    const bySeq = new Map<number, EnrollmentFact[]>();
    for (const { seq, ...f } of facts) {
      bySeq.set(seq, [...(bySeq.get(seq) ?? []), f]);
    }
    const out = [];
    for (const [seq, group] of bySeq) {
      out.push(
        ...(await enrollmentCountStatements(
          db,
          state,
          group,
          sql`(select seq from enrollments where id = ${state.id}) < ${seq}`,
        )),
      );
    }
    return out;
  }

  /** Writes now, or leaves it to a later run, confirmation or redelivery check. */
  async settle(
    state: EnrollmentState,
    wakeAt: number | null,
    pendingEffects: number,
    now = Date.now(),
  ): Promise<void> {
    const p = this.pending();
    const finished = !(state.status === "running" || state.status === "waiting");
    const deferrable =
      (finished && pendingEffects > 0) ||
      state.status === "running" ||
      (state.status === "waiting" &&
        state.wait?.kind !== "event" &&
        wakeAt !== null &&
        wakeAt - now <= MIRROR_DEFER_MS);
    if (deferrable && Object.keys(p.contactData).length === 0) {
      this.kv.put(KEY, { ...p, dirty: true });
      return;
    }
    await this.write(state, wakeAt, pendingEffects);
  }

  /**
   * A finished enrollment: write what D1 has not seen — its end (once its effects are
   * confirmed, or with the count still pending), or the confirmation of effects it reported.
   */
  async flush(state: EnrollmentState, nextRunAt: number | null, pendingEffects: number) {
    const p = this.pending();
    if (p.dirty || (p.effects ?? 0) !== pendingEffects) {
      await this.write(state, nextRunAt, pendingEffects);
    }
  }

  /** Writes the summary with the next seq; pending counters and contact merges ride in the same batch. */
  async write(
    state: EnrollmentState,
    nextRunAt: number | null = null,
    pendingEffects = 0,
  ): Promise<void> {
    const p = this.pending();
    const seq = p.seq + 1;
    // Counts first written now carry this seq for good: a retry of a write that D1 applied
    // after all finds the enrollment's seq at or past it, and adds nothing.
    const noted: (EnrollmentFact & { seq?: number })[] = [
      ...legacyFacts(p.counts),
      ...(p.facts ?? []),
    ];
    const facts = noted.map((f) => ({ ...f, seq: f.seq ?? seq }));
    this.kv.put(KEY, {
      ...p,
      seq,
      effects: pendingEffects,
      dirty: false,
      counts: {},
      contactData: {},
      facts: [],
    });
    const merge =
      Object.keys(p.contactData).length > 0
        ? { orgId: state.orgId, contactId: state.contactId, data: p.contactData }
        : null;
    try {
      const db = await this.db(state.orgId);
      await writeMirror(
        db,
        {
          id: state.id,
          seq,
          ...summaryOf(state, nextRunAt, pendingEffects),
          ...(p.variant ? { variant: p.variant } : {}),
          updatedAt: Date.now(),
        },
        merge,
        await this.countStatements(db, state, facts),
      );
    } catch (err) {
      // Put back what was not written (with the seq it was first written with), under anything newer.
      const cur = this.pending();
      cur.contactData = { ...p.contactData, ...cur.contactData };
      cur.facts = [...facts, ...(cur.facts ?? [])];
      cur.effects = p.effects;
      cur.dirty = true;
      this.kv.put(KEY, cur);
      throw err;
    }
  }
}

/** Step counters of objects from before `facts`, as facts of now. */
function legacyFacts(counts: Pending["counts"]): EnrollmentFact[] {
  const now = Date.now();
  const out: EnrollmentFact[] = [];
  for (const [stepId, c] of Object.entries(counts ?? {})) {
    for (const kind of ["entered", "completed", "failed"] as const) {
      for (let i = 0; i < c[kind]; i++) {
        out.push({ at: now, stepId, step: { kind } });
      }
    }
  }
  return out;
}
