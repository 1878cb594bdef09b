// GET /v1/account: the org the API key belongs to.
import { createRoute } from "@hono/zod-openapi";
import { errorResponses } from "../../http/errors";
import { json, secured } from "../../http/openapi";
import { Account } from "./schemas";

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
