// Contacts: what a valid contact is (email syntax, E.164 phone, real IANA zone, data ≤ 64 KiB),
// its JSON shape (the API's, and what templates and conditions see as `contact`), and saving
// one — every path that creates or updates a contact goes through saveContact.
import { z } from "@hono/zod-openapi";
import { parsePhoneNumberFromString } from "libphonenumber-js/min";
import type { Db } from "../db/client";
import { iso } from "../db/client";
import { isTimeZone } from "../engine/timezones";
import type { Env } from "../ground/env";
import { notFound } from "../ground/errors";
import type { Memo } from "../ground/memo";
import { publish } from "../webhooks";
import { recordSystemEvent } from "./history";
import {
  type ContactFields,
  type ContactRow,
  findContactByEmail,
  findContactByExternalId,
  findContactByPhone,
  findContactsByEmails,
  findContactsByExternalIds,
  findContactsByPhones,
  getContact,
  getContacts,
  upsertContact,
  upsertContacts,
} from "./store";

export const Email = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email({ message: "Must be a valid email address" }))
  .transform((s) => s.toLowerCase());

export const Phone = z
  .string()
  .trim()
  .refine((s) => /^\+[1-9]\d{6,14}$/.test(s) && parsePhoneNumberFromString(s)?.isValid() === true, {
    message: "Must be a valid phone number in E.164 format, e.g. +14155552671",
  });

export const TimeZone = z
  .string()
  .refine(isTimeZone, { message: "Must be an IANA time zone, e.g. America/New_York" });

/** A JSON object of at most 64 KiB (UTF-8): contact data, event data, enrollment variables. */
export const jsonObjectUpTo64KiB = (field: string) =>
  z
    .record(z.string(), z.unknown())
    .refine((d) => new TextEncoder().encode(JSON.stringify(d)).length <= 64 * 1024, {
      message: `${field} must be at most 64 KiB of JSON`,
    });

export const ContactData = jsonObjectUpTo64KiB("data");

const fields = {
  email: Email.optional(),
  phone: Phone.nullable().optional(),
  externalId: z.string().trim().min(1).max(255).optional(),
  firstName: z.string().max(200).nullable().optional(),
  lastName: z.string().max(200).nullable().optional(),
  timezone: TimeZone.nullable().optional(),
  data: ContactData.optional(),
  subscribed: z.boolean().optional(),
  topics: z
    .record(z.string().min(1).max(64), z.boolean())
    .refine((t) => Object.keys(t).length <= 100, { message: "At most 100 topics" })
    .optional()
    .openapi({
      description:
        "The contact's choices per topic key (merged into the stored ones): false stops marketing under that topic",
      example: { newsletter: false, product_updates: true },
    }),
  smsSubscribed: z.boolean().optional().openapi({
    description: "False after the contact texted STOP; SMS steps skip it. START sets it again.",
  }),
  name: z.string().trim().min(1).max(400).optional().openapi({
    description:
      "Full name (11x style): split at the first space into firstName and lastName when those are not given",
  }),
};

/** `name` split into first and last name where those are absent; `name` itself is not stored. */
function withNameSplit<
  T extends { name?: string; firstName?: string | null; lastName?: string | null },
>(c: T): Omit<T, "name"> {
  const { name, ...rest } = c;
  if (!name) {
    return rest;
  }
  const space = name.search(/\s/);
  const first = space < 0 ? name : name.slice(0, space);
  const last = space < 0 ? null : name.slice(space + 1).trim() || null;
  return {
    ...rest,
    firstName: rest.firstName !== undefined ? rest.firstName : first.slice(0, 200),
    lastName: rest.lastName !== undefined ? rest.lastName : (last?.slice(0, 200) ?? null),
  };
}

/** POST /v1/contacts only: a new contact confirms by email before any message reaches it. */
const optIn = {
  doubleOptIn: z.boolean().optional().openapi({
    description:
      'Double opt-in: the contact is stored `consent: "pending"` and sent a confirmation email; it receives nothing else until it follows the link (then `confirmed`, and the `contact.confirmed` event)',
  }),
  confirmationTemplateId: z.string().min(1).max(100).optional().openapi({
    description:
      "The confirmation email's template (Liquid; `{{ confirm_url }}` is the link). Default: a short built-in email",
  }),
};

export const ContactInput = z
  .strictObject(fields)
  .refine((c) => c.email !== undefined || c.externalId !== undefined || c.phone != null, {
    message: "A contact needs an email, an externalId or a phone",
    path: ["email"],
  })
  .transform(withNameSplit)
  .openapi("ContactInput");

/** The upsert's body: a contact, and optionally a double opt-in. */
export const ContactUpsert = z
  .strictObject({ ...fields, ...optIn })
  .refine((c) => c.email !== undefined || c.externalId !== undefined || c.phone != null, {
    message: "A contact needs an email, an externalId or a phone",
    path: ["email"],
  })
  .refine((c) => !c.doubleOptIn || c.email !== undefined, {
    message: "Double opt-in confirms by email: give the contact's email",
    path: ["doubleOptIn"],
  })
  .transform(withNameSplit)
  .openapi("ContactUpsert");

export const ContactPatch = z.strictObject(fields).transform(withNameSplit).openapi("ContactPatch");

export const contactJson = (c: ContactRow) => ({
  id: c.id,
  email: c.email,
  phone: c.phone,
  externalId: c.externalId,
  firstName: c.firstName,
  lastName: c.lastName,
  timezone: c.timezone,
  data: c.data,
  subscribed: c.subscribed,
  smsSubscribed: c.smsSubscribed,
  topics: c.topics,
  consent: c.consent,
  suppressed: c.suppressed,
  score: c.score ?? null,
  scoredAt: iso(c.scoredAt ?? null),
  unsubscribedAt: iso(c.unsubscribedAt),
  createdAt: iso(c.createdAt) as string,
  updatedAt: iso(c.updatedAt) as string,
});

