// The D1 mirror of an enrollment: the summary that list queries, funnels and the watchdog need
// (status, current step, wait, next run, effects not yet confirmed), written with a growing
// seq so that a late, stale write never wins. Step counters and update_contact merges ride in
// the same batch; what a failed write did not carry is kept for the next one.
//
// Coalesced: a run that leaves the enrollment running, or waiting on a timer due within
// MIRROR_DEFER_MS, writes nothing — the next run's write carries it. Waiting for an event, a
// longer wait and an update_contact merge are written at once. Finishing is written once its
// last effects are confirmed (usually within a second), or at the first redelivery check if
// they are not, then showing how many are still pending — so D1 never shows an enrollment
// completed while its work is unaccounted for.

import { sql } from "drizzle-orm";
import type { Db } from "../src/db/client";
import { type StepCounts, writeMirror } from "../src/db/enrollments";
import { summaryOf } from "../src/domain/enrollments";
import { type Fact, guardedBatch } from "../src/domain/metrics";
import { gapBucket } from "../src/engine/metrics";
import type { EnrollmentState, LogLine } from "../src/engine/types";

/** A wait this short is not worth a D1 write: the run after it writes. */
export const MIRROR_DEFER_MS = 5_000;

interface Pending {
  seq: number;
  /** The unconfirmed effects the last write reported. */
  effects?: number;
  /** A run's state that no write has carried yet. */
  dirty?: boolean;
  /** Logs whose step counters are not yet in D1. */
  counts: Record<string, StepCounts>;
  /** update_contact merges not yet written to D1. */
  contactData: Record<string, unknown>;
  /**
   * Analytics facts not yet in D1. Each keeps the seq of the first write that carried it: a
   * retry after a write D1 applied (but whose answer was lost) adds nothing.
   */
  facts?: (Fact & { seq?: number })[];
  /** Facts noted so far (the next fact's id). */
  factSeq?: number;
  /** `enrolled` and the ending are counted once. */
  counted?: { enrolled?: boolean; ended?: boolean };
  /** When the last step was entered (the funnel's time between steps). */
  lastEnteredAt?: number;
  /** The variant the first A/B split chose, until D1 holds it. */
  variant?: string;
}

const KEY = "mirror";

function countsFor(counts: Record<string, StepCounts>, stepId: string): StepCounts {
  counts[stepId] ??= { stepId, entered: 0, completed: 0, failed: 0 };
  return counts[stepId];
}

export class Mirror {
  constructor(
    private readonly kv: SyncKvStorage,
    private readonly db: () => Db,
  ) {}

  private pending(): Pending {
    const stored = this.kv.get<Pending>(KEY);
    if (stored) {
      return stored;
    }
    // Objects started before the mirror kept its own key held these in "meta".
    const legacy = this.kv.get<{
      seq?: number;
      pendingCounts?: Record<string, StepCounts>;
      pendingContactData?: Record<string, unknown>;
    }>("meta");
    return {
      seq: legacy?.seq ?? 0,
      counts: legacy?.pendingCounts ?? {},
      contactData: legacy?.pendingContactData ?? {},
    };
  }

  /**
   * The rollup statements of pending facts, a pair per seq they were first written with, each
   * adding only while the enrollment's D1 row has not reached that seq (they run before the
   * summary update of the same batch).
   */
  private async factStatements(db: Db, id: string, facts: (Fact & { seq: number })[]) {
    const bySeq = new Map<number, Fact[]>();
    for (const { seq, ...f } of facts) {
      bySeq.set(seq, [...(bySeq.get(seq) ?? []), f]);
    }
    const out = [];
    for (const [seq, group] of bySeq) {
      out.push(
        ...(await guardedBatch(
          db,
          group,
          sql`(select seq from enrollments where id = ${id}) < ${seq}`,
        )),
      );
    }
    return out;
  }

  /** update_contact merges the object has made and D1 does not hold yet. */
  unwrittenContactData(): Record<string, unknown> {
    return this.pending().contactData;
  }

  /**
   * Counts a run's log lines and keeps its contact merges, for the next write; notes the
   * analytics facts of the run (`started`: the enrollment's first run).
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
    const fact = (metric: string, at: number, extra: Partial<Fact> = {}, id?: string) => {
      p.factSeq = (p.factSeq ?? 0) + 1;
      facts.push({
        id: id ?? `${state.id}:${p.factSeq}`,
        orgId: state.orgId,
        workflowId: state.workflowId,
        variant: p.variant ?? null,
        metric,
        at,
        ...extra,
      });
    };
    const now = logs.at(-1)?.at ?? Date.now();
    if (started && !counted.enrolled) {
      counted.enrolled = true;
      fact("enrolled", logs[0]?.at ?? now, {}, `${state.id}:enrolled`);
    }
    for (const l of logs) {
      if (!l.stepId || !l.stepType) {
        continue;
      }
      const c = countsFor(p.counts, l.stepId);
      const step = { stepId: l.stepId };
      if (l.status === "started") {
        c.entered++;
        fact("stepEntered", l.at, step);
        if (p.lastEnteredAt !== undefined) {
          fact(`gap.${gapBucket(l.at - p.lastEnteredAt)}`, l.at, step);
        }
        p.lastEnteredAt = l.at;
      } else if (l.status === "completed" || l.status === "skipped") {
        c.completed++;
        fact("stepCompleted", l.at, step);
        if (l.stepType === "split" && l.outcome && p.variant === undefined) {
          p.variant = l.outcome;
          fact("assigned", l.at, { ...step, variant: l.outcome });
        }
      } else if (l.status === "failed") {
        c.failed++;
        fact("stepFailed", l.at, step);
      }
    }
    const finished = !(state.status === "running" || state.status === "waiting");
    if (finished && !counted.ended) {
      counted.ended = true;
      // Endings are counted at the step they happened on (the funnel's drop-off).
      const at = state.completedAt ?? now;
      const where = { stepId: state.currentStepId };
      fact(state.status, at, where, `${state.id}:${state.status}`);
      if (state.exitReason) {
        fact("exited", at, where, `${state.id}:exited`);
        fact(`exited.${state.exitReason}`, at, where, `${state.id}:exited.reason`);
      }
    }
    this.kv.put(KEY, p);
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
    // Facts first written now carry this seq for good: a retry of a write that D1 applied after
    // all finds the enrollment's seq at or past it, and adds nothing.
    const facts = (p.facts ?? []).map((f) => ({ ...f, seq: f.seq ?? seq }));
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
      const db = this.db();
      await writeMirror(
        db,
        state.workflowId,
        {
          id: state.id,
          seq,
          ...summaryOf(state, nextRunAt, pendingEffects),
          ...(p.variant ? { variant: p.variant } : {}),
          updatedAt: Date.now(),
        },
        Object.values(p.counts),
        merge,
        await this.factStatements(db, state.id, facts),
      );
    } catch (err) {
      // Put back what was not written, under anything newer.
      const cur = this.pending();
      for (const c of Object.values(p.counts)) {
        const t = countsFor(cur.counts, c.stepId);
        t.entered += c.entered;
        t.completed += c.completed;
        t.failed += c.failed;
      }
      cur.contactData = { ...p.contactData, ...cur.contactData };
      cur.facts = [...facts, ...(cur.facts ?? [])];
      cur.effects = p.effects;
      cur.dirty = true;
      this.kv.put(KEY, cur);
      throw err;
    }
  }
}
