import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../../http/errors";
import { json, jsonBody, secured } from "../../../http/openapi";
import { listOf, PageQuery } from "../../../http/pagination";
import { Message } from "../../../messaging/routes/messages/schemas";
import {
  BulkEnrollment,
  BulkResult,
  CreateEnrollment,
  Enrollment,
  EnrollmentStatus,
  Funnel,
  LogEntry,
} from "./schemas";

const tags = ["Enrollments"];
const id = (example: string) =>
  z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: "id", in: "path" }, example });
const enr = z.object({ id: id("enr_01JD0000000000000000000000") });
const wf = z.object({ id: id("wf_01JD0000000000000000000000") });

const StepFilter = z.string().max(100).optional().openapi({
  description: "Only enrollments whose current step is this one",
});

export const create = createRoute({
  method: "post",
  path: "/v1/enrollments",
  operationId: "createEnrollment",
  tags,
  security: secured,
  summary: "Enroll one contact (send an Idempotency-Key to retry safely)",
  request: {
    body: jsonBody(CreateEnrollment, {
      workflowId: "wf_01JD0000000000000000000000",
      contact: { email: "ada@example.com", firstName: "Ada" },
      variables: { plan: "pro" },
    }),
  },
  responses: { 201: json(Enrollment, "Enrolled"), ...errorResponses(404, 409, 503) },
});

export const bulk = createRoute({
  method: "post",
  path: "/v1/enrollments/bulk",
  operationId: "bulkEnroll",
  tags,
  security: secured,
  summary: "Enroll up to 100 contacts with per-contact results",
  request: {
    body: jsonBody(BulkEnrollment, {
      workflowId: "wf_01JD0000000000000000000000",
      contactIds: ["con_01JD0000000000000000000001", "con_01JD0000000000000000000002"],
    }),
  },
  responses: { 201: json(BulkResult, "At least one enrollment created"), ...errorResponses(404) },
});

export const list = createRoute({
  method: "get",
  path: "/v1/enrollments",
  operationId: "listEnrollments",
  summary: "List enrollments (filter by workflow, contact, status, contact chain)",
  tags,
  security: secured,
  request: {
    query: PageQuery.extend({
      workflowId: z.string().optional(),
      contactId: z.string().optional(),
      status: EnrollmentStatus.optional(),
      chainKey: z.string().max(500).optional().openapi({
        description:
          "The links of a contact chain (its `chain.key`; add workflowId for one workflow's)",
      }),
      stepId: StepFilter,
    }),
  },
  responses: { 200: json(listOf(Enrollment), "Enrollments, newest first"), ...errorResponses() },
});

export const get = createRoute({
  method: "get",
  path: "/v1/enrollments/{id}",
  operationId: "getEnrollment",
  summary: "Get one enrollment with its timeline and messages",
  tags,
  security: secured,
  request: { params: enr },
  responses: {
    200: json(
      Enrollment.extend({ timeline: z.array(LogEntry), messages: z.array(Message) }),
      "The enrollment with its timeline and messages",
    ),
    ...errorResponses(404),
  },
});

export const logs = createRoute({
  method: "get",
  path: "/v1/enrollments/{id}/logs",
  operationId: "listEnrollmentLogs",
  summary: "List an enrollment's step log",
  tags,
  security: secured,
  request: { params: enr },
  responses: { 200: json(z.array(LogEntry), "Per-step log, oldest first"), ...errorResponses(404) },
});

export const cancel = createRoute({
  method: "post",
  path: "/v1/enrollments/{id}/cancel",
  operationId: "cancelEnrollment",
  summary: "Cancel an active enrollment",
  tags,
  security: secured,
  request: { params: enr },
  responses: {
    200: json(Enrollment, "Cancelled (idempotent: a finished enrollment is returned as it is)"),
    ...errorResponses(404),
  },
});

