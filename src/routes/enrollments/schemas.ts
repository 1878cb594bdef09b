// Enrollment shapes: creating one or many, an enrollment, its log, the step funnel.
import { z } from "@hono/zod-openapi";
import { iso } from "../../db/client";
import type { EnrollmentRow } from "../../db/enrollments";
import { ContactInput, jsonObjectUpTo64KiB, TimeZone } from "../../domain/contacts";
import { ENROLLMENT_ERROR_CODES, type LogLine } from "../../engine/types";
import { Timestamp } from "../../http/openapi";

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

export const CreateEnrollment = z
  .strictObject({
    workflowId: z.string().min(1).max(100),
    contactId: z.string().min(1).max(100).optional(),
    contact: ContactInput.optional(),
    variables: Variables.optional(),
    timezone: TimeZone.optional(),
    scheduledAt: z.iso.datetime({ offset: true }).optional(),
    bypassSendWindow: z.boolean().optional(),
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
  exitReason: e.exitReason,
  error: e.error ? { code: e.errorCode ?? "step_failed", message: e.error } : null,
  pendingEffects: e.pendingEffects,
  createdAt: iso(e.createdAt) as string,
  updatedAt: iso(e.updatedAt) as string,
  completedAt: iso(e.completedAt),
});

export const logJson = (l: LogLine) => ({ ...l, at: iso(l.at) as string });
