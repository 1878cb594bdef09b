// Admin (ADMIN_TOKEN): bootstrap an org with its first key; this isolate's counters.
import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../../http/errors";
import { json, jsonBody } from "../../../http/openapi";
import { ApiKeyCreated } from "../api-keys/schemas";
import { Metrics, Org, OrgInput, OrgQuotas, QuotasInput } from "./schemas";

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
