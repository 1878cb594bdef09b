// Enrollment operations shared by routes and consumers: reserve + start, event fan-out,
// and cancellation. Each enrollment is one Durable Object named by its id.
import type { Db } from "./db/client";
import { type ContactFields, type ContactRow, eraseContact, findContactByEmail, findContactByExternalId, getContact, upsertContact } from "./db/contacts";
import {
  activeEnrollmentIds,
  cancelReservation,
  type EnrollmentRow,
  enrollmentsAwaiting,
  listEnrollments,
  priorEnrollment,
  releaseReservation,
  reserveEnrollment,
} from "./db/enrollments";
import { insertEvents } from "./db/events";
import { activeWorkflowsTriggeredBy, definitionOf, getVersion, type WorkflowRow, workflowsExitingOn } from "./db/workflows";
import { outboundEvent, publish } from "./delivery/webhooks";
import { timezoneFromPhone } from "./engine/phone-timezone";
import type { WorkflowDefinition } from "./engine/types";
import type { Env } from "./env";
import { ApiError, notFound } from "./http/errors";
import { newId } from "./http/ids";
import { contactJson } from "./routes/contacts/schemas";

export const enrollmentStub = (env: Env, id: string) => env.ENROLLMENT.get(env.ENROLLMENT.idFromName(id));

/** What an enrollment object needs to begin; also rebuilt from D1 by the watchdog. */
export interface StartPayload {
  enrollmentId: string;
  orgId: string;
  workflowId: string;
  contactId: string;
  definition: WorkflowDefinition;
  contact: Record<string, unknown> & { data: Record<string, unknown> };
  vars: Record<string, unknown>;
  event: Record<string, unknown>;
  timezone: string;
  bypassSendWindow: boolean;
  startAt: number | null;
}

/** The contact as templates and conditions see it: the API's shape (all fields, `data.*`). */
export const contactSnapshot = (c: ContactRow): StartPayload["contact"] => contactJson(c);

export interface EnrollRequest {
  workflow: WorkflowRow;
  contact: ContactRow;
  variables?: Record<string, unknown>;
  timezone?: string;
  scheduledAt?: number;
  bypassSendWindow?: boolean;
  triggerEvent?: { name: string; data: Record<string, unknown> };
}

export type EnrollOutcome =
  | { ok: true; enrollment: EnrollmentRow }
  | { ok: false; code: "already_enrolled" | "reentry_not_allowed" | "workflow_not_active" | "workflow_archived"; message: string };

export function resolveTimezone(given: string | undefined, contact: ContactRow, workflow: WorkflowRow): string {
  return given ?? contact.timezone ?? timezoneFromPhone(contact.phone) ?? workflow.timezone ?? "UTC";
}

/** Reserves the D1 row (atomic "already enrolled") and starts the object; releases the row if the start fails. */
export async function enroll(env: Env, db: Db, req: EnrollRequest, now = Date.now()): Promise<EnrollOutcome> {
  const { workflow, contact } = req;
  if (workflow.status === "archived") return { ok: false, code: "workflow_archived", message: "The workflow is archived" };
  if (workflow.status !== "active") return { ok: false, code: "workflow_not_active", message: `The workflow is ${workflow.status}, not active` };
  const prior = await priorEnrollment(db, workflow.id, contact.id);
  if (prior && (prior.status === "running" || prior.status === "waiting")) {
    return { ok: false, code: "already_enrolled", message: `The contact is already enrolled (${prior.id})` };
  }
  if (prior && !workflow.allowReentry) {
    return { ok: false, code: "reentry_not_allowed", message: `The contact went through this workflow before (${prior.id}) and re-entry is off` };
  }
  const timezone = resolveTimezone(req.timezone, contact, workflow);
  const startAt = req.scheduledAt && req.scheduledAt > now ? req.scheduledAt : null;
  const row: EnrollmentRow = {
    id: newId("enr", now),
    orgId: workflow.orgId,
    workflowId: workflow.id,
    workflowVersion: workflow.version,
    contactId: contact.id,
    status: startAt ? "waiting" : "running",
    currentStepId: null,
    nextRunAt: startAt ?? now,
    waitingEvent: null,
    waitingUntil: null,
    variables: req.variables ?? {},
    timezone,
    scheduledAt: req.scheduledAt ?? null,
    bypassSendWindow: req.bypassSendWindow ?? false,
    triggerEvent: req.triggerEvent ?? null,
    exitReason: null,
    error: null,
    seq: 0,
    createdAt: now,
    updatedAt: now,
    completedAt: null,
  };
  if (!(await reserveEnrollment(db, row))) {
    return { ok: false, code: "already_enrolled", message: "The contact is already enrolled in this workflow" };
  }
  try {
    await enrollmentStub(env, row.id).start(startPayload(row, definitionOf(workflow), contact));
  } catch (err) {
    await releaseReservation(db, row.id);
    console.error(JSON.stringify({ level: "error", msg: "enrollment start failed", enrollmentId: row.id, error: String(err) }));
    throw new ApiError("service_unavailable", "The enrollment could not be started; retry with the same Idempotency-Key");
  }
  return { ok: true, enrollment: row };
}

