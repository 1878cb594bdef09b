// Contacts: upsert by email else externalId else phone, index-backed listing, erase to a tombstone.
import { and, desc, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import { type Db, IN_SLICE, slices } from "../db/client";
import {
  agentExchanges,
  agentExecutions,
  agentLogs,
  captured,
  contacts,
  enrollments,
  events,
  inboundMail,
  messages,
  sendClaims,
  tasks,
  webhookDeliveries,
  webhooks,
} from "../db/schema";
import { newId } from "../ground/ids";

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
  smsSubscribed?: boolean;
  /** Choices per topic key, merged into the stored ones. */
  topics?: Record<string, boolean>;
  consent?: "pending" | "confirmed" | null;
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

/** A new contact of the org, before its fields are applied: subscribed, nothing known yet. */
const blankContact = (orgId: string, now: number): ContactRow => ({
  id: newId("con", now),
  orgId,
  ...NO_PERSONAL_DATA,
  subscribed: true,
  smsSubscribed: true,
  topics: {},
  consent: null,
  suppressed: null,
  score: null,
  scoredAt: null,
  unsubscribedAt: null,
  erasedAt: null,
  createdAt: now,
  updatedAt: now,
});

export const getContact = (db: Db, orgId: string, id: string) =>
  db
    .select()
    .from(contacts)
    .where(and(eq(contacts.orgId, orgId), eq(contacts.id, id)))
    .get();

/** Many contacts of the org by id, in slices under the parameter limit. */
export async function getContacts(db: Db, orgId: string, ids: string[]) {
  const out: ContactRow[] = [];
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += 90) {
    out.push(
      ...(await db
        .select()
        .from(contacts)
        .where(and(eq(contacts.orgId, orgId), inArray(contacts.id, unique.slice(i, i + 90))))
        .all()),
    );
  }
  return out;
}

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

export const findContactByPhone = (db: Db, orgId: string, phone: string) =>
  db
    .select()
    .from(contacts)
    .where(and(eq(contacts.orgId, orgId), eq(contacts.phone, phone)))
    .get();

/** The contact an input names: by its email, else its external id, else its phone. */
const findByIdentity = (db: Db, orgId: string, input: ContactFields) =>
  input.email
    ? findContactByEmail(db, orgId, input.email)
    : input.externalId
      ? findContactByExternalId(db, orgId, input.externalId)
      : input.phone
        ? findContactByPhone(db, orgId, input.phone)
        : Promise.resolve(undefined);

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
  if (input.smsSubscribed !== undefined) {
    next.smsSubscribed = input.smsSubscribed;
  }
  if (input.topics) {
    next.topics = { ...row.topics, ...input.topics };
  }
  if (input.consent !== undefined) {
    next.consent = input.consent;
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
    const existing = await findByIdentity(db, orgId, input);
    if (existing) {
      const next = applyFields(existing, input, now);
      await db.update(contacts).set(next).where(eq(contacts.id, existing.id)).run();
      return { contact: next, created: false, previous: existing };
    }
    const row = applyFields(blankContact(orgId, now), input, now);
    const inserted = await db
      .insert(contacts)
      .values(row)
      .onConflictDoNothing()
      .returning({ id: contacts.id })
      .all();
    if (inserted.length === 1) {
      return { contact: row, created: true, previous: null };
    }
    if (!(await findByIdentity(db, orgId, input))) {
      // The insert collided on another key than the one identifying the input.
      throw new Error("UNIQUE: another contact has this email, externalId or phone");
    }
  }
  throw new Error("contact upsert did not converge");
}

/** D1 binds at most 100 parameters per statement: lists are queried in slices of this size. */

export const findContactsByEmails = (db: Db, orgId: string, emails: string[]) =>
  findByKeys(db, orgId, contacts.email, emails);

export const findContactsByExternalIds = (db: Db, orgId: string, ids: string[]) =>
  findByKeys(db, orgId, contacts.externalId, ids);

export const findContactsByPhones = (db: Db, orgId: string, phones: string[]) =>
  findByKeys(db, orgId, contacts.phone, phones);

