// Events and their fan-out: a tracked event is accepted durably (stored with its pending
// fan-out in one round trip), then delivered to enrollments — those whose workflow exits on
// it end, those waiting for it resume (an indexed lookup, no scan of objects), and the
// workflows it triggers start (once per event and workflow, however often it is processed).

import { recordFacts } from "../analytics";
import {
  acceptEvents,
  type ContactRef,
  type ContactRow,
  claimFanouts,
  type EventRow,
  eventsByClientIds,
  eventsByIds,
  finishFanouts,
  getContacts,
  resolveContacts,
} from "../contacts";
import type { Db } from "../db/client";
import {
  activeEnrollmentIds,
  contactEnrollmentsIn,
  enroll,
  enrollmentStub,
  enrollmentsAwaiting,
  enrollmentsAwaitingAny,
} from "../enrollments";
import type { Env } from "../ground/env";
import { newId, seededId } from "../ground/ids";
import type { Logger } from "../ground/log";
import { Memo } from "../ground/memo";
import type { SystemEvent } from "../ground/queues";
import { activeWorkflowsTriggeredBy, workflowsExitingOn, workflowsWithGoal } from "../workflows";

export interface TrackedEvent {
  name: string;
  contact: ContactRef;
  data: Record<string, unknown>;
  occurredAt?: number;
  /** The client's own id: an event with an id already accepted is not processed again. */
  clientId?: string;
}

export interface FanOutResult {
  enrolled: string[];
  resumed: string[];
  exited: string[];
}

export async function fanOutEvent(
  env: Env,
  db: Db,
  contact: ContactRow,
  name: string,
  data: Record<string, unknown>,
  log: Logger,
  now = Date.now(),
  memo = new Memo(),
  /** The contact's enrollments that may wait for `name`, when the caller looked them up already. */
  awaiting?: { id: string }[],
  /** The stored event: the enrollments it starts get ids derived from it (created once). */
  origin?: { id: string; receivedAt: number },
): Promise<FanOutResult> {
  const orgId = contact.orgId;
  const exited: string[] = [];
  const exiting = await memo.get(`exit ${orgId} ${name}`, () =>
    workflowsExitingOn(db, orgId, name),
  );
  if (exiting.length > 0) {
    const targets = await activeEnrollmentIds(db, {
      contactId: contact.id,
      workflowIds: exiting.map((w) => w.id),
    });
    const byReply = new Set(exiting.filter((w) => Number(w.reply) === 1).map((w) => w.id));
    for (const t of targets) {
      const reason = byReply.has(t.workflowId) ? "replied" : undefined;
      if (await enrollmentStub(env, t.id).exitOn(name, reason)) {
        exited.push(t.id);
      }
    }
  }

  await countConversions(db, contact, name, now, memo);

  const resumed: string[] = [];
  for (const t of awaiting ?? (await enrollmentsAwaiting(db, contact.id, name))) {
    if (exited.includes(t.id)) {
      continue;
    }
    if (await enrollmentStub(env, t.id).deliverEvent(name, data)) {
      resumed.push(t.id);
    }
  }

  const enrolled: string[] = [];
  for (const workflow of await memo.get(`trigger ${orgId} ${name}`, () =>
    activeWorkflowsTriggeredBy(db, orgId, name),
  )) {
    const id = origin
      ? await seededId("enr", origin.receivedAt, `${origin.id}:${workflow.id}`)
      : undefined;
    const r = await enroll(
      env,
      db,
      { workflow, contact, triggerEvent: { name, data }, id },
      log,
      now,
      memo,
    );
    if (r.ok) {
      enrolled.push(r.enrollment.id);
    }
  }
  return { enrolled, resumed, exited };
}

/**
 * Goals: the contact's enrollments in workflows whose goal is `name`, begun within the goal's
 * window before now, convert — once per enrollment (the fact's id), to the variant it got.
 */
