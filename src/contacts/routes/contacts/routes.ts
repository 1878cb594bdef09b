// Contacts: upsert, list, read, update, erase, and a contact's events.
import { createRoute } from "@hono/zod-openapi";
import { Event } from "../../../events/routes/events/schemas";
import { errorResponses } from "../../../http/errors";
import { json, jsonBody, pathId, secured } from "../../../http/openapi";
import { listOf, PageQuery } from "../../../http/pagination";
import { Contact, ContactPatch, ContactQuery, ContactUpsert } from "./schemas";

const tags = ["Contacts"];
const params = pathId("id", "con_01JD0000000000000000000000");

export const upsert = createRoute({
  method: "post",
  path: "/v1/contacts",
  operationId: "upsertContact",
  tags,
  security: secured,
  summary: "Create or update a contact (by email, else externalId)",
  request: {
    body: jsonBody(ContactUpsert, {
      email: "ada@example.com",
      firstName: "Ada",
      lastName: "Lovelace",
      timezone: "Europe/London",
      data: { plan: "pro" },
    }),
  },
  responses: { 200: json(Contact, "Updated"), 201: json(Contact, "Created"), ...errorResponses() },
});

export const list = createRoute({
  method: "get",
  path: "/v1/contacts",
  operationId: "listContacts",
  summary: "List contacts, newest first",
  tags,
  security: secured,
  request: { query: ContactQuery },
  responses: { 200: json(listOf(Contact), "Contacts, newest first"), ...errorResponses() },
});

export const get = createRoute({
  method: "get",
  path: "/v1/contacts/{id}",
  operationId: "getContact",
  summary: "Get one contact",
  tags,
  security: secured,
  request: { params },
  responses: { 200: json(Contact, "The contact"), ...errorResponses(404) },
});

export const patch = createRoute({
  method: "patch",
  path: "/v1/contacts/{id}",
  operationId: "updateContact",
  summary: "Update a contact's fields, attributes or subscription",
  tags,
  security: secured,
  request: { params, body: jsonBody(ContactPatch, { subscribed: false }) },
  responses: { 200: json(Contact, "Updated"), ...errorResponses(404, 409) },
});

export const erase = createRoute({
  method: "delete",
  path: "/v1/contacts/{id}",
  operationId: "eraseContact",
  tags,
  security: secured,
  summary: "Erase a contact's personal data and cancel its enrollments",
  request: { params },
  responses: { 204: { description: "Erased" }, ...errorResponses(404) },
});

export const events = createRoute({
  method: "get",
  path: "/v1/contacts/{id}/events",
  operationId: "listContactEvents",
  summary: "List a contact's events, newest first",
  tags,
  security: secured,
  request: { params, query: PageQuery },
  responses: {
    200: json(listOf(Event), "The contact's events, newest first"),
    ...errorResponses(404),
  },
});