async function findByKeys(
  db: Db,
  orgId: string,
  column: typeof contacts.email | typeof contacts.externalId | typeof contacts.phone,
  keys: string[],
) {
  const out: ContactRow[] = [];
  for (let i = 0; i < keys.length; i += IN_SLICE) {
    out.push(
      ...(await db
        .select()
        .from(contacts)
        .where(and(eq(contacts.orgId, orgId), inArray(column, keys.slice(i, i + IN_SLICE))))
        .all()),
    );
  }
  return out;
}

export interface Upserted {
  contact: ContactRow;
  created: boolean;
  previous: ContactRow | null;
}

/**
 * upsertContact for many inputs with few round trips: one lookup per key kind, one batch of
 * inserts for the new contacts (several rows per statement) and updates for the changed ones.
 * Inputs that name the same contact twice, and any insert that lost a race, go through
 * upsertContact one by one. A batch that fails (a quota reached) is retried one by one too, so
 * each input gets its own answer; `results[i]` is an Error for an input that failed.
 */
export async function upsertContacts(
  db: Db,
  orgId: string,
  inputs: ContactFields[],
  now = Date.now(),
): Promise<(Upserted | Error)[]> {
  const results: (Upserted | Error | undefined)[] = new Array(inputs.length);
  const keyOf = (c: ContactFields) =>
    c.email ? `e:${c.email}` : c.externalId ? `x:${c.externalId}` : c.phone ? `p:${c.phone}` : null;
  const seen = new Set<string>();
  const batchable: number[] = [];
  const oneByOne: number[] = [];
  inputs.forEach((c, i) => {
    const k = keyOf(c);
    if (k && !seen.has(k)) {
      seen.add(k);
      batchable.push(i);
    } else {
      oneByOne.push(i);
    }
  });
  const emails = batchable.flatMap((i) => (inputs[i].email ? [inputs[i].email as string] : []));
  const externals = batchable.flatMap((i) =>
    !inputs[i].email && inputs[i].externalId ? [inputs[i].externalId as string] : [],
  );
  const phones = batchable.flatMap((i) =>
    !inputs[i].email && !inputs[i].externalId && inputs[i].phone ? [inputs[i].phone as string] : [],
  );
  const [byEmail, byExternal, byPhone] = await Promise.all([
    findByKeys(db, orgId, contacts.email, emails),
    findByKeys(db, orgId, contacts.externalId, externals),
    findByKeys(db, orgId, contacts.phone, phones),
  ]);
  const existing = new Map<string, ContactRow>([
    ...byEmail.map((r) => [`e:${r.email}`, r] as const),
    ...byExternal.map((r) => [`x:${r.externalId}`, r] as const),
    ...byPhone.map((r) => [`p:${r.phone}`, r] as const),
  ]);
  const fresh: { i: number; row: ContactRow }[] = [];
  const changed: ContactRow[] = [];
  for (const i of batchable) {
    const prior = existing.get(keyOf(inputs[i]) as string);
    if (prior) {
      const next = applyFields(prior, inputs[i], now);
      changed.push(next);
      results[i] = { contact: next, created: false, previous: prior };
    } else {
      fresh.push({ i, row: applyFields(blankContact(orgId, now), inputs[i], now) });
    }
  }
  // 18 bound columns (a new contact has no score: those two go as literal nulls): 5 rows stay
  // under D1's 100-parameter limit.
  const PER_INSERT = 5;
  const inserts = [];
  for (let j = 0; j < fresh.length; j += PER_INSERT) {
    inserts.push(
      db
        .insert(contacts)
        .values(
          fresh.slice(j, j + PER_INSERT).map(({ row: { score: _, scoredAt: __, ...row } }) => row),
        )
        .onConflictDoNothing()
        .returning({ id: contacts.id }),
    );
  }
  const updates = changed.map((row) => db.update(contacts).set(row).where(eq(contacts.id, row.id)));
  const stmts = [...inserts, ...updates];
  let insertedIds = new Set<string>();
  if (stmts.length > 0) {
    try {
      const out = await db.batch(stmts as [(typeof stmts)[0], ...typeof stmts]);
      insertedIds = new Set(
        (out.slice(0, inserts.length) as { id: string }[][]).flat().map((r) => r.id),
      );
    } catch {
      // One input broke the batch (a quota): everyone gets their own answer.
      return Promise.all(
        inputs.map((c) => upsertContact(db, orgId, c, now).catch((err: Error) => err)),
      );
    }
  }
  for (const f of fresh) {
    if (insertedIds.has(f.row.id)) {
      results[f.i] = { contact: f.row, created: true, previous: null };
    } else {
      oneByOne.push(f.i); // lost a race to another request
    }
  }
  for (const i of oneByOne.sort((a, b) => a - b)) {
    results[i] = await upsertContact(db, orgId, inputs[i], now).catch((err: Error) => err);
  }
  return results as (Upserted | Error)[];
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
  f: { email?: string; externalId?: string; phone?: string },
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
        f.phone ? eq(contacts.phone, f.phone) : undefined,
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
 * messages' address, subject and stored job, the captured copies of those messages, its
 * enrollments' variables and trigger data, and the contact snapshot inside webhook payloads.
 */
/**
 * The ids of the org's agent executions about a contact: run for one of its enrollments (a
 * workflow agent's, a step's), or naming its id, email or phone in their input or output (an
 * execute call, a score, an inference). Read before the erasure clears what identifies them.
 */
async function executionsAbout(
  db: Db,
  orgId: string,
  contact: Pick<ContactRow, "id" | "email" | "phone">,
) {
  const ofEnrollments = db
    .select({ id: enrollments.id })
    .from(enrollments)
    .where(and(eq(enrollments.orgId, orgId), eq(enrollments.contactId, contact.id)));
  const needles = [contact.id, contact.email, contact.phone]
    .filter((n): n is string => Boolean(n))
    .map((n) => n.toLowerCase());
  const rows = await db
    .select({ id: agentExecutions.id })
    .from(agentExecutions)
    .where(
      and(
        eq(agentExecutions.orgId, orgId),
        or(
          inArray(agentExecutions.enrollmentId, ofEnrollments),
          sql`json_extract(${agentExecutions.origin}, '$.enrollmentId') IN ${ofEnrollments}`,
          ...needles.flatMap((n) => [
            sql`instr(lower(${agentExecutions.input}), ${n}) > 0`,
            sql`instr(lower(coalesce(${agentExecutions.output}, '')), ${n}) > 0`,
          ]),
        ),
      ),
    )
    .all();
  return rows.map((r) => r.id);
}

/** What an erased contact's webhook payloads keep: ids, status and timing, nothing it said or was. */
const KEPT_EVENT_FIELDS = new Set(["status", "stepType", "durationMs", "costUsd"]);

function erasedPayload(payload: string): string {
  const event = JSON.parse(payload) as { data?: Record<string, unknown> };
  const data = event.data ?? {};
  const kept: Record<string, unknown> = Object.fromEntries(
    Object.entries(data).filter(([k]) => k.endsWith("Id") || KEPT_EVENT_FIELDS.has(k)),
  );
  const error = data.error as { code?: unknown } | null | undefined;
  if (error && typeof error === "object") {
    kept.error = { code: error.code, message: "(erased)" };
  }
  return JSON.stringify({ ...event, data: kept });
}

/** The org's webhook deliveries of events about the contact or one of its agent executions. */
async function deliveriesAbout(db: Db, orgId: string, contactId: string, executionIds: string[]) {
  const orgWebhooks = db
    .select({ id: webhooks.id })
    .from(webhooks)
    .where(eq(webhooks.orgId, orgId));
  const about = [
    sql`json_extract(${webhookDeliveries.payload}, '$.data.contactId') = ${contactId}`,
    ...slices(executionIds).map((ids) =>
      inArray(sql`json_extract(${webhookDeliveries.payload}, '$.data.executionId')`, ids),
    ),
  ];
  const found = new Map<string, string>();
  for (const where of about) {
    const rows = await db
      .select({ id: webhookDeliveries.id, payload: webhookDeliveries.payload })
      .from(webhookDeliveries)
      .where(and(inArray(webhookDeliveries.webhookId, orgWebhooks), where))
      .all();
    for (const r of rows) {
      found.set(r.id, r.payload);
    }
  }
  return [...found];
}

/**
 * Erases a contact's personal data from every table that can hold it (src/db/personal-data.ts
 * lists them, and the erasure test holds the list to the schema), leaving a tombstone.
 */
export async function eraseContact(db: Db, orgId: string, id: string, now = Date.now()) {
  const contact = await db
    .select({ id: contacts.id, email: contacts.email, phone: contacts.phone })
    .from(contacts)
    .where(and(eq(contacts.orgId, orgId), eq(contacts.id, id)))
    .get();
  if (!contact) {
    return;
  }
  const ofContact = db
    .select({ id: messages.id })
    .from(messages)
    .where(and(eq(messages.orgId, orgId), eq(messages.contactId, id)));
  const executionIds = await executionsAbout(db, orgId, contact);
  const deliveries = await deliveriesAbout(db, orgId, id, executionIds);
  // Mail from the contact's address: the org's, and mail matched to no org at all (its sender is
  // still this person).
  const fromContact = contact.email
    ? or(
        inArray(inboundMail.messageId, ofContact),
        and(
          or(eq(inboundMail.orgId, orgId), isNull(inboundMail.orgId)),
          eq(inboundMail.from, contact.email),
        ),
      )
    : inArray(inboundMail.messageId, ofContact);
  await db.batch([
    db
      .update(contacts)
      .set({ ...NO_PERSONAL_DATA, topics: {}, subscribed: false, erasedAt: now, updatedAt: now })
      .where(and(eq(contacts.orgId, orgId), eq(contacts.id, id))),
    db
      .update(events)
      .set({ data: {} })
      .where(and(eq(events.orgId, orgId), eq(events.contactId, id))),
    // Captures are keyed by their message's id (obx_X for msg_X, src/db/captured.ts).
    db.delete(captured).where(
      and(
        eq(captured.orgId, orgId),
        inArray(
          captured.id,
          db
            .select({ id: sql<string>`'obx_' || substr(${messages.id}, 5)` })
            .from(messages)
            .where(and(eq(messages.orgId, orgId), eq(messages.contactId, id))),
        ),
      ),
    ),
    db
      .update(inboundMail)
      .set({ from: "", subject: null, text: null, reason: null })
      .where(fromContact),
    db
      .update(messages)
      .set({ to: "", subject: null, body: null, summary: null, error: null, job: null })
      .where(and(eq(messages.orgId, orgId), eq(messages.contactId, id))),
    // Task titles and instructions were rendered from the contact's fields.
    db
      .update(tasks)
      .set({ title: "(erased)", instructions: null, note: null })
      .where(and(eq(tasks.orgId, orgId), eq(tasks.contactId, id))),
    db
      .update(enrollments)
      .set({ variables: {}, triggerEvent: null, error: null })
      .where(and(eq(enrollments.orgId, orgId), eq(enrollments.contactId, id))),
    db.delete(sendClaims).where(and(eq(sendClaims.orgId, orgId), eq(sendClaims.contactId, id))),
    ...slices(executionIds).flatMap((ids) => [
      db
        .update(agentExecutions)
        .set({
          input: {},
          output: null,
          error: sql`CASE WHEN ${agentExecutions.error} IS NULL THEN NULL ELSE json_object('code', json_extract(${agentExecutions.error}, '$.code'), 'message', '(erased)') END`,
        })
        .where(and(eq(agentExecutions.orgId, orgId), inArray(agentExecutions.id, ids))),
      db
        .update(agentLogs)
        .set({ message: "(erased)" })
        .where(and(eq(agentLogs.orgId, orgId), inArray(agentLogs.executionId, ids))),
      db
        .delete(agentExchanges)
        .where(and(eq(agentExchanges.orgId, orgId), inArray(agentExchanges.executionId, ids))),
    ]),
    ...deliveries.map(([deliveryId, payload]) =>
      db
        .update(webhookDeliveries)
        .set({ payload: erasedPayload(payload) })
        .where(eq(webhookDeliveries.id, deliveryId)),
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
