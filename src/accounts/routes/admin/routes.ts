// Admin (ADMIN_TOKEN): bootstrap an org with its first key; this isolate's counters; move an org
// to another shard.
import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../../http/errors";
import { json, jsonBody } from "../../../http/openapi";
import { ApiKeyCreated } from "../api-keys/schemas";
import { Metrics, MoveInput, MoveResult, Org, OrgInput, OrgQuotas, QuotasInput } from "./schemas";

const security = [{ adminToken: [] }];

export const createOrg = createRoute({
  method: "post",
  path: "/v1/admin/orgs",
  operationId: "createOrg",
  tags: ["Admin"],
  summary: "Create an org and its first API key (ADMIN_TOKEN)",
  security,
  request: { body: jsonBody(OrgInput, { name: "Acme" }) },
  responses: {
    201: json(
      z.object({ org: Org, apiKey: ApiKeyCreated }),
      "Org created; the key is shown only here",
    ),
    ...errorResponses(404),
  },
});

export const metrics = createRoute({
  method: "get",
  path: "/v1/admin/metrics",
  operationId: "getMetrics",
  tags: ["Admin"],
  summary:
    "This isolate's counters: D1 statements and rows written per unit of work, engine steps (ADMIN_TOKEN)",
  description:
    "Counters kept in memory by the isolate that answers, since it started: for benchmarks and debugging, not billing. `rowsWritten` is what D1 reports, index entries included.",
  security,
  responses: { 200: json(Metrics, "Counters"), ...errorResponses(404) },
});

const UnmatchedMail = z
  .object({
    id: z.string(),
    via: z.string(),
    from: z.string(),
    to: z.string(),
    subject: z.string().nullable(),
    reason: z.string().nullable(),
    receivedAt: z.string(),
  })
  .openapi("UnmatchedMail");

export const unmatchedMail = createRoute({
  method: "get",
  path: "/v1/admin/inbound-mail",
  operationId: "listUnmatchedMail",
  tags: ["Admin"],
  summary: "Received mail applied to no message, newest first, with the reason (ADMIN_TOKEN)",
  description:
    "Mail that reached the email() handler or a provider's inbound webhook but carried no valid reply token and no known Message-ID in In-Reply-To/References (or, for a bounce, in the quoted original). Mail that only comes from an address Nudge emailed is listed too: a From header proves nothing, so it is not applied. Only the operator sees it. At most 50.",
  security,
  responses: {
    200: json(z.object({ data: z.array(UnmatchedMail) }), "Unmatched mail"),
    ...errorResponses(404),
  },
});

export const setQuotas = createRoute({
  method: "patch",
  path: "/v1/admin/orgs/{id}/quotas",
  operationId: "setOrgQuotas",
  tags: ["Admin"],
  summary: "Change an org's quotas (ADMIN_TOKEN)",
  security,
  request: {
    params: z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) }),
    body: jsonBody(QuotasInput, { contacts: 100000, workflows: 200 }),
  },
  responses: { 200: json(OrgQuotas, "The org's quotas now"), ...errorResponses(404) },
});

export const moveOrg = createRoute({
  method: "post",
  path: "/v1/admin/orgs/{id}/move",
  operationId: "moveOrg",
  tags: ["Admin"],
  summary: "Move an org's rows to another shard while it runs (ADMIN_TOKEN)",
  description:
    "Marks the org as moving (its API calls answer 503 `service_unavailable` with Retry-After, its enrollments and queued jobs wait and come back), waits until no isolate can still use its old placement, copies every row it owns to the shard named, checks the counts table by table, points the directory at the new shard and deletes the rows left on the old one. Answers when done, with the rows moved per table. If the copy fails or the counts differ, nothing is moved: the old shard stays the org's and the mark is cleared. An org with a region moves only to a shard of that region. `npm run shards:move -- <org> <shard>` calls it.",
  security,
  request: {
    params: z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) }),
    body: jsonBody(MoveInput, { shard: 1 }),
  },
  responses: {
    200: json(MoveResult, "The org now lives on the new shard"),
    ...errorResponses(404, 409, 503),
  },
});