export function startPayload(row: EnrollmentRow, definition: WorkflowDefinition, contact: ContactRow): StartPayload {
  return {
    enrollmentId: row.id,
    orgId: row.orgId,
    workflowId: row.workflowId,
    contactId: row.contactId,
    definition,
    contact: contactSnapshot(contact),
    vars: row.variables,
    event: row.triggerEvent?.data ?? {},
    timezone: row.timezone,
    bypassSendWindow: row.bypassSendWindow,
    startAt: row.scheduledAt && row.scheduledAt > row.createdAt ? row.scheduledAt : null,
  };
}

/** The watchdog's way to finish a start that never landed: everything comes from D1. */
export async function startPayloadFromD1(db: Db, row: EnrollmentRow): Promise<StartPayload | null> {
  const [version, contact] = await Promise.all([getVersion(db, row.workflowId, row.workflowVersion), getContact(db, row.orgId, row.contactId)]);
  if (!version || !contact) return null;
  return startPayload(row, version.definition as WorkflowDefinition, contact);
}

/**
 * Creates or updates a contact and tells the org's webhooks (contact.created/updated), and
 * records `contact.unsubscribed` when this change unsubscribed it. Every path that upserts
 * a contact goes through here.
 */
export async function saveContact(env: Env, db: Db, orgId: string, input: ContactFields) {
  const { contact, created, previous } = await upsertContact(db, orgId, input);
  await notifyContactChange(env, db, previous, contact, created);
  return { contact, created };
}

export async function notifyContactChange(env: Env, db: Db, before: ContactRow | null, after: ContactRow, created: boolean) {
  const shaped = contactJson(after);
  await publish(env, after.orgId, created ? "contact.created" : "contact.updated", { contactId: after.id, contact: shaped });
  if (before?.subscribed && !after.subscribed) await systemEvent(env, db, after.orgId, after.id, "contact.unsubscribed", { contact: shaped, source: "api" });
}

export type ContactRef = { id: string } | { email: string } | { externalId: string };

export async function resolveContact(env: Env, db: Db, orgId: string, ref: ContactRef): Promise<ContactRow> {
  if ("id" in ref) {
    const c = await getContact(db, orgId, ref.id);
    if (!c || c.erasedAt) throw notFound("Contact");
    return c;
  }
  const existing = "email" in ref ? await findContactByEmail(db, orgId, ref.email) : await findContactByExternalId(db, orgId, ref.externalId);
  if (existing) return existing;
  return (await saveContact(env, db, orgId, ref)).contact;
}

export interface TrackedEvent {
  name: string;
  contact: ContactRef;
  data: Record<string, unknown>;
  occurredAt?: number;
}

/** Per-batch memo of the org-level lookups of a fan-out (which workflows exit on / are triggered by a name). */
export type FanOutCache = Map<string, Promise<unknown>>;

function memo<T>(cache: FanOutCache | undefined, key: string, load: () => Promise<T>): Promise<T> {
  if (!cache) return load();
  let hit = cache.get(key) as Promise<T> | undefined;
  if (!hit) {
    hit = load();
    cache.set(key, hit);
  }
  return hit;
}

/**
 * Delivers a stored event to enrollments: ends those whose workflow exits on it, resumes
 * those waiting for it (an indexed lookup, no scan of objects), and starts the workflows it
 * triggers.
 */
export async function fanOutEvent(env: Env, db: Db, contact: ContactRow, name: string, data: Record<string, unknown>, now = Date.now(), cache?: FanOutCache) {
  const orgId = contact.orgId;
  const exited: string[] = [];
  const exiting = await memo(cache, `exit ${orgId} ${name}`, () => workflowsExitingOn(db, orgId, name));
  if (exiting.length > 0) {
    const targets = await activeEnrollmentIds(db, { contactId: contact.id, workflowIds: exiting.map((w) => w.id) });
    for (const t of targets) {
      if (await enrollmentStub(env, t.id).exitOn(name)) exited.push(t.id);
    }
  }

  const resumed: string[] = [];
  for (const t of await enrollmentsAwaiting(db, contact.id, name)) {
    if (exited.includes(t.id)) continue;
    if (await enrollmentStub(env, t.id).deliverEvent(name, data)) resumed.push(t.id);
  }

  const enrolled: string[] = [];
  for (const workflow of await memo(cache, `trigger ${orgId} ${name}`, () => activeWorkflowsTriggeredBy(db, orgId, name))) {
    const r = await enroll(env, db, { workflow, contact, triggerEvent: { name, data } }, now);
    if (r.ok) enrolled.push(r.enrollment.id);
  }
  return { enrolled, resumed, exited };
}

