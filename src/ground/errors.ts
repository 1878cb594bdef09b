// The one error model: a verb that refuses throws a DomainError with one of a closed set of
// codes. It knows nothing of HTTP; src/http/errors.ts gives each code its status and renders it
// where the routes answer, so a queue consumer or a Durable Object can throw and catch the same
// errors a route does.
import type { z } from "zod";

export type ErrorCode =
  | "invalid_json"
  | "bad_request"
  | "unauthorized"
  | "forbidden"
  | "quota_exceeded"
  | "not_found"
  | "conflict"
  | "already_enrolled"
  | "reentry_not_allowed"
  | "idempotency_key_in_use"
  | "workflow_has_active_enrollments"
  | "report_not_ready"
  | "link_expired"
  | "payload_too_large"
  | "unsupported_media_type"
  | "validation_failed"
  | "idempotency_key_reused"
  | "invalid_graph"
  | "workflow_archived"
  | "workflow_not_active"
  | "contacts_required"
  | "contacts_empty"
  | "too_many_contacts"
  | "no_enrollments_created"
  | "missing_variables"
  | "invalid_outcome"
  | "task_closed"
  | "agent_name_taken"
  | "agent_paused"
  | "template_in_use"
  | "no_llm_connection"
  | "output_invalid"
  | "budget_exhausted"
  | "agent_busy"
  | "llm_error"
  | "rate_limited"
  | "internal_error"
  | "configuration_error"
  | "service_unavailable";

export interface ErrorDetail {
  path: string;
  message: string;
}

export interface DomainErrorOptions {
  /** Per-field problems, e.g. `[{path, message}]`; rendered as `details`. */
  details?: unknown[];
  /** Fields added to the error body beside `error` and `message` (e.g. `resource`). */
  extra?: Record<string, unknown>;
  /** Response headers the refusal implies (e.g. `Retry-After` when rate limited). */
  headers?: Record<string, string>;
}

export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown[];
  readonly extra?: Record<string, unknown>;
  readonly headers?: Record<string, string>;

  constructor(code: ErrorCode, message: string, opts: DomainErrorOptions = {}) {
    super(message);
    this.code = code;
    this.details = opts.details;
    this.extra = opts.extra;
    this.headers = opts.headers;
  }
}

export const notFound = (what: string) => new DomainError("not_found", `${what} not found`);

export function validationFailed(details: ErrorDetail[], message = "The request is invalid") {
  return new DomainError("validation_failed", message, { details });
}

/**
 * zod issues → `details: [{path, message}]` with dotted paths (`contacts.3.email`); an object's
 * unknown fields become one detail each, at the field's own path.
 */
export function zodDetails(error: z.ZodError): ErrorDetail[] {
  return error.issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({
          path: [...issue.path, key].map(String).join("."),
          message: `Unknown field "${key}"`,
        }))
      : [{ path: issue.path.map(String).join("."), message: issue.message }],
  );
}

/** The details as one line: `email: Invalid email; first_name: Unknown field "first_name"`. */
export const detailsLine = (details: ErrorDetail[], whole = "row") =>
  details.map((d) => `${d.path || whole}: ${d.message}`).join("; ");
