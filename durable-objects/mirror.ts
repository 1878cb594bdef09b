// The D1 mirror of an enrollment: the summary that list queries, funnels and the watchdog need
// (status, current step, wait, next run), written with a growing seq so that a late, stale
// write never wins. Step counters and update_contact merges ride in the same batch; what a
// failed write did not carry is kept for the next one.
import type { Db } from "../src/db/client";
import { type StepCounts, writeMirror } from "../src/db/enrollments";
import type { EnrollmentState, LogLine } from "../src/engine/types";

interface Pending {
  seq: number;
  /** Logs whose step counters are not yet in D1. */
  counts: Record<string, StepCounts>;
  /** update_contact merges not yet written to D1. */
  contactData: Record<string, unknown>;
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

  /** update_contact merges the object has made and D1 does not hold yet. */
  unwrittenContactData(): Record<string, unknown> {
    return this.pending().contactData;
  }

  /** Counts a run's log lines and keeps its contact merges, for the next write. */
  note(logs: LogLine[], contactData: Record<string, unknown> = {}) {
    const p = this.pending();
    Object.assign(p.contactData, contactData);
    for (const l of logs) {
      if (!l.stepId || !l.stepType) {
        continue;
      }
      const c = countsFor(p.counts, l.stepId);
      if (l.status === "started") {
        c.entered++;
      } else if (l.status === "completed" || l.status === "skipped") {
        c.completed++;
      } else if (l.status === "failed") {
        c.failed++;
      }
    }
    this.kv.put(KEY, p);
  }

  /** Writes the summary with the next seq; pending counters and contact merges ride in the same batch. */
  async write(state: EnrollmentState, nextRunAt: number | null = null): Promise<void> {
    const p = this.pending();
    const seq = p.seq + 1;
    this.kv.put(KEY, { seq, counts: {}, contactData: {} });
    const active = state.status === "running" || state.status === "waiting";
    const merge =
      Object.keys(p.contactData).length > 0
        ? { orgId: state.orgId, contactId: state.contactId, data: p.contactData }
        : null;
    try {
      await writeMirror(
        this.db(),
        state.workflowId,
        {
          id: state.id,
          seq,
          status: state.status,
          currentStepId: state.currentStepId,
          nextRunAt: active ? (nextRunAt ?? state.wait?.until ?? null) : nextRunAt,
          waitingEvent:
            state.status === "waiting" && state.wait?.kind === "event"
              ? (state.wait.event ?? null)
              : null,
          waitingUntil: state.status === "waiting" ? (state.wait?.until ?? null) : null,
          exitReason: state.exitReason,
          // Objects started before errors had codes kept a plain message.
          error: typeof state.error === "string" ? state.error : (state.error?.message ?? null),
          errorCode: typeof state.error === "string" ? "step_failed" : (state.error?.code ?? null),
          updatedAt: Date.now(),
          completedAt: state.completedAt,
        },
        Object.values(p.counts),
        merge,
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
      this.kv.put(KEY, cur);
      throw err;
    }
  }
}
