// Where DomainErrors (src/ground/errors.ts) meet HTTP: each code's status, and the one shape
// API.md fixes for every error a route answers with: {error, message, details?, requestId}.
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { quotaExceeded } from "../db/quotas";
import { ConfigurationError } from "../ground/config";
import type { AppEnv } from "../ground/env";
import { DomainError, type ErrorCode } from "../ground/errors";
import { createLogger, errorText } from "../ground/log";

/** Every code's status; typed over ErrorCode, so a new code without a status does not compile. */
export const ERROR_STATUS = {
  invalid_json: 400,
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  quota_exceeded: 403,
  not_found: 404,
  conflict: 409,
  already_enrolled: 409,
  reentry_not_allowed: 409,
  idempotency_key_in_use: 409,
  workflow_has_active_enrollments: 409,
  report_not_ready: 409,
  link_expired: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  validation_failed: 422,
  idempotency_key_reused: 422,
  invalid_graph: 422,
  workflow_archived: 422,
  workflow_not_active: 422,
  contacts_required: 422,
  contacts_empty: 422,
  too_many_contacts: 422,
  no_enrollments_created: 422,
  missing_variables: 422,
  invalid_outcome: 422,
  task_closed: 409,
  agent_name_taken: 409,
  agent_paused: 409,
  template_in_use: 409,
  no_llm_connection: 422,
  output_invalid: 422,
  budget_exhausted: 429,
  agent_busy: 429,
  llm_error: 502,
  rate_limited: 429,
  internal_error: 500,
  configuration_error: 500,
  service_unavailable: 503,
} as const satisfies Record<ErrorCode, ContentfulStatusCode>;

/** The contract's error for a failure a caller can act on (ours, or a quota); null for a fault. */
export function knownError(err: unknown): DomainError | null {
  if (err instanceof DomainError) {
    return err;
  }
  const resource = quotaExceeded(err);
  return resource
    ? new DomainError(
        "quota_exceeded",
        `This org has reached its ${resource} quota; GET /v1/account shows its quotas`,
        { extra: { resource } },
      )
    : null;
}

export const ErrorBody = z
  .object({
    error: z.string().openapi({ example: "validation_failed" }),
    message: z.string(),
    details: z.array(z.any()).optional(),
    requestId: z.string(),
  })
  .openapi("Error");

const DESCRIPTIONS: Record<number, string> = {
  400: "Malformed JSON (`invalid_json`) or a bad request",
  401: "Missing, invalid, revoked or expired API key (`unauthorized`)",
  403: "The key's scope does not allow this (`forbidden`), or an org quota is reached (`quota_exceeded`)",
  404: "Not found in this org (`not_found`)",
  409: "Conflict (`already_enrolled`, `reentry_not_allowed`, `idempotency_key_in_use`, ...)",
  413: "Body over 1 MiB (`payload_too_large`)",
  415: "Body is not JSON (`unsupported_media_type`)",
  422: "Validation failed (`validation_failed`, `idempotency_key_reused`, and route-specific codes)",
  429: "Rate limited (`rate_limited`), see `Retry-After`",
  500: "Unexpected error (`internal_error`)",
};

/** The documented error responses every authenticated route shares, plus route-specific ones. */
export function errorResponses(...extra: number[]) {
  const statuses = new Set([400, 401, 403, 413, 415, 422, 429, 500, ...extra]);
  const out: Record<
    number,
    { description: string; content: { "application/json": { schema: typeof ErrorBody } } }
  > = {};
  for (const s of [...statuses].sort()) {
    out[s] = {
      description: DESCRIPTIONS[s] ?? "Error",
      content: { "application/json": { schema: ErrorBody } },
    };
  }
  return out;
}

export function errorJson(
  c: Context<AppEnv>,
  code: ErrorCode,
  message: string,
  details?: unknown[],
  extra?: Record<string, unknown>,
) {
  const body: Record<string, unknown> = { error: code, message };
  if (details) {
    body.details = details;
  }
  if (extra) {
    Object.assign(body, extra);
  }
  body.requestId = c.get("requestId") ?? "";
  return c.json(body, ERROR_STATUS[code]);
}

/** app.onError: every error leaves in the one shape; unexpected ones are logged once. */
export function renderError(err: Error, c: Context<AppEnv>) {
  if (err instanceof DomainError) {
    const res = errorJson(c, err.code, err.message, err.details, err.extra);
    for (const [k, v] of Object.entries(err.headers ?? {})) {
      res.headers.set(k, v);
    }
    return res;
  }
  const resource = quotaExceeded(err);
  if (resource) {
    return errorJson(
      c,
      "quota_exceeded",
      `This org has reached its ${resource} quota; GET /v1/account shows its quotas`,
      undefined,
      { resource },
    );
  }
  if (err instanceof ConfigurationError) {
    (c.get("log") ?? createLogger()).error("configuration error", {
      route: c.req.routePath,
      error: err.message,
    });
    return errorJson(c, "configuration_error", `The server is misconfigured: ${err.message}`);
  }
  if (err instanceof HTTPException) {
    if (err.status === 400) {
      return errorJson(c, "invalid_json", "The request body is not valid JSON");
    }
    if (err.status === 413) {
      return errorJson(c, "payload_too_large", "The request body is larger than 1 MiB");
    }
    if (err.status === 401) {
      return errorJson(c, "unauthorized", err.message);
    }
    return errorJson(c, "bad_request", err.message);
  }
  (c.get("log") ?? createLogger()).error("unexpected error", {
    route: c.req.routePath,
    method: c.req.method,
    error: errorText(err),
    stack: err.stack ?? null,
  });
  return errorJson(c, "internal_error", "An unexpected error occurred");
}
