// API keys: create (secret shown once), list, get, revoke, usage.
import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../http/errors";
import { json, jsonBody, pathId, secured, Timestamp } from "../../http/openapi";
import { listOf, PageQuery } from "../../http/pagination";

export const ApiKey = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string(),
    lastFour: z.string(),
    expiresAt: Timestamp.nullable(),
    revokedAt: Timestamp.nullable(),
    createdAt: Timestamp,
  })
  .openapi("ApiKey");

export const ApiKeyCreated = ApiKey.extend({ key: z.string().openapi({ description: "Shown only once" }) }).openapi("ApiKeyCreated");

const tags = ["API keys"];
const keyId = pathId("id", "key_01JD0000000000000000000000");

export const create = createRoute({
  method: "post",
  path: "/v1/api-keys",
  tags,
  security: secured,
  request: {
    body: jsonBody(z.object({ name: z.string().trim().min(1).max(200), expiresInDays: z.number().int().min(1).max(3650).optional() })),
  },
  responses: { 201: json(ApiKeyCreated, "Created; `key` is shown only here"), ...errorResponses() },
});

export const list = createRoute({
  method: "get",
  path: "/v1/api-keys",
  tags,
  security: secured,
  request: { query: PageQuery },
  responses: { 200: json(listOf(ApiKey), "Keys, newest first (secrets never shown)"), ...errorResponses() },
});

export const usage = createRoute({
  method: "get",
  path: "/v1/api-keys/usage",
  tags,
  security: secured,
  responses: {
    200: json(
      z.object({ data: z.array(z.object({ id: z.string(), requests24h: z.number(), lastUsedAt: Timestamp.nullable() })) }),
      "Per key: requests in the last 24 h (whole hours) and last use",
    ),
    ...errorResponses(),
  },
});

export const get = createRoute({
  method: "get",
  path: "/v1/api-keys/{id}",
  tags,
  security: secured,
  request: { params: keyId },
  responses: { 200: json(ApiKey, "The key"), ...errorResponses(404) },
});

export const revoke = createRoute({
  method: "post",
  path: "/v1/api-keys/{id}/revoke",
  tags,
  security: secured,
  request: { params: keyId },
  responses: { 200: json(ApiKey, "Revoked; it stops working at once"), ...errorResponses(404) },
});
