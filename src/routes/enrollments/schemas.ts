// Enrollment shapes: creating one or many, an enrollment, its log, the step funnel.
import { z } from "@hono/zod-openapi";
import { iso } from "../../db/client";
import type { EnrollmentRow } from "../../db/enrollments";
import { ContactInput, TimeZone } from "../../domain/contacts";
import type { LogLine } from "../../engine/types";
import { Timestamp } from "../../http/openapi";

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
    error: z.string().nullable(),
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

const Variables = z
  .record(z.string(), z.unknown())
  .refine((v) => JSON.stringify(v).length <= 64 * 1024, "variables must be at most 64 KiB of JSON");

export const CreateEnrollment = z
  .object({
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

/** Bulk rows are validated one by one (an invalid row is reported, not fatal), so the envelope is loose. */
export const BulkEnrollment = z
  .object({
    workflowId: z.string().min(1).max(100).optional(),
    contactIds: z.unknown().optional(),
    contacts: z.unknown().optional(),
    variables: Variables.optional(),
    timezone: TimeZone.optional(),
    enrollment: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({ description: "Optional wrapper: the same fields inside `enrollment`" }),
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
  error: e.error,
  createdAt: iso(e.createdAt) as string,
  updatedAt: iso(e.updatedAt) as string,
  completedAt: iso(e.completedAt),
});

export const logJson = (l: LogLine) => ({ ...l, at: iso(l.at) as string });
