// Email provider connections: credentials encrypted at rest and never returned.
import { createRoute } from "@hono/zod-openapi";
import { errorResponses } from "../../../http/errors";
import { json, jsonBody, pathId, secured } from "../../../http/openapi";
import { listOf, PageQuery } from "../../../http/pagination";
import { Connection, ConnectionInput, ConnectionPatch } from "./schemas";

const tags = ["Connections"];
const params = pathId("id", "cxn_01JD0000000000000000000000");

export const create = createRoute({
  method: "post",
  path: "/v1/connections",
  operationId: "createConnection",
  summary: "Connect an email provider (credentials are verified and encrypted)",
  tags,
  security: secured,
  request: {
    body: jsonBody(ConnectionInput, {
      provider: "resend",
      credentials: { apiKey: "re_123456789" },
      from: "Acme <hello@acme.example>",
    }),
  },
  responses: {
    201: json(Connection, "Created (credentials are never returned)"),
    ...errorResponses(409),
  },
});

export const list = createRoute({
  method: "get",
  path: "/v1/connections",
  operationId: "listConnections",
  summary: "List provider connections",
  tags,
  security: secured,
  request: { query: PageQuery },
  responses: { 200: json(listOf(Connection), "Connections"), ...errorResponses() },
});

export const get = createRoute({
  method: "get",
  path: "/v1/connections/{id}",
  operationId: "getConnection",
  summary: "Get one provider connection (credentials redacted)",
  tags,
  security: secured,
  request: { params },
  responses: { 200: json(Connection, "The connection"), ...errorResponses(404) },
});

export const patch = createRoute({
  method: "patch",
  path: "/v1/connections/{id}",
  operationId: "updateConnection",
  summary: "Update a connection's settings or credentials",
  tags,
  security: secured,
  request: { params, body: jsonBody(ConnectionPatch, { from: "Acme Team <team@acme.example>" }) },
  responses: { 200: json(Connection, "Updated"), ...errorResponses(404, 409) },
});

export const remove = createRoute({
  method: "delete",
  path: "/v1/connections/{id}",
  operationId: "deleteConnection",
  summary: "Delete a provider connection",
  tags,
  security: secured,
  request: { params },
  responses: { 204: { description: "Deleted" }, ...errorResponses(404) },
});

export const resume = createRoute({
  method: "post",
  path: "/v1/connections/{id}/resume",
  operationId: "resumeConnection",
  summary: "Resume a connection paused by a bounce or complaint storm",
  description: "Its waiting sends go out again, in slot order; its health window starts afresh.",
  tags,
  security: secured,
  request: { params },
  responses: { 200: json(Connection, "The connection, sending again"), ...errorResponses(404) },
});
