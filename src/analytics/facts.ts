// Counting what happens, for analytics. Where a fact happens (a consumer settling a message, the
// edge's engagement batch, the event fan-out finding a goal), it is recorded as a fact with an
// id derived from what happened: `msg_…:sent`, `<edge hit id>:h`, `enr_…:converted`. A fact
// whose id is stored already is ignored, so a retried write never counts twice; the daily
// rollups add only the facts a write inserted (src/analytics/store.ts). An enrollment's own facts
// (enrolled, steps, its end) ride in its mirror write instead, guarded by the write's seq —
// no fact rows, the same exactness (src/enrollments/object/mirror.ts).

import type { SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import type { messages } from "../db/schema";
import { dayKey, type StepFact } from "../engine/metrics";
import { newId } from "../ground/ids";
import {
  type FactRow,
  factStatements,
  guardedStatements,
  ownerGuardedStatements,
  reportingZone,
  type StepDay,
  stepDayStatements,
  writeFacts,
} from "./store";

type MessageRow = typeof messages.$inferSelect;

export interface Fact {
  /** Unique per counted thing: a retry of the same fact must carry the same id. */
  id: string;
  orgId: string;
  metric: string;
  value?: number;
  at: number;
  workflowId?: string | null;
  stepId?: string | null;
  channel?: string | null;
  connectionId?: string | null;
  category?: string | null;
  variant?: string | null;
}

/** A message's category when it has none (rows from before categories, tasks). */
export const DEFAULT_CATEGORY = "marketing";

/** An org's reporting zone, remembered a minute per isolate (PATCH /v1/account forgets it here). */
const ZONE_TTL_MS = 60_000;
const zones = new Map<string, { zone: string; until: number }>();

export async function zoneOf(db: Db, orgId: string, now = Date.now()): Promise<string> {
  const hit = zones.get(orgId);
  if (hit && hit.until > now) {
    return hit.zone;
  }
  const zone = await reportingZone(db, orgId);
  if (zones.size > 10_000) {
    zones.clear();
  }
  zones.set(orgId, { zone, until: now + ZONE_TTL_MS });
  return zone;
}

export const forgetZone = (orgId: string) => zones.delete(orgId);

/** Facts as rows: the day in UTC and in the org's reporting zone, empty dimensions as ''. */
export async function factRows(db: Db, facts: Fact[]): Promise<FactRow[]> {
  const orgZones = new Map<string, string>();
  for (const orgId of new Set(facts.map((f) => f.orgId))) {
    orgZones.set(orgId, await zoneOf(db, orgId));
  }
  return facts.map((f) => {
    const zone = orgZones.get(f.orgId) ?? "UTC";
    return {
      id: f.id,
      orgId: f.orgId,
      at: f.at,
      dayUtc: dayKey(f.at, "UTC"),
      zone,
      dayLocal: dayKey(f.at, zone),
      workflowId: f.workflowId ?? "",
      stepId: f.stepId ?? "",
      channel: f.channel ?? "",
      connectionId: f.connectionId ?? "",
      category: f.category ?? "",
      variant: f.variant ?? "",
      metric: f.metric,
      value: f.value ?? 1,
    };
  });
}

/** Statements to put in the batch that makes the facts true (atomic with them). */
export async function factBatch(db: Db, facts: Fact[]) {
  return factStatements(db, await factRows(db, facts), newId("fb"));
}

/** What an enrollment counts of itself: a metric (enrolled, its end, a variant), or a step's. */
export type EnrollmentFact =
  | { at: number; metric: string; variant?: string | null }
  | { at: number; stepId: string; step: StepFact };

/**
 * Statements adding an enrollment's facts, each applied only while `guard` holds (the mirror's
 * seq, see src/enrollments/object/mirror.ts): its metrics to the rollups and totals, its steps' counts
 * to step_daily — per day in UTC and, when it differs, in the org's reporting zone.
 */
export async function enrollmentCountStatements(
  db: Db,
  e: { orgId: string; workflowId: string },
  facts: EnrollmentFact[],
  guard: SQL,
) {
  if (facts.length === 0) {
    return [];
  }
  const zone = await zoneOf(db, e.orgId);
  const metrics: Fact[] = [];
  const days = new Map<string, StepDay>();
  for (const f of facts) {
    if ("metric" in f) {
      metrics.push({ id: "", orgId: e.orgId, workflowId: e.workflowId, ...f });
      continue;
    }
    for (const z of zone === "UTC" ? ["UTC"] : ["UTC", zone]) {
      const day = dayKey(f.at, z);
      const k = `${f.stepId} ${z} ${day}`;
      let d = days.get(k);
      if (!d) {
        d = {
          stepId: f.stepId,
          zone: z,
          day,
          entered: 0,
          completed: 0,
          failed: 0,
          ended: {},
          gaps: {},
        };
        days.set(k, d);
      }
      const s = f.step;
      if (s.kind === "gap") {
        d.gaps[s.bucket] = (d.gaps[s.bucket] ?? 0) + 1;
      } else if (s.kind === "ended") {
        d.ended[s.how] = (d.ended[s.how] ?? 0) + 1;
      } else {
        d[s.kind] += 1;
      }
    }
  }
  return [
    ...stepDayStatements(db, e.workflowId, [...days.values()], guard),
    ...guardedStatements(db, await factRows(db, metrics), guard),
  ];
}

/**
 * Statements adding facts that their owners guard (a message row's `counted`, see
 * src/messaging/store.ts): each fact adds only while `guard(owner)` holds when the batch
 * runs. No fact rows: the owner's flag, flipped in the same batch, is what keeps a retry from
 * counting twice.
 */
export async function ownedFactStatements(
  db: Db,
  facts: (Fact & { owner: string })[],
  guard: (owner: SQL) => SQL,
) {
  const rows = await factRows(db, facts);
  return ownerGuardedStatements(
    db,
    rows.map((r, i) => ({ ...r, owner: facts[i].owner })),
    guard,
  );
}

/** Records facts on their own (callers whose state change is already durable and retried). */
export async function recordFacts(db: Db, facts: Fact[]) {
  if (facts.length > 0) {
    await writeFacts(db, await factRows(db, facts), newId("fb"));
  }
}

/** A fact about a message (email, SMS, call): its workflow, step, channel, connection and category. */
export function messageFact(
  msg: Pick<MessageRow, "id" | "orgId" | "workflowId" | "stepId" | "connectionId"> & {
    channel?: MessageRow["channel"];
    category?: MessageRow["category"];
  },
  metric: string,
  at: number,
  id = `${msg.id}:${metric}`,
): Fact {
  return {
    id,
    orgId: msg.orgId,
    metric,
    at,
    workflowId: msg.workflowId,
    stepId: msg.stepId,
    channel: msg.channel ?? "email",
    connectionId: msg.connectionId,
    category: msg.category ?? DEFAULT_CATEGORY,
  };
}
