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

const D1Counts = z.object({ queries: z.number().int(), rowsWritten: z.number().int() });

export const metrics = createRoute({
  method: "get",
  path: "/v1/admin/metrics",
  tags: ["Admin"],
  summary: "This isolate's counters: D1 statements and rows written per unit of work, engine steps (ADMIN_TOKEN)",
  description:
    "Counters kept in memory by the isolate that answers, since it started: for benchmarks and debugging, not billing. `rowsWritten` is what D1 reports, index entries included.",
  security: [{ adminToken: [] }],
  responses: {
    200: json(
      z.object({
        startedAt: Timestamp,
        d1: z.object({ request: D1Counts, object: D1Counts, queue: D1Counts, cron: D1Counts, other: D1Counts }),
        engine: z.object({ steps: z.number().int(), alarms: z.number().int() }),
      }),
      "Counters",
    ),
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
