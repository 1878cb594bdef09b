// Isolate-local counters for benchmarks and debugging: D1 statements and the rows D1 reports
// written (index entries included), per unit of work (a request, an enrollment object's work,
// a queue batch, a cron tick), and engine steps. Read by GET /v1/admin/metrics; reset when the isolate restarts.
import { AsyncLocalStorage } from "node:async_hooks";

export type UnitKind = "request" | "object" | "queue" | "cron";

interface D1Counts {
  queries: number;
  rowsWritten: number;
}

const unit = new AsyncLocalStorage<UnitKind>();
const d1: Record<UnitKind | "other", D1Counts> = {
  request: { queries: 0, rowsWritten: 0 },
  object: { queries: 0, rowsWritten: 0 },
  queue: { queries: 0, rowsWritten: 0 },
  cron: { queries: 0, rowsWritten: 0 },
  other: { queries: 0, rowsWritten: 0 },
};
const engine = { steps: 0, alarms: 0 };
const startedAt = Date.now();

/** Runs `fn` as one unit of work of `kind`; D1 counts made inside are attributed to it. */
export function inUnit<T>(kind: UnitKind, fn: () => T): T {
  return unit.run(kind, fn);
}

export function countD1(queries: number, rowsWritten: number) {
  const c = d1[unit.getStore() ?? "other"];
  c.queries += queries;
  c.rowsWritten += rowsWritten;
}

export function countEngine(steps: number) {
  engine.steps += steps;
  engine.alarms += 1;
}

export function metricsSnapshot() {
  return {
    startedAt: new Date(startedAt).toISOString(),
    d1: structuredClone(d1),
    engine: { ...engine },
  };
}
