// Admin bootstrap and the caller's account.
import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../http/errors";
import { json, jsonBody, secured, Timestamp } from "../../http/openapi";
import { ApiKeyCreated } from "../api-keys/routes";

export const Org = z.object({ id: z.string(), name: z.string(), createdAt: Timestamp }).openapi("Org");

export const createOrg = createRoute({
  method: "post",
  path: "/v1/admin/orgs",
  tags: ["Admin"],
  summary: "Create an org and its first API key (ADMIN_TOKEN)",
  security: [{ adminToken: [] }],
  request: { body: jsonBody(z.object({ name: z.string().trim().min(1).max(200) })) },
  responses: {
    201: json(z.object({ org: Org, apiKey: ApiKeyCreated }), "Org created; the key is shown only here"),
    ...errorResponses(404),
  },
});

export const account = createRoute({
  method: "get",
  path: "/v1/account",
  tags: ["Account"],
  summary: "The caller's org",
  security: secured,
  responses: { 200: json(Org, "The org"), ...errorResponses() },
});
