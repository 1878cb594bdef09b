// GET /v1/account: the org the API key belongs to.
import { createRoute } from "@hono/zod-openapi";
import { errorResponses } from "../../../http/errors";
import { json, jsonBody, secured } from "../../../http/openapi";
import { Account, AccountPatch } from "./schemas";

export const get = createRoute({
  method: "get",
  path: "/v1/account",
  operationId: "getAccount",
  tags: ["Account"],
  summary: "The caller's org and its quotas",
  security: secured,
  responses: {
    200: json(Account, "The org, with each quota's count and limit"),
    ...errorResponses(),
  },
});

export const patch = createRoute({
  method: "patch",
  path: "/v1/account",
  operationId: "updateAccount",
  tags: ["Account"],
  summary: "Set the org's reporting time zone and the branding of its hosted pages",
  security: secured,
  request: {
    body: jsonBody(AccountPatch, {
      reportingTimezone: "Europe/Paris",
      branding: { name: "Acme", logoUrl: "https://acme.example/logo.png", accentColor: "#3b5bdb" },
    }),
  },
  responses: {
    200: json(Account, "The org, with each quota's count and limit"),
    ...errorResponses(),
  },
});
