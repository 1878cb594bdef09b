import { database } from "../../db/client";
import { type ContactRow, getContact, listContacts, updateContact } from "../../db/contacts";
import { listContactEvents } from "../../db/events";
import { eraseContactEverywhere, notifyContactChange, saveContact } from "../../enrollments";
import { ApiError, notFound } from "../../http/errors";
import { router } from "../../http/openapi";
import { pageOf, toPage } from "../../http/pagination";
import { eventJson } from "../events";
import * as routes from "./routes";
import { contactJson } from "./schemas";

export { contactJson };

async function liveContact(c: { env: { DB: D1Database }; get: (k: "orgId") => string }, id: string) {
  const row = await getContact(database(c.env.DB), c.get("orgId"), id);
  if (!row || row.erasedAt) throw notFound("Contact");
  return row;
}

export default router()
  .openapi(routes.upsert, async (c) => {
    const { contact, created } = await saveContact(c.env, database(c.env.DB), c.get("orgId"), c.req.valid("json"));
    return c.json(contactJson(contact), created ? 201 : 200);
  })
  .openapi(routes.list, async (c) => {
    const q = c.req.valid("query");
    const page = toPage(q);
    const rows = await listContacts(database(c.env.DB), c.get("orgId"), { email: q.email?.toLowerCase(), externalId: q.externalId }, page.limit, page.before);
    const { data, nextCursor } = pageOf(rows, page);
    return c.json({ data: data.map(contactJson), nextCursor }, 200);
  })
  .openapi(routes.get, async (c) => c.json(contactJson(await liveContact(c, c.req.valid("param").id)), 200))
  .openapi(routes.patch, async (c) => {
    const row = await liveContact(c, c.req.valid("param").id);
    const input = c.req.valid("json");
    let next: ContactRow;
    try {
      next = await updateContact(database(c.env.DB), row, input);
    } catch (err) {
      if (String(err).includes("UNIQUE")) throw new ApiError("conflict", "Another contact already has this email or externalId");
      throw err;
    }
    await notifyContactChange(c.env, database(c.env.DB), row, next, false);
    return c.json(contactJson(next), 200);
  })
  .openapi(routes.erase, async (c) => {
    const row = await liveContact(c, c.req.valid("param").id);
    await eraseContactEverywhere(c.env, database(c.env.DB), row);
    return c.body(null, 204);
  })
  .openapi(routes.events, async (c) => {
    const row = await liveContact(c, c.req.valid("param").id);
    const page = toPage(c.req.valid("query"));
    const rows = await listContactEvents(database(c.env.DB), row.orgId, row.id, page.limit, page.before);
    const { data, nextCursor } = pageOf(rows, page);
    return c.json({ data: data.map(eventJson), nextCursor }, 200);
  });