async function countConversions(
  db: Db,
  contact: ContactRow,
  name: string,
  now: number,
  memo: Memo,
) {
  const goals = await memo.get(`goal ${contact.orgId} ${name}`, () =>
    workflowsWithGoal(db, contact.orgId, name),
  );
  if (goals.length === 0) {
    return;
  }
  const windowOf = new Map(goals.map((g) => [g.id, (g.goal?.withinDays ?? 0) * 86_400_000]));
  const converted = (
    await contactEnrollmentsIn(
      db,
      contact.id,
      goals.map((g) => g.id),
    )
  ).filter((e) => e.createdAt <= now && now - e.createdAt <= (windowOf.get(e.workflowId) ?? 0));
  await recordFacts(
    db,
    converted.map((e) => ({
      id: `${e.id}:converted`,
      orgId: e.orgId,
      metric: "converted",
      at: now,
      workflowId: e.workflowId,
      variant: e.variant,
    })),
  );
}

const countBy = (keys: string[]) => {
  const n = new Map<string, number>();
  for (const k of keys) {
    n.set(k, (n.get(k) ?? 0) + 1);
  }
  return n;
};

/** Claims on a fan-out older than this belong to a worker that died. */
const FANOUT_STALE_MS = 60_000;

export type Accepted = { id: string; duplicate: boolean };

/**
 * POST /v1/events and /v1/events/batch: resolve (or create) the contacts, then store every
 * event with its pending fan-out (`event_fanouts`) in as few round trips as D1 allows. An
 * event whose client id the org sent before is not stored again: its first id comes back as
 * a duplicate. `results[i]` is an Error for an event whose contact is unknown or cannot be made.
 */
export async function acceptTrackedEvents(
  env: Env,
  db: Db,
  orgId: string,
  list: TrackedEvent[],
  now = Date.now(),
  memo = new Memo(),
): Promise<(Accepted | Error)[]> {
  const contacts = await resolveContacts(
    env,
    db,
    orgId,
    list.map((e) => e.contact),
    memo,
  );
  const rows: EventRow[] = [];
  const rowOf = new Map<number, EventRow>();
  const firstOfClientId = new Map<string, number>();
  list.forEach((e, i) => {
    const contact = contacts[i];
    if (contact instanceof Error) {
      return;
    }
    if (e.clientId !== undefined) {
      if (firstOfClientId.has(e.clientId)) {
        return; // the same id twice in one call: the first one stands
      }
      firstOfClientId.set(e.clientId, i);
    }
    const row: EventRow = {
      id: newId("evt", now),
      orgId,
      contactId: contact.id,
      name: e.name,
      data: e.data,
      occurredAt: e.occurredAt ?? now,
      receivedAt: now,
      clientId: e.clientId ?? null,
    };
    rows.push(row);
    rowOf.set(i, row);
  });
  const stored = await acceptEvents(db, rows, now);
  const repeated = rows.filter((r) => !stored.has(r.id) && r.clientId !== null);
  const earlier = await eventsByClientIds(
    db,
    orgId,
    repeated.map((r) => r.clientId as string),
  );
  return list.map((e, i) => {
    const contact = contacts[i];
    if (contact instanceof Error) {
      return contact;
    }
    const row = rowOf.get(i) ?? rowOf.get(firstOfClientId.get(e.clientId as string) as number);
    if (!row) {
      return new Error("event not stored");
    }
    if (stored.has(row.id)) {
      return { id: row.id, duplicate: rowOf.get(i) !== row };
    }
    const first = earlier.get(row.clientId as string);
    return first ? { id: first, duplicate: true } : new Error("event not stored");
  });
}

/**
 * Fans out accepted events (the event consumer, `?wait=true`, the watchdog's re-queue): claims
 * them (a fan-out another worker holds is left to it), delivers each to the enrollments it
 * concerns, in the order they were accepted, and removes their pending rows. Every step is
 * idempotent — a resume or an exit happens once, and an enrollment an event starts has an id
 * derived from the event — so an event processed again after a crash changes nothing twice.
 */
