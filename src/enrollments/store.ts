// The D1 index of enrollments: reservation (atomic "already enrolled"), the mirror the
// enrollment objects write with a growing seq, funnels, and the watchdog's overdue scan.
import { and, count, desc, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import { type Db, IN_SLICE } from "../db/client";
import { ACTIVE_STATUSES, contacts, enrollments, webhooks, workflows } from "../db/schema";

export type EnrollmentRow = typeof enrollments.$inferSelect;

/** D1 binds at most 100 parameters per statement. */
/** 28 columns: 3 rows per insert stay under the parameter limit. */
const ROWS_PER_INSERT = 3;

/** Inserts many reservations in one round trip; returns the ids inserted (others conflicted). */
export async function reserveEnrollments(db: Db, rows: EnrollmentRow[]): Promise<Set<string>> {
  if (rows.length === 0) {
    return new Set();
  }
  const stmts = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    stmts.push(
      db
        .insert(enrollments)
        .values(rows.slice(i, i + ROWS_PER_INSERT))
        .onConflictDoNothing()
        .returning({ id: enrollments.id }),
    );
  }
  const out = await db.batch(stmts as [(typeof stmts)[0], ...typeof stmts]);
  return new Set(out.flat().map((r) => r.id));
}

/** Each contact's latest enrollment in the workflow, for many contacts. */
export async function priorEnrollments(db: Db, workflowId: string, contactIds: string[]) {
  const latest = new Map<string, { id: string; status: EnrollmentRow["status"] }>();
  const unique = [...new Set(contactIds)];
  for (let i = 0; i < unique.length; i += IN_SLICE) {
    const rows = await db
      .select({ id: enrollments.id, contactId: enrollments.contactId, status: enrollments.status })
      .from(enrollments)
      .where(
        and(
          eq(enrollments.workflowId, workflowId),
          inArray(enrollments.contactId, unique.slice(i, i + IN_SLICE)),
        ),
      )
      .all();
    for (const r of rows) {
      const cur = latest.get(r.contactId);
      if (!cur || r.id > cur.id) {
        latest.set(r.contactId, { id: r.id, status: r.status });
      }
    }
  }
  return latest;
}

export const releaseReservation = (db: Db, id: string) =>
  db
    .delete(enrollments)
    .where(and(eq(enrollments.id, id), eq(enrollments.seq, 0)))
    .run();

export const getEnrollment = (db: Db, orgId: string, id: string) =>
  db
    .select()
    .from(enrollments)
    .where(and(eq(enrollments.orgId, orgId), eq(enrollments.id, id)))
    .get();

export interface EnrollmentFilter {
  workflowId?: string;
  contactId?: string;
  status?: EnrollmentRow["status"];
  chainKey?: string;
  /** Where they are now: their current step. */
  stepId?: string;
}

export const listEnrollments = (
  db: Db,
  orgId: string,
  f: EnrollmentFilter,
  limit: number,
  before?: string,
) =>
  db
    .select()
    .from(enrollments)
    .where(
      and(
        eq(enrollments.orgId, orgId),
        f.workflowId ? eq(enrollments.workflowId, f.workflowId) : undefined,
        f.contactId ? eq(enrollments.contactId, f.contactId) : undefined,
        f.status ? eq(enrollments.status, f.status) : undefined,
        f.chainKey ? eq(enrollments.chainKey, f.chainKey) : undefined,
        f.stepId ? eq(enrollments.currentStepId, f.stepId) : undefined,
        before ? lt(enrollments.id, before) : undefined,
      ),
    )
    .orderBy(desc(enrollments.id))
    .limit(limit + 1)
    .all();

/** Active (running or waiting) enrollments per workflow of `workflowIds`, one grouped read. */
export async function activeCounts(db: Db, workflowIds: string[]) {
  if (workflowIds.length === 0) {
    return new Map<string, number>();
  }
  const rows = await db
    .select({ workflowId: enrollments.workflowId, n: count() })
    .from(enrollments)
    .where(
      and(
        inArray(enrollments.workflowId, workflowIds),
        inArray(enrollments.status, [...ACTIVE_STATUSES]),
      ),
    )
    .groupBy(enrollments.workflowId)
    .all();
  return new Map(rows.map((r) => [r.workflowId, r.n]));
}