/** POST /v1/events: resolve (or create) the contact, store the event, fan it out. */
export async function trackEvent(env: Env, db: Db, orgId: string, ev: TrackedEvent, now = Date.now()) {
  const contact = await resolveContact(env, db, orgId, ev.contact);
  const id = newId("evt", now);
  await insertEvents(db, [{ id, orgId, contactId: contact.id, name: ev.name, data: ev.data, occurredAt: ev.occurredAt ?? now, receivedAt: now }]);
  return { id, ...(await fanOutEvent(env, db, contact, ev.name, ev.data, now)) };
}

export interface SystemEvent {
  orgId: string;
  contactId: string;
  name: string;
  data: Record<string, unknown>;
  /** Makes the webhook event id stable across retries. */
  key?: string;
}

/**
 * System events (`email.*`, `contact.unsubscribed`), many at once: published to the org's
 * webhooks in one send, stored in one batch, and fanned out once per contact and name.
 */
export async function systemEvents(env: Env, db: Db, list: SystemEvent[], now = Date.now()) {
  if (list.length === 0) return;
  const published = await Promise.all(
    list.map(async (e) => ({
      body: { kind: "publish" as const, orgId: e.orgId, event: await outboundEvent(e.name, { contactId: e.contactId, ...e.data }, e.key) },
    })),
  );
  for (let i = 0; i < published.length; i += 100) await env.WEBHOOK_QUEUE.sendBatch(published.slice(i, i + 100));
  await insertEvents(
    db,
    list.map((e) => ({ id: newId("evt", now), orgId: e.orgId, contactId: e.contactId, name: e.name, data: e.data, occurredAt: now, receivedAt: now })),
  );
  const cache: FanOutCache = new Map();
  const seen = new Set<string>();
  for (const e of list) {
    const once = `${e.contactId} ${e.name}`;
    if (seen.has(once)) continue;
    seen.add(once);
    const contact = await getContact(db, e.orgId, e.contactId);
    if (contact && !contact.erasedAt) await fanOutEvent(env, db, contact, e.name, e.data, now, cache);
  }
}

/** One system event; see systemEvents. */
export function systemEvent(env: Env, db: Db, orgId: string, contactId: string, name: string, data: Record<string, unknown>, key?: string) {
  return systemEvents(env, db, [{ orgId, contactId, name, data, key }]);
}

/** Cancels one enrollment: its object, or (if the object never started) its D1 reservation. */
export async function cancelEnrollment(env: Env, db: Db, id: string, reason: string) {
  return (await enrollmentStub(env, id).cancel(reason)) || (await cancelReservation(db, id, reason));
}

async function cancelAll(env: Env, db: Db, ids: { id: string }[], reason: string) {
  let n = 0;
  for (let i = 0; i < ids.length; i += 20) {
    const results = await Promise.all(ids.slice(i, i + 20).map((t) => cancelEnrollment(env, db, t.id, reason)));
    n += results.filter(Boolean).length;
  }
  return n;
}

/**
 * DELETE /v1/contacts/:id: cancels the contact's active enrollments, erases its personal data
 * from every D1 table that copied it, and has each of its enrollment objects forget it.
 */
export async function eraseContactEverywhere(env: Env, db: Db, contact: ContactRow) {
  await cancelAll(env, db, await activeEnrollmentIds(db, { contactId: contact.id }), "contact_deleted");
  await eraseContact(db, contact.orgId, contact.id);
  let before: string | undefined;
  for (;;) {
    const page = await listEnrollments(db, contact.orgId, { contactId: contact.id }, 100, before);
    const ids = page.slice(0, 100).map((e) => e.id);
    for (let i = 0; i < ids.length; i += 20) await Promise.all(ids.slice(i, i + 20).map((id) => enrollmentStub(env, id).forgetContact()));
    if (page.length <= 100) return;
    before = ids[ids.length - 1];
  }
}

export async function cancelWorkflowEnrollments(env: Env, db: Db, workflowId: string, reason: string) {
  let total = 0;
  for (;;) {
    const batch = await activeEnrollmentIds(db, { workflowId }, 500);
    if (batch.length === 0) return total;
    const n = await cancelAll(env, db, batch, reason);
    total += n;
    if (batch.length < 500 || n === 0) return total;
  }
}
