// API keys: create (secret shown once), list, get, revoke, usage.
import { createRoute } from "@hono/zod-openapi";
import { errorResponses } from "../../../http/errors";
import { json, jsonBody, pathId, secured } from "../../../http/openapi";
import { listOf, PageQuery } from "../../../http/pagination";
import { ApiKey, ApiKeyCreated, ApiKeyInput, Usage } from "./schemas";

const tags = ["API keys"];
const keyId = pathId("id", "key_01JD0000000000000000000000");

export const create = createRoute({
  method: "post",
  path: "/v1/api-keys",
  operationId: "createApiKey",
  summary: "Create an API key (no wider scope or later expiry than the caller's key)",
  tags,
  security: secured,
  request: {
    body: jsonBody(ApiKeyInput, { name: "Signup service", scope: "send", expiresInDays: 90 }),
  },
  responses: { 201: json(ApiKeyCreated, "Created; `key` is shown only here"), ...errorResponses() },
});

export const list = createRoute({
  method: "get",
  path: "/v1/api-keys",
  operationId: "listApiKeys",
  summary: "List the org's API keys (never their secrets)",
  tags,
  security: secured,
  request: { query: PageQuery },
  responses: {
    200: json(listOf(ApiKey), "Keys, newest first (secrets never shown)"),
    ...errorResponses(),
  },
});

export const usage = createRoute({
  method: "get",
  path: "/v1/api-keys/usage",
  operationId: "getApiKeyUsage",
  summary: "Requests per API key in the last 24 hours",
  tags,
  security: secured,
  responses: {
    200: json(Usage, "Per key: requests in the last 24 h (whole hours) and last use"),
    ...errorResponses(),
  },
});

export const get = createRoute({
  method: "get",
  path: "/v1/api-keys/{id}",
  operationId: "getApiKey",
  summary: "Get one API key",
  tags,
  security: secured,
  request: { params: keyId },
  responses: { 200: json(ApiKey, "The key"), ...errorResponses(404) },
});

export const revoke = createRoute({
  method: "post",
  path: "/v1/api-keys/{id}/revoke",
  operationId: "revokeApiKey",
  summary: "Revoke an API key at once",
  tags,
  security: secured,
  request: { params: keyId },
  responses: { 200: json(ApiKey, "Revoked; it stops working at once"), ...errorResponses(404) },
});