export async function countActiveEnrollments(db: Db, workflowId: string) {
  const r = await db
    .select({ n: count() })
    .from(enrollments)
    .where(
      and(
        eq(enrollments.workflowId, workflowId),
        inArray(enrollments.status, [...ACTIVE_STATUSES]),
      ),
    )
    .get();
  return r?.n ?? 0;
}

export const activeEnrollmentIds = (
  db: Db,
  f: { workflowId?: string; contactId?: string; workflowIds?: string[] },
  limit = 1000,
) =>
  db
    .select({ id: enrollments.id, workflowId: enrollments.workflowId })
    .from(enrollments)
    .where(
      and(
        f.workflowId ? eq(enrollments.workflowId, f.workflowId) : undefined,
        f.contactId ? eq(enrollments.contactId, f.contactId) : undefined,
        f.workflowIds ? inArray(enrollments.workflowId, f.workflowIds) : undefined,
        inArray(enrollments.status, [...ACTIVE_STATUSES]),
      ),
    )
    .limit(limit)
    .all();

/** enrollmentsAwaiting for many contacts and names at once (one query per slice of contacts). */
export async function enrollmentsAwaitingAny(db: Db, contactIds: string[], names: string[]) {
  const out: {
    id: string;
    contactId: string;
    status: EnrollmentRow["status"];
    waitingEvent: string | null;
  }[] = [];
  const unique = [...new Set(contactIds)];
  const allNames = [...new Set(names)];
  // Under D1's 100 parameters: 40 contacts and 50 names per query.
  for (let n = 0; n < allNames.length; n += 50) {
    const events = allNames.slice(n, n + 50);
    for (let i = 0; i < unique.length; i += 40) {
      out.push(
        ...(await db
          .select({
            id: enrollments.id,
            contactId: enrollments.contactId,
            status: enrollments.status,
            waitingEvent: enrollments.waitingEvent,
          })
          .from(enrollments)
          .where(
            and(
              inArray(enrollments.contactId, unique.slice(i, i + 40)),
              inArray(enrollments.status, [...ACTIVE_STATUSES]),
              or(inArray(enrollments.waitingEvent, events), eq(enrollments.status, "running")),
            ),
          )
          .all()),
      );
    }
  }
  // A running enrollment matches every slice of names: keep each once.
  return [...new Map(out.map((r) => [r.id, r])).values()];
}

/** Enrollments of a contact that may be waiting for `event`: mirrored as waiting for it, or mid-run (not mirrored yet). */
export const enrollmentsAwaiting = (db: Db, contactId: string, event: string) =>
  db
    .select({ id: enrollments.id })
    .from(enrollments)
    .where(
      and(
        eq(enrollments.contactId, contactId),
        inArray(enrollments.status, [...ACTIVE_STATUSES]),
        or(eq(enrollments.waitingEvent, event), eq(enrollments.status, "running")),
      ),
    )
    .all();

export interface Mirror {
  id: string;
  seq: number;
  status: EnrollmentRow["status"];
  currentStepId: string | null;
  nextRunAt: number | null;
  waitingEvent: string | null;
  waitingUntil: number | null;
  exitReason: string | null;
  error: string | null;
  errorCode: EnrollmentRow["errorCode"];
  updatedAt: number;
  completedAt: number | null;
  variant?: string | null;
  pendingEffects: number;
}

/**
 * The contact's data with `data` shallow-merged in, in SQL (the row may have changed since the
 * object read it). Keys go through json_set by quoted path; a key that a path cannot quote (it
 * holds `"` or `\`, as workflows saved before such keys were refused may) is merged with
 * json_patch instead, so no key can make the statement fail.
 */
