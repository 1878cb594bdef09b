// Events and their fan-out: a tracked event is stored, then delivered to enrollments — those
// whose workflow exits on it end, those waiting for it resume (an indexed lookup, no scan of
// objects), and the workflows it triggers start.
import type { Db } from "../db/client";
import { type ContactRow, getContact } from "../db/contacts";
import { activeEnrollmentIds, enrollmentsAwaiting } from "../db/enrollments";
import { insertEvents } from "../db/events";
import { activeWorkflowsTriggeredBy, workflowsExitingOn } from "../db/workflows";
import type { Env } from "../ground/env";
import { newId } from "../ground/ids";
import type { Logger } from "../ground/log";
import type { SystemEvent } from "../ground/queues";
import { type ContactRef, resolveContact } from "./contacts";
import { enroll, enrollmentStub } from "./enrollments";

export interface TrackedEvent {
  name: string;
  contact: ContactRef;
  data: Record<string, unknown>;
  occurredAt?: number;
}

/** Per-batch memo of the org-level lookups of a fan-out (which workflows exit on / are triggered by a name). */
export type FanOutCache = Map<string, Promise<unknown>>;

function memo<T>(cache: FanOutCache | undefined, key: string, load: () => Promise<T>): Promise<T> {
  if (!cache) {
    return load();
  }
  let hit = cache.get(key) as Promise<T> | undefined;
  if (!hit) {
    hit = load();
    cache.set(key, hit);
  }
  return hit;
}

export async function fanOutEvent(
  env: Env,
  db: Db,
  contact: ContactRow,
  name: string,
  data: Record<string, unknown>,
  log: Logger,
  now = Date.now(),
  cache?: FanOutCache,
) {
  const orgId = contact.orgId;
  const exited: string[] = [];
  const exiting = await memo(cache, `exit ${orgId} ${name}`, () =>
    workflowsExitingOn(db, orgId, name),
  );
  if (exiting.length > 0) {
    const targets = await activeEnrollmentIds(db, {
      contactId: contact.id,
      workflowIds: exiting.map((w) => w.id),
    });
    for (const t of targets) {
      if (await enrollmentStub(env, t.id).exitOn(name)) {
        exited.push(t.id);
      }
    }
  }

  const resumed: string[] = [];
  for (const t of await enrollmentsAwaiting(db, contact.id, name)) {
    if (exited.includes(t.id)) {
      continue;
    }
    if (await enrollmentStub(env, t.id).deliverEvent(name, data)) {
      resumed.push(t.id);
    }
  }

  const enrolled: string[] = [];
  for (const workflow of await memo(cache, `trigger ${orgId} ${name}`, () =>
    activeWorkflowsTriggeredBy(db, orgId, name),
  )) {
    const r = await enroll(env, db, { workflow, contact, triggerEvent: { name, data } }, log, now);
    if (r.ok) {
      enrolled.push(r.enrollment.id);
    }
  }
  return { enrolled, resumed, exited };
}

/** POST /v1/events: resolve (or create) the contact, store the event, fan it out. */
export async function trackEvent(
  env: Env,
  db: Db,
  orgId: string,
  ev: TrackedEvent,
  log: Logger,
  now = Date.now(),
) {
  const contact = await resolveContact(env, db, orgId, ev.contact);
  const id = newId("evt", now);
  await insertEvents(db, [
    {
      id,
      orgId,
      contactId: contact.id,
      name: ev.name,
      data: ev.data,
      occurredAt: ev.occurredAt ?? now,
      receivedAt: now,
    },
  ]);
  return { id, ...(await fanOutEvent(env, db, contact, ev.name, ev.data, log, now)) };
}

/** The event consumer's part of system events: fan each out once per contact and name in the batch. */
export async function fanOutSystemEvents(
  env: Env,
  db: Db,
  list: SystemEvent[],
  log: Logger,
  now = Date.now(),
) {
  const cache: FanOutCache = new Map();
  const seen = new Set<string>();
  for (const e of list) {
    const once = `${e.contactId} ${e.name}`;
    if (seen.has(once)) {
      continue;
    }
    seen.add(once);
    const contact = await getContact(db, e.orgId, e.contactId);
    if (contact && !contact.erasedAt) {
      await fanOutEvent(env, db, contact, e.name, e.data, log, now, cache);
    }
  }
}