export async function fanOutAccepted(
  env: Env,
  db: Db,
  eventIds: string[],
  log: Logger,
  now = Date.now(),
): Promise<Map<string, FanOutResult>> {
  const results = new Map<string, FanOutResult>();
  const claimed = await claimFanouts(db, eventIds, now, FANOUT_STALE_MS);
  if (claimed.length === 0) {
    return results;
  }
  const stored = (await eventsByIds(db, claimed)).sort((a, b) => a.id.localeCompare(b.id));
  const memo = new Memo();
  const contacts = new Map<string, ContactRow>();
  await Promise.all(
    [...new Set(stored.map((e) => e.orgId))].map(async (orgId) => {
      const ids = stored.filter((e) => e.orgId === orgId).map((e) => e.contactId);
      for (const c of await getContacts(db, orgId, ids)) {
        contacts.set(c.id, c);
      }
    }),
  );
  const candidates = await enrollmentsAwaitingAny(
    db,
    stored.map((e) => e.contactId),
    stored.map((e) => e.name),
  );
  const perContact = countBy(stored.map((e) => e.contactId));
  for (const e of stored) {
    const contact = contacts.get(e.contactId);
    if (!contact || contact.erasedAt) {
      results.set(e.id, { enrolled: [], resumed: [], exited: [] });
      continue;
    }
    // A contact with several events here is looked up afresh for each: one may set up the next.
    const awaiting =
      (perContact.get(e.contactId) ?? 0) > 1
        ? undefined
        : candidates.filter(
            (c) =>
              c.contactId === e.contactId && (c.waitingEvent === e.name || c.status === "running"),
          );
    results.set(
      e.id,
      await fanOutEvent(env, db, contact, e.name, e.data, log, now, memo, awaiting, e),
    );
  }
  await finishFanouts(db, claimed);
  return results;
}

/**
 * The event consumer's part of system events: each contact and name of the batch fanned out
 * once, with the batch's contacts and candidate enrollments read in a few queries. An
 * enrollment is not offered the events its own step caused while it is mid-run (an email it
 * sent): its D1 row already says so if it then waits for one.
 */
export async function fanOutSystemEvents(
  env: Env,
  db: Db,
  list: SystemEvent[],
  log: Logger,
  now = Date.now(),
) {
  const memo = new Memo();
  const once = new Map<string, SystemEvent>();
  for (const e of list) {
    const k = `${e.contactId} ${e.name}`;
    if (!once.has(k)) {
      once.set(k, e);
    }
  }
  const events = [...once.values()];
  const contacts = new Map<string, ContactRow>();
  await Promise.all(
    [...new Set(events.map((e) => e.orgId))].map(async (orgId) => {
      const ids = events.filter((e) => e.orgId === orgId).map((e) => e.contactId);
      for (const c of await getContacts(db, orgId, ids)) {
        contacts.set(c.id, c);
      }
    }),
  );
  const candidates = await enrollmentsAwaitingAny(
    db,
    events.map((e) => e.contactId),
    events.map((e) => e.name),
  );
  const perContact = countBy(events.map((e) => e.contactId));
  for (const e of events) {
    const contact = contacts.get(e.contactId);
    if (!contact || contact.erasedAt) {
      continue;
    }
    const origin = typeof e.data.enrollmentId === "string" ? e.data.enrollmentId : null;
    const awaiting =
      (perContact.get(e.contactId) ?? 0) > 1
        ? undefined
        : candidates.filter(
            (c) =>
              c.contactId === e.contactId &&
              (c.waitingEvent === e.name || (c.status === "running" && c.id !== origin)),
          );
    await fanOutEvent(env, db, contact, e.name, e.data, log, now, memo, awaiting);
  }
}