export const remove = createRoute({
  method: "delete",
  path: "/v1/enrollments/{id}",
  operationId: "deleteEnrollment",
  summary: "Delete an enrollment (cancelled first if active)",
  tags,
  security: secured,
  request: { params: enr },
  responses: { 204: { description: "Cancelled if active, then deleted" }, ...errorResponses(404) },
});

export const ofWorkflow = createRoute({
  method: "get",
  path: "/v1/workflows/{id}/enrollments",
  operationId: "listWorkflowEnrollments",
  summary: "List a workflow's enrollments with its step funnel",
  tags,
  security: secured,
  request: {
    params: wf,
    query: PageQuery.extend({ status: EnrollmentStatus.optional(), stepId: StepFilter }),
  },
  responses: {
    200: json(
      listOf(Enrollment).extend({ stepFunnel: Funnel }),
      "Enrollments with the step funnel",
    ),
    ...errorResponses(404),
  },
});

export const cancelAll = createRoute({
  method: "post",
  path: "/v1/workflows/{id}/enrollments/cancel-all",
  operationId: "cancelWorkflowEnrollments",
  summary: "Cancel every active enrollment of a workflow",
  tags,
  security: secured,
  request: { params: wf },
  responses: {
    200: json(z.object({ cancelled: z.number().int() }), "Active enrollments cancelled"),
    ...errorResponses(404),
  },
});

const StepStats = z
  .object({
    stepId: z.string(),
    name: z.string(),
    type: z.string(),
    entered: z.number(),
    completed: z.number(),
    failed: z.number(),
    email: z
      .object({
        sent: z.number(),
        delivered: z.number(),
        opened: z.number(),
        uniqueOpened: z.number(),
        clicked: z.number(),
        uniqueClicked: z.number(),
        bounced: z.number(),
        complained: z.number(),
        unsubscribed: z.number(),
        suppressed: z.number(),
        failed: z.number(),
        machineOpened: z.number(),
        machineClicked: z.number(),
        replied: z.number().openapi({ description: "Messages with a human reply" }),
        autoReplied: z.number().openapi({ description: "Messages with an automatic reply" }),
      })
      .optional(),
    sms: z
      .object({
        sent: z.number(),
        delivered: z.number(),
        failed: z.number().openapi({ description: "Failed to send, or undelivered" }),
        suppressed: z.number(),
      })
      .optional()
      .openapi({ description: "send_sms steps" }),
    calls: z
      .object({
        placed: z.number(),
        pending: z.number().openapi({ description: "Placed, outcome not known yet" }),
        answered: z.number(),
        voicemail: z.number(),
        no_answer: z.number(),
        busy: z.number(),
        failed: z.number(),
        suppressed: z.number(),
      })
      .optional()
      .openapi({ description: "call steps: calls by outcome" }),
    tasks: z
      .object({
        open: z.number(),
        completed: z.number(),
        skipped: z.number(),
        expired: z.number(),
        byOutcome: z.record(z.string(), z.number()).openapi({
          description: "Completed tasks per declared outcome",
        }),
      })
      .optional()
      .openapi({ description: "task steps" }),
  })
  .openapi("StepStats");

export const stats = createRoute({
  method: "get",
  path: "/v1/workflows/{id}/stats",
  operationId: "getWorkflowStats",
  summary: "A workflow's enrollment and message statistics",
  tags,
  security: secured,
  request: { params: wf },
  responses: {
    200: json(
      z.object({ workflowId: z.string(), steps: z.array(StepStats) }),
      "Per-step counts (machine opens/clicks apart)",
    ),
    ...errorResponses(404),
  },
});

export const ofContact = createRoute({
  method: "get",
  path: "/v1/contacts/{id}/enrollments",
  operationId: "listContactEnrollments",
  summary: "List a contact's enrollments",
  tags: ["Contacts"],
  security: secured,
  request: { params: z.object({ id: id("con_01JD0000000000000000000000") }), query: PageQuery },
  responses: {
    200: json(listOf(Enrollment), "The contact's enrollments, newest first"),
    ...errorResponses(404),
  },
});