function mergedData(data: Record<string, unknown>) {
  let expr = sql`${contacts.data}`;
  const unquotable: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) {
    if (/["\\]/.test(k)) {
      unquotable[k] = v;
    } else {
      expr = sql`json_set(${expr}, ${`$."${k}"`}, json(${JSON.stringify(v ?? null)}))`;
    }
  }
  return Object.keys(unquotable).length > 0
    ? sql`json_patch(${expr}, json(${JSON.stringify(unquotable)}))`
    : expr;
}

/**
 * The mirror write of one alarm, in one batch: the counts of its runs (step counters and
 * analytics, each guarded by the seq that first carried it, so they run before the summary),
 * the summary (ignored if a newer seq already landed), and contact data merges from
 * update_contact steps.
 */
export async function writeMirror(
  db: Db,
  m: Mirror,
  contactMerge: { orgId: string; contactId: string; data: Record<string, unknown> } | null,
  counts: Parameters<Db["batch"]>[0][number][] = [],
) {
  const { id, seq, ...fields } = m;
  const stmts: Parameters<typeof db.batch>[0][number][] = [
    ...counts,
    db
      .update(enrollments)
      .set({ ...fields, seq })
      .where(and(eq(enrollments.id, id), lt(enrollments.seq, seq))),
  ];
  if (contactMerge && Object.keys(contactMerge.data).length > 0) {
    stmts.push(
      db
        .update(contacts)
        .set({
          data: mergedData(contactMerge.data) as unknown as Record<string, unknown>,
          updatedAt: m.updatedAt,
        })
        .where(
          and(
            eq(contacts.id, contactMerge.contactId),
            eq(contacts.orgId, contactMerge.orgId),
            isNull(contacts.erasedAt),
          ),
        ),
    );
  }
  const results = await db.batch(stmts as [(typeof stmts)[0], ...typeof stmts]);
  // Rows D1 reports as written by this batch (for the engine's per-pass metrics line).
  return results.reduce(
    (n, r) => n + Number((r as { meta?: { rows_written?: number } }).meta?.rows_written ?? 0),
    0,
  );
}

/** Per current step: active and waiting (nextRunAt in the future) counts. */
export const funnelRows = (db: Db, workflowId: string, now: number) =>
  db
    .select({
      stepId: enrollments.currentStepId,
      active: count(),
      waiting: sql<number>`sum(case when ${enrollments.nextRunAt} > ${now} then 1 else 0 end)`,
    })
    .from(enrollments)
    .where(
      and(
        eq(enrollments.workflowId, workflowId),
        inArray(enrollments.status, [...ACTIVE_STATUSES]),
      ),
    )
    .groupBy(enrollments.currentStepId)
    .all();

export const statusTotals = (db: Db, workflowId: string) =>
  db
    .select({ status: enrollments.status, n: count() })
    .from(enrollments)
    .where(eq(enrollments.workflowId, workflowId))
    .groupBy(enrollments.status)
    .all();

/**
 * Enrollments whose object should have woken more than `graceMs` ago (an active one's next
 * step, or a finished one's check for unconfirmed effects), or whose start never landed.
 */
export const overdueEnrollments = (db: Db, now: number, graceMs: number, limit: number) =>
  db
    .select()
    .from(enrollments)
    .where(
      or(
        lt(enrollments.nextRunAt, now - graceMs),
        and(
          eq(enrollments.seq, 0),
          lt(enrollments.createdAt, now - graceMs),
          // A chain link waiting its turn is not a lost start.
          or(isNull(enrollments.chainState), sql`${enrollments.chainState} <> 'pending'`),
        ),
      ),
    )
    .limit(limit)
    .all();

/** A reservation whose object never started (seq 0) is cancelled directly in D1. True when it was. */
export async function cancelReservation(db: Db, id: string, reason: string, now = Date.now()) {
  const r = await db
    .update(enrollments)
    .set({
      status: "cancelled",
      exitReason: reason,
      nextRunAt: null,
      completedAt: now,
      updatedAt: now,
      seq: 1,
      // A chain link cancelled while it waited its turn leaves the chain.
      chainState: sql`case when ${enrollments.chainState} = 'pending' then 'cancelled' else ${enrollments.chainState} end`,
    })
    .where(
      and(
        eq(enrollments.id, id),
        eq(enrollments.seq, 0),
        inArray(enrollments.status, [...ACTIVE_STATUSES]),
      ),
    )
    .returning({ id: enrollments.id })
    .all();
  return r.length === 1;
}

