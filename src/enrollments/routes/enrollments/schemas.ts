// Enrollment shapes: creating one or many, an enrollment, its log, the step funnel.
import { z } from "@hono/zod-openapi";
import { ContactInput, jsonObjectUpTo64KiB, TimeZone } from "../../../contacts";
import { iso } from "../../../db/client";
import { ENROLLMENT_ERROR_CODES, type LogLine } from "../../../engine/types";
import { Timestamp } from "../../../http/openapi";
import type { EnrollmentRow } from "../../store";

/** Why an enrollment failed. */
export const EnrollmentFailure = z
  .object({
    code: z.enum(ENROLLMENT_ERROR_CODES).openapi({
      description:
        "`step_failed`: a step could not run (e.g. a template failed to render); `template_limit_exceeded`: a template went past a render limit (time, memory, output size); `step_limit_exceeded`: more than 1,000 steps in the enrollment's life; `delivery_failed`: an email failed for good and its step does not continue on error; `alarm_failed`: the enrollment's own scheduling kept failing",
    }),
    message: z.string(),
  })
  .openapi("EnrollmentFailure");

export const EnrollmentStatus = z.enum(["running", "waiting", "completed", "cancelled", "failed"]);

export const Enrollment = z
  .object({
    id: z.string(),
    workflowId: z.string(),
    workflowVersion: z.number().int(),
    contactId: z.string(),
    status: EnrollmentStatus,
    currentStepId: z.string().nullable(),
    nextRunAt: Timestamp.nullable(),
    waitingFor: z.object({ event: z.string(), until: Timestamp.nullable() }).nullable(),
    variables: z.record(z.string(), z.unknown()),
    timezone: z.string(),
    scheduledAt: Timestamp.nullable(),
    bypassSendWindow: z.boolean(),
    bypassCallWindow: z.boolean(),
    chain: z
      .object({
        key: z.string(),
        position: z.number().int().nullable(),
        state: z.enum(["pending", "active", "ended", "succeeded", "cancelled"]),
      })
      .nullable()
      .openapi({
        description:
          "A link of a contact chain (enrolled with `groupBy`): the chain's key (the variable's value), this link's place (1 first) and state — `pending` waits its turn, `active` runs, `ended` ended without success (the next link started), `succeeded` satisfied the chain, `cancelled` ended with `chain_satisfied` or while pending",
      }),
    exitReason: z.string().nullable(),
    error: EnrollmentFailure.nullable(),
    pendingEffects: z.number().int().openapi({
      description:
        "Effects (emails, webhook calls, events) handed to a queue whose consumer has not confirmed them yet; a finished enrollment with pending effects still has work in flight",
    }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    completedAt: Timestamp.nullable(),
  })
  .openapi("Enrollment");

export const LogEntry = z
  .object({
    at: Timestamp,
    stepId: z.string().nullable(),
    stepType: z.string().nullable(),
    status: z.enum(["started", "completed", "waiting", "skipped", "failed"]),
    message: z.string(),
    outcome: z.string().optional(),
    data: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi("EnrollmentLog");

const Variables = jsonObjectUpTo64KiB("variables");

const GroupBy = z.string().min(1).max(100).optional().openapi({
  description:
    "Contact chaining (11x's groupByField): the name of a variable; enrollments of this workflow whose variable has the same value form a chain, run one at a time in enrollment order. When a link ends without reaching one of the workflow's `chain.successOutcomes` the next starts; when one does, the rest end `cancelled` with `exitReason: \"chain_satisfied\"`. The variable is required (422 `missing_variables`).",
  example: "account_id",
});

export const CreateEnrollment = z
  .strictObject({
    workflowId: z.string().min(1).max(100),
    contactId: z.string().min(1).max(100).optional(),
    contact: ContactInput.optional(),
    variables: Variables.optional(),
    timezone: TimeZone.optional(),
    scheduledAt: z.iso.datetime({ offset: true }).optional(),
    bypassSendWindow: z.boolean().optional().openapi({
      description: "Email steps ignore the workflow's send window (SMS and calls keep theirs)",
    }),
    bypassCallWindow: z.boolean().optional().openapi({
      description:
        "SMS and call steps ignore the call window and the default 08:00–21:00 local hours (email keeps its send window)",
    }),
    groupBy: GroupBy,
  })
  .refine((b) => (b.contactId === undefined) !== (b.contact === undefined), {
    message: "Give exactly one of contactId or contact",
    path: ["contactId"],
  })
  .openapi("CreateEnrollment");

/** The bulk envelope's fields; they may also come inside an `enrollment` wrapper (seed shape). */
const bulkFields = {
  workflowId: z.string().min(1).max(100).optional(),
  contactIds: z.unknown().optional(),
  contacts: z.unknown().optional(),
  variables: Variables.optional(),
  timezone: TimeZone.optional(),
  groupBy: GroupBy,
};

/** Bulk rows are validated one by one (an invalid row is reported, not fatal), so rows are loose. */
export const BulkEnrollment = z
  .strictObject({
    ...bulkFields,
    enrollment: z.strictObject(bulkFields).optional().openapi({
      description:
        "Optional wrapper: the same fields inside `enrollment`, validated the same way; they win over top-level ones",
    }),
  })
  .openapi("BulkEnrollment");

export const BulkResult = z
  .object({
    results: z.array(
      z.object({
        index: z.number().int(),
        contactId: z.string().optional(),
        enrollmentId: z.string().optional(),
        status: z.enum(["enrolled", "skipped", "invalid"]),
        reason: z.string().optional(),
      }),
    ),
    createdCount: z.number().int(),
    skippedCount: z.number().int(),
  })
  .openapi("BulkEnrollmentResult");

export const Funnel = z
  .object({
    steps: z.array(
      z.object({
        stepId: z.string(),
        name: z.string(),
        type: z.string(),
        active: z.number(),
        waiting: z.number(),
        running: z.number(),
      }),
    ),
    totals: z.object({
      active: z.number(),
      completed: z.number(),
      failed: z.number(),
      cancelled: z.number(),
      total: z.number(),
    }),
  })
  .openapi("StepFunnel");

export const enrollmentJson = (e: EnrollmentRow) => ({
  id: e.id,
  workflowId: e.workflowId,
  workflowVersion: e.workflowVersion,
  contactId: e.contactId,
  status: e.status,
  currentStepId: e.currentStepId,
  nextRunAt: iso(e.nextRunAt),
  waitingFor: e.waitingEvent ? { event: e.waitingEvent, until: iso(e.waitingUntil) } : null,
  variables: e.variables,
  timezone: e.timezone,
  scheduledAt: iso(e.scheduledAt),
  bypassSendWindow: e.bypassSendWindow,
  bypassCallWindow: e.bypassCallWindow,
  chain:
    e.chainKey !== null && e.chainState !== null
      ? { key: e.chainKey, position: e.chainPosition, state: e.chainState }
      : null,
  exitReason: e.exitReason,
  error: e.error ? { code: e.errorCode ?? "step_failed", message: e.error } : null,
  pendingEffects: e.pendingEffects,
  createdAt: iso(e.createdAt) as string,
  updatedAt: iso(e.updatedAt) as string,
  completedAt: iso(e.completedAt),
});

export const logJson = (l: LogLine) => ({ ...l, at: iso(l.at) as string });
