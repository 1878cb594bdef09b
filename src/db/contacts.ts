// Contacts: upsert by email else externalId, index-backed listing, erase to a tombstone.
import { and, desc, eq, inArray, lt, sql } from "drizzle-orm";
import { newId } from "../ground/ids";
import type { Db } from "./client";
import {
  contacts,
  enrollments,
  events,
  messages,
  outbox,
  webhookDeliveries,
  webhooks,
} from "./schema";

export type ContactRow = typeof contacts.$inferSelect;

export interface ContactFields {
  email?: string | null;
  phone?: string | null;
  externalId?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  timezone?: string | null;
  data?: Record<string, unknown>;
  subscribed?: boolean;
}

/** Every personal field, cleared: a new contact starts from it, an erased one is reduced to it. */
const NO_PERSONAL_DATA = {
  email: null,
  phone: null,
  externalId: null,
  firstName: null,
  lastName: null,
  timezone: null,
  data: {},
};

export const getContact = (db: Db, orgId: string, id: string) =>
  db
    .select()
    .from(contacts)
    .where(and(eq(contacts.orgId, orgId), eq(contacts.id, id)))
    .get();

export const findContactByEmail = (db: Db, orgId: string, email: string) =>
  db
    .select()
    .from(contacts)
    .where(and(eq(contacts.orgId, orgId), eq(contacts.email, email)))
    .get();

export const findContactByExternalId = (db: Db, orgId: string, externalId: string) =>
  db
    .select()
    .from(contacts)
    .where(and(eq(contacts.orgId, orgId), eq(contacts.externalId, externalId)))
    .get();

/** Fields of `input` applied to `row`: `data` shallow-merged, `subscribed: false` stamps unsubscribedAt. */
function applyFields(row: ContactRow, input: ContactFields, now: number): ContactRow {
  const next: ContactRow = { ...row, updatedAt: now };
  for (const k of ["email", "phone", "externalId", "firstName", "lastName", "timezone"] as const) {
    if (input[k] !== undefined) {
      next[k] = input[k] ?? null;
    }
  }
  if (input.data) {
    next.data = { ...row.data, ...input.data };
  }
  if (input.subscribed !== undefined && input.subscribed !== row.subscribed) {
    next.subscribed = input.subscribed;
    next.unsubscribedAt = input.subscribed ? null : now;
  }
  return next;
}

/**
 * Insert-or-merge in one statement race: the insert is tried first, and on a unique-key
 * conflict the existing row is read and merged. Returns whether it was created.
 */
export async function upsertContact(db: Db, orgId: string, input: ContactFields, now = Date.now()) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const existing = input.email
      ? await findContactByEmail(db, orgId, input.email)
      : input.externalId
        ? await findContactByExternalId(db, orgId, input.externalId)
        : undefined;
    if (existing) {
      const next = applyFields(existing, input, now);
      await db.update(contacts).set(next).where(eq(contacts.id, existing.id)).run();
      return { contact: next, created: false, previous: existing };
    }
    const blank: ContactRow = {
      id: newId("con", now),
      orgId,
      ...NO_PERSONAL_DATA,
      subscribed: true,
      suppressed: null,
      unsubscribedAt: null,
      erasedAt: null,
      createdAt: now,
      updatedAt: now,
    };
    const row = applyFields(blank, input, now);
    const inserted = await db
      .insert(contacts)
      .values(row)
      .onConflictDoNothing()
      .returning({ id: contacts.id })
      .all();
    if (inserted.length === 1) {
      return { contact: row, created: true, previous: null };
    }
  }
  throw new Error("contact upsert did not converge");
}

export async function updateContact(
  db: Db,
  row: ContactRow,
  input: ContactFields,
  now = Date.now(),
) {
  const next = applyFields(row, input, now);
  await db.update(contacts).set(next).where(eq(contacts.id, row.id)).run();
  return next;
}

export const listContacts = (
  db: Db,
  orgId: string,
  f: { email?: string; externalId?: string },
  limit: number,
  before?: string,
) =>
  db
    .select()
    .from(contacts)
    .where(
      and(
        eq(contacts.orgId, orgId),
        f.email ? eq(contacts.email, f.email) : undefined,
        f.externalId ? eq(contacts.externalId, f.externalId) : undefined,
        before ? lt(contacts.id, before) : undefined,
        sql`${contacts.erasedAt} is null`,
      ),
    )
    .orderBy(desc(contacts.id))
    .limit(limit + 1)
    .all();

/**
 * Erases the contact's personal data everywhere Nudge copied it, in one batch: the contact
 * row (the id stays as an anonymous tombstone so history still joins), its events' data, its
 * messages' address, subject and stored job, the outbox copies of those messages, its
 * enrollments' variables and trigger data, and the contact snapshot inside webhook payloads.
 */
export async function eraseContact(db: Db, orgId: string, id: string, now = Date.now()) {
  const ofContact = db
    .select({ id: messages.id })
    .from(messages)
    .where(and(eq(messages.orgId, orgId), eq(messages.contactId, id)));
  const orgWebhooks = db
    .select({ id: webhooks.id })
    .from(webhooks)
    .where(eq(webhooks.orgId, orgId));
  await db.batch([
    db
      .update(contacts)
      .set({ ...NO_PERSONAL_DATA, subscribed: false, erasedAt: now, updatedAt: now })
      .where(and(eq(contacts.orgId, orgId), eq(contacts.id, id))),
    db
      .update(events)
      .set({ data: {} })
      .where(and(eq(events.orgId, orgId), eq(events.contactId, id))),
    db.delete(outbox).where(and(eq(outbox.orgId, orgId), inArray(outbox.messageId, ofContact))),
    db
      .update(messages)
      .set({ to: "", subject: null, job: null })
      .where(and(eq(messages.orgId, orgId), eq(messages.contactId, id))),
    db
      .update(enrollments)
      .set({ variables: {}, triggerEvent: null })
      .where(and(eq(enrollments.orgId, orgId), eq(enrollments.contactId, id))),
    db
      .update(webhookDeliveries)
      .set({ payload: sql`json_remove(${webhookDeliveries.payload}, '$.data.contact')` })
      .where(
        and(
          inArray(webhookDeliveries.webhookId, orgWebhooks),
          sql`json_extract(${webhookDeliveries.payload}, '$.data.contactId') = ${id}`,
        ),
      ),
  ]);
}

/** Marks a contact unsubscribed (idempotent); returns true when this call changed it. */
export async function unsubscribeContact(db: Db, orgId: string, id: string, now = Date.now()) {
  const changed = await db
    .update(contacts)
    .set({ subscribed: false, unsubscribedAt: now, updatedAt: now })
    .where(and(eq(contacts.orgId, orgId), eq(contacts.id, id), eq(contacts.subscribed, true)))
    .returning({ id: contacts.id })
    .all();
  return changed.length === 1;
}

export const suppressContact = (
  db: Db,
  orgId: string,
  id: string,
  reason: "bounced" | "complained",
  now = Date.now(),
) =>
  db
    .update(contacts)
    .set({ suppressed: reason, updatedAt: now })
    .where(and(eq(contacts.orgId, orgId), eq(contacts.id, id)))
    .run();