export const deleteEnrollmentRow = (db: Db, orgId: string, id: string) =>
  db
    .delete(enrollments)
    .where(and(eq(enrollments.orgId, orgId), eq(enrollments.id, id)))
    .run();

/**
 * What an enrollment object reads at each run, in one round trip: its workflow's status, its
 * contact, and the event types the org's active webhooks want (so it emits only those).
 */
export async function enrollmentContext(
  db: Db,
  orgId: string,
  workflowId: string,
  contactId: string,
) {
  const [wf, contact, hooks] = await db.batch([
    db
      .select({ status: workflows.status, deletedAt: workflows.deletedAt })
      .from(workflows)
      .where(eq(workflows.id, workflowId)),
    db.select().from(contacts).where(eq(contacts.id, contactId)),
    db
      .select({ events: webhooks.events })
      .from(webhooks)
      .where(and(eq(webhooks.orgId, orgId), eq(webhooks.active, true))),
  ]);
  return {
    workflow: wf[0],
    contact: contact[0],
    subscriptions: [...new Set(hooks.flatMap((h) => h.events))],
  };
}

/** The contact's enrollments in these workflows, with when they began and their A/B variant. */
export const contactEnrollmentsIn = (db: Db, contactId: string, workflowIds: string[]) =>
  db
    .select({
      id: enrollments.id,
      orgId: enrollments.orgId,
      workflowId: enrollments.workflowId,
      variant: enrollments.variant,
      createdAt: enrollments.createdAt,
    })
    .from(enrollments)
    .where(
      and(
        eq(enrollments.contactId, contactId),
        inArray(enrollments.workflowId, workflowIds.slice(0, IN_SLICE)),
      ),
    )
    .all();

// ---- contact chains -----------------------------------------------------------------------

type ChainState = NonNullable<EnrollmentRow["chainState"]>;

/**
 * Reserves chain links in order, each in one statement that decides its place and state from
 * the chain as it stands (D1 runs a batch as one transaction, so two enrollments racing into a
 * chain cannot both become its active link): `cancelled` (chain_satisfied) when a link already
 * succeeded, `pending` (waiting, not scheduled) while another is active or pending, else
 * `active`. Returns, per row, the stored row — or undefined when it conflicted (already enrolled).
 */
export async function reserveChainLinks(
  db: Db,
  rows: (EnrollmentRow & { chainKey: string })[],
  now: number,
): Promise<(EnrollmentRow | undefined)[]> {
  if (rows.length === 0) {
    return [];
  }
  const e = enrollments;
  const stmts = rows.map((r) => {
    const same = sql`${e.workflowId} = ${r.workflowId} and ${e.chainKey} = ${r.chainKey}`;
    const state = sql`case
      when exists (select 1 from ${e} where ${same} and ${e.chainState} = 'succeeded') then 'cancelled'
      when exists (select 1 from ${e} where ${same} and ${e.chainState} in ('active', 'pending')) then 'pending'
      else 'active' end`;
    // The columns in the schema's order (drizzle lists them all in an insert ... select).
    return db
      .insert(e)
      .select(
        sql`select ${r.id}, ${r.orgId}, ${r.workflowId}, ${r.workflowVersion}, ${r.contactId},
          case s.st when 'active' then ${r.status} when 'pending' then 'waiting' else 'cancelled' end,
          null,
          case s.st when 'active' then ${r.nextRunAt} else null end,
          null, null, ${JSON.stringify(r.variables)}, ${r.timezone}, ${r.scheduledAt},
          ${r.bypassSendWindow ? 1 : 0}, ${r.bypassCallWindow ? 1 : 0},
          ${r.triggerEvent ? JSON.stringify(r.triggerEvent) : null},
          case s.st when 'cancelled' then 'chain_satisfied' else null end, null, null, null,
          case s.st when 'cancelled' then 1 else 0 end, ${now}, ${now},
          case s.st when 'cancelled' then ${now} else null end, 0,
          ${r.chainKey},
          coalesce((select max(${e.chainPosition}) from ${e} where ${same}), 0) + 1,
          s.st
        from (select ${state} as st) s
        where true`,
      )
      .onConflictDoNothing();
  });
  await db.batch(stmts as [(typeof stmts)[0], ...typeof stmts]);
  const stored = await db
    .select()
    .from(enrollments)
    .where(
      inArray(
        enrollments.id,
        rows.map((r) => r.id),
      ),
    )
    .all();
  const byId = new Map(stored.map((r) => [r.id, r]));
  // A row stored under this id by another contact is not this reservation.
  return rows.map((r) => {
    const got = byId.get(r.id);
    return got && got.contactId === r.contactId && got.createdAt === now ? got : undefined;
  });
}

