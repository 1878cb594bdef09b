// Contact handlers.

import type { Db } from "../../../db/client";
import { isUniqueViolation } from "../../../db/client";
import { readShardFor, shardFor } from "../../../db/shards";
import { eventJson } from "../../../events/routes/events/schemas";
import { DomainError, notFound } from "../../../ground/errors";
import type { Handler } from "../../../http/openapi";
import { pageOf, toPage } from "../../../http/pagination";
import { requestConfirmation } from "../../../messaging";
import { notifyContactChange, saveContact } from "../../contacts";
import { listContactEvents } from "../../events-store";
import { type ContactRow, getContact, listContacts, updateContact } from "../../store";
import { eraseContactEverywhere } from "./erasure";
import type * as routes from "./routes";
import { contactJson } from "./schemas";

async function liveContact(db: Db, orgId: string, id: string) {
  const row = await getContact(db, orgId, id);
  if (!row || row.erasedAt) {
    throw notFound("Contact");
  }
  return row;
}

const keyTaken = () =>
  new DomainError("conflict", "Another contact already has this email, externalId or phone");

export const upsert: Handler<typeof routes.upsert> = async (c) => {
  const { doubleOptIn, confirmationTemplateId, ...fields } = c.req.valid("json");
  const db = await shardFor(c.env, c.get("orgId"));
  let saved: Awaited<ReturnType<typeof saveContact>>;
  try {
    saved = await saveContact(c.env, db, c.get("orgId"), fields);
  } catch (err) {
    throw isUniqueViolation(err) ? keyTaken() : err;
  }
  let { contact } = saved;
  // A contact that confirmed once stays confirmed; any other starts (or stays) pending.
  if (doubleOptIn && contact.consent !== "confirmed") {
    contact = await requestConfirmation(c.env, db, contact, confirmationTemplateId);
  }
  return c.json(contactJson(contact), saved.created ? 201 : 200);
};

export const list: Handler<typeof routes.list> = async (c) => {
  const q = c.req.valid("query");
  const page = toPage(q);
  const rows = await listContacts(
    await readShardFor(c.env, c.get("orgId")),
    c.get("orgId"),
    {
      email: q.email?.toLowerCase(),
      externalId: q.externalId,
      phone: q.phone?.replace(/[\s().-]/g, ""),
    },
    page.limit,
    page.before,
  );
  const { data, nextCursor } = pageOf(rows, page);
  return c.json({ data: data.map(contactJson), nextCursor }, 200);
};

export const get: Handler<typeof routes.get> = async (c) =>
  c.json(
    contactJson(
      await liveContact(
        await shardFor(c.env, c.get("orgId")),
        c.get("orgId"),
        c.req.valid("param").id,
      ),
    ),
    200,
  );

export const patch: Handler<typeof routes.patch> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const row = await liveContact(db, c.get("orgId"), c.req.valid("param").id);
  let next: ContactRow;
  try {
    next = await updateContact(db, row, c.req.valid("json"));
  } catch (err) {
    if (isUniqueViolation(err)) {
      throw keyTaken();
    }
    throw err;
  }
  await notifyContactChange(c.env, db, row, next, false);
  return c.json(contactJson(next), 200);
};

export const erase: Handler<typeof routes.erase> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  await eraseContactEverywhere(
    c.env,
    db,
    await liveContact(db, c.get("orgId"), c.req.valid("param").id),
  );
  return c.body(null, 204);
};

export const events: Handler<typeof routes.events> = async (c) => {
  const db = await readShardFor(c.env, c.get("orgId"));
  const row = await liveContact(db, c.get("orgId"), c.req.valid("param").id);
  const page = toPage(c.req.valid("query"));
  const { data, nextCursor } = pageOf(
    await listContactEvents(db, row.orgId, row.id, page.limit, page.before),
    page,
  );
  return c.json({ data: data.map(eventJson), nextCursor }, 200);
};