/** The contact as templates and conditions see it: the API's shape (all fields, `data.*`). */
export const contactSnapshot = (
  c: ContactRow,
): Record<string, unknown> & { data: Record<string, unknown> } => contactJson(c);

/**
 * Creates or updates a contact and tells the org's webhooks (contact.created/updated), and
 * records `contact.unsubscribed` when this change unsubscribed it.
 */
export async function saveContact(
  env: Env,
  db: Db,
  orgId: string,
  input: ContactFields,
  memo?: Memo,
) {
  const { contact, created, previous } = await upsertContact(db, orgId, input);
  await notifyContactChange(env, db, previous, contact, created, memo);
  return { contact, created };
}

/** saveContact for many inputs (see upsertContacts); `results[i]` is an Error for a failed input. */
export async function saveContacts(
  env: Env,
  db: Db,
  orgId: string,
  inputs: ContactFields[],
  memo?: Memo,
): Promise<({ contact: ContactRow; created: boolean } | Error)[]> {
  const results = await upsertContacts(db, orgId, inputs);
  await Promise.all(
    results.map((r) =>
      r instanceof Error
        ? undefined
        : notifyContactChange(env, db, r.previous, r.contact, r.created, memo),
    ),
  );
  return results.map((r) => (r instanceof Error ? r : { contact: r.contact, created: r.created }));
}

export async function notifyContactChange(
  env: Env,
  db: Db,
  before: ContactRow | null,
  after: ContactRow,
  created: boolean,
  memo?: Memo,
) {
  const shaped = contactJson(after);
  await publish(
    env,
    db,
    after.orgId,
    created ? "contact.created" : "contact.updated",
    { contactId: after.id, contact: shaped },
    { memo },
  );
  if (before?.subscribed && !after.subscribed) {
    await recordSystemEvent(env, db, {
      orgId: after.orgId,
      contactId: after.id,
      name: "contact.unsubscribed",
      data: { contact: shaped, source: "api" },
    });
  }
}

export type ContactRef =
  | { id: string }
  | { email: string }
  | { externalId: string }
  | { phone: string };

/** A reference's lookup key: one kind per reference (id, else email, else external id, else phone). */
const refKey = (r: ContactRef) =>
  "id" in r
    ? `i:${r.id}`
    : "email" in r
      ? `e:${r.email}`
      : "externalId" in r
        ? `x:${r.externalId}`
        : `p:${r.phone}`;

/** The contact an id, email or external id names; an unknown email or external id creates one. */
export async function resolveContact(
  env: Env,
  db: Db,
  orgId: string,
  ref: ContactRef,
): Promise<ContactRow> {
  if ("id" in ref) {
    const c = await getContact(db, orgId, ref.id);
    if (!c || c.erasedAt) {
      throw notFound("Contact");
    }
    return c;
  }
  const existing =
    "email" in ref
      ? await findContactByEmail(db, orgId, ref.email)
      : "externalId" in ref
        ? await findContactByExternalId(db, orgId, ref.externalId)
        : await findContactByPhone(db, orgId, ref.phone);
  if (existing) {
    return existing;
  }
  return (await saveContact(env, db, orgId, ref)).contact;
}

/**
 * resolveContact for many references with few round trips: one lookup per kind of reference,
 * and the unknown emails and external ids created together. `results[i]` is an Error for a
 * reference that names no contact (an unknown or erased id) or could not be created.
 */
export async function resolveContacts(
  env: Env,
  db: Db,
  orgId: string,
  refs: ContactRef[],
  memo?: Memo,
): Promise<(ContactRow | Error)[]> {
  const ids = refs.flatMap((r) => ("id" in r ? [r.id] : []));
  const emails = refs.flatMap((r) => ("email" in r ? [r.email] : []));
  const externals = refs.flatMap((r) => ("externalId" in r ? [r.externalId] : []));
  const phones = refs.flatMap((r) => ("phone" in r ? [r.phone] : []));
  const [byId, byEmail, byExternal, byPhone] = await Promise.all([
    getContacts(db, orgId, ids),
    findContactsByEmails(db, orgId, emails),
    findContactsByExternalIds(db, orgId, externals),
    findContactsByPhones(db, orgId, phones),
  ]);
  const known = new Map<string, ContactRow>([
    ...byId.map((c) => [`i:${c.id}`, c] as const),
    ...byEmail.map((c) => [`e:${c.email}`, c] as const),
    ...byExternal.map((c) => [`x:${c.externalId}`, c] as const),
    ...byPhone.map((c) => [`p:${c.phone}`, c] as const),
  ]);
  const keyOf = refKey;
  const missing = new Map<string, ContactFields>();
  for (const r of refs) {
    if (!("id" in r) && !known.has(keyOf(r))) {
      missing.set(keyOf(r), r);
    }
  }
  const created = await saveContacts(env, db, orgId, [...missing.values()], memo);
  const failed = new Map<string, Error>();
  [...missing.keys()].forEach((k, i) => {
    const r = created[i];
    if (r instanceof Error) {
      failed.set(k, r);
    } else {
      known.set(k, r.contact);
    }
  });
  return refs.map((r) => {
    const k = keyOf(r);
    const c = known.get(k);
    if (c && !c.erasedAt) {
      return c;
    }
    return failed.get(k) ?? notFound("Contact");
  });
}