/**
 * Hands a chain on from a link that ended: marks it `succeeded` or `ended`, and in the same
 * transaction either cancels the pending links (chain_satisfied) or makes the next pending link
 * active — only while no link is active, so two links never run at once. Returns the link now
 * active (to start) and the links cancelled.
 */
export async function handOverChainLink(
  db: Db,
  link: { id: string; workflowId: string; chainKey: string },
  succeeded: boolean,
  now: number,
): Promise<{ next: EnrollmentRow | undefined; cancelled: EnrollmentRow[] }> {
  const e = enrollments;
  const same = and(eq(e.workflowId, link.workflowId), eq(e.chainKey, link.chainKey));
  const pending = and(same, eq(e.chainState, "pending"), eq(e.status, "waiting"));
  const finish = db
    .update(e)
    .set({ chainState: (succeeded ? "succeeded" : "ended") as ChainState })
    .where(and(eq(e.id, link.id), eq(e.chainState, "active")));
  if (succeeded) {
    const [, cancelled] = await db.batch([
      finish,
      db
        .update(e)
        .set({
          chainState: "cancelled",
          status: "cancelled",
          exitReason: "chain_satisfied",
          nextRunAt: null,
          completedAt: now,
          updatedAt: now,
          seq: 1,
        })
        .where(and(pending, eq(e.seq, 0)))
        .returning(),
    ]);
    return { next: undefined, cancelled };
  }
  const [, started] = await db.batch([
    finish,
    db
      .update(e)
      .set({ chainState: "active", nextRunAt: now, updatedAt: now })
      .where(
        and(
          eq(
            e.id,
            sql`(select ${e.id} from ${e} where ${pending} order by ${e.chainPosition} limit 1)`,
          ),
          sql`not exists (select 1 from ${e} where ${same} and ${e.chainState} = 'active')`,
        ),
      )
      .returning(),
  ]);
  return { next: started[0], cancelled: [] };
}

/**
 * Chains the watchdog must hand on: a link still `active` whose enrollment ended over
 * `graceMs` ago (its object's hand-over was lost), and pending links of chains with no active
 * link (a start that failed and was released).
 */
export async function stalledChainLinks(db: Db, now: number, graceMs: number, limit: number) {
  const e = enrollments;
  const ended = await db
    .select()
    .from(e)
    .where(
      and(
        eq(e.chainState, "active"),
        inArray(e.status, ["completed", "failed", "cancelled"]),
        lt(e.completedAt, now - graceMs),
      ),
    )
    .limit(limit)
    .all();
  const orphans = await db
    .select({ workflowId: e.workflowId, chainKey: e.chainKey })
    .from(e)
    .where(
      and(
        eq(e.chainState, "pending"),
        eq(e.status, "waiting"),
        lt(e.updatedAt, now - graceMs),
        sql`not exists (select 1 from ${e} a where a.workflow_id = ${e.workflowId} and a.chain_key = ${e.chainKey} and a.chain_state = 'active')`,
      ),
    )
    .groupBy(e.workflowId, e.chainKey)
    .limit(limit)
    .all();
  return { ended, orphans: orphans as { workflowId: string; chainKey: string }[] };
}
