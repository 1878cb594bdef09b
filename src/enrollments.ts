// Enrollment operations shared by routes and consumers: reserve + start, event fan-out,
// and cancellation. Each enrollment is one Durable Object named by its id.
import type { Db } from "./db/client";
import { type ContactFields, type ContactRow, findContactByEmail, findContactByExternalId, getContact, upsertContact } from "./db/contacts";
import { activeEnrollmentIds, type EnrollmentRow, enrollmentsAwaiting, priorEnrollment, releaseReservation, reserveEnrollment } from "./db/enrollments";
import { insertEvent } from "./db/events";
import { activeWorkflowsTriggeredBy, definitionOf, getVersion, type WorkflowRow, workflowsExitingOn } from "./db/workflows";
import { publish } from "./delivery/webhooks";
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

export function contactSnapshot(c: ContactRow): StartPayload["contact"] {
  return {
    id: c.id,
    email: c.email,
    phone: c.phone,
    externalId: c.externalId,
    firstName: c.firstName,
    lastName: c.lastName,
    timezone: c.timezone,
    subscribed: c.subscribed,
    suppressed: c.suppressed,
    data: c.data ?? {},
  };
}

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

/**
 * Stores the event, then: ends enrollments whose workflow exits on it, resumes those
 * waiting for it (indexed lookup, no scan of objects), and starts workflows it triggers.
 */
export async function trackEvent(env: Env, db: Db, orgId: string, ev: TrackedEvent, now = Date.now()) {
  const contact = await resolveContact(env, db, orgId, ev.contact);
  const id = newId("evt", now);
  await insertEvent(db, { id, orgId, contactId: contact.id, name: ev.name, data: ev.data, occurredAt: ev.occurredAt ?? now, receivedAt: now });

  const exited: string[] = [];
  const exiting = await workflowsExitingOn(db, orgId, ev.name);
  if (exiting.length > 0) {
    const targets = await activeEnrollmentIds(db, { contactId: contact.id, workflowIds: exiting.map((w) => w.id) });
    for (const t of targets) {
      if (await enrollmentStub(env, t.id).exitOn(ev.name)) exited.push(t.id);
    }
  }

  const resumed: string[] = [];
  for (const t of await enrollmentsAwaiting(db, contact.id, ev.name)) {
    if (exited.includes(t.id)) continue;
    if (await enrollmentStub(env, t.id).deliverEvent(ev.name, ev.data)) resumed.push(t.id);
  }

  const enrolled: string[] = [];
  for (const workflow of await activeWorkflowsTriggeredBy(db, orgId, ev.name)) {
    const r = await enroll(env, db, { workflow, contact, triggerEvent: { name: ev.name, data: ev.data } }, now);
    if (r.ok) enrolled.push(r.enrollment.id);
  }
  return { id, enrolled, resumed, exited };
}

async function cancelAll(env: Env, ids: { id: string }[], reason: string) {
  let n = 0;
  for (let i = 0; i < ids.length; i += 20) {
    const results = await Promise.all(ids.slice(i, i + 20).map((t) => enrollmentStub(env, t.id).cancel(reason)));
    n += results.filter(Boolean).length;
  }
  return n;
}

export async function cancelContactEnrollments(env: Env, db: Db, contactId: string, reason: string) {
  return cancelAll(env, await activeEnrollmentIds(db, { contactId }), reason);
}

export async function cancelWorkflowEnrollments(env: Env, db: Db, workflowId: string, reason: string) {
  let total = 0;
  for (;;) {
    const batch = await activeEnrollmentIds(db, { workflowId }, 500);
    if (batch.length === 0) return total;
    const n = await cancelAll(env, batch, reason);
    total += n;
    if (batch.length < 500 || n === 0) return total;
  }
}

/**
 * A system event (`email.*`, `contact.unsubscribed`): stored and fanned out like a tracked
 * event, and published to the org's webhooks. `key` makes the webhook event id stable.
 */
export async function systemEvent(env: Env, db: Db, orgId: string, contactId: string, name: string, data: Record<string, unknown>, key?: string) {
  await publish(env, orgId, name, { contactId, ...data }, key);
  return trackEvent(env, db, orgId, { name, contact: { id: contactId }, data });
}
