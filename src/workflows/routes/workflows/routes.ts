import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../../http/errors";
import { json, jsonBody, secured } from "../../../http/openapi";
import { listOf, PageQuery } from "../../../http/pagination";
import {
  NewStepInput,
  StepPatch,
  StepTypeInfo,
  TestInput,
  TestResult,
  TransitionInput,
  Version,
  Workflow,
  WorkflowInput,
  WorkflowPatch,
  WorkflowStatus,
} from "./schemas";

const tags = ["Workflows"];
const id = z
  .string()
  .min(1)
  .max(100)
  .openapi({ param: { name: "id", in: "path" }, example: "wf_01JD0000000000000000000000" });
const params = z.object({ id });
const stepParams = z.object({
  id,
  stepId: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: "stepId", in: "path" } }),
});
const transitionParams = z.object({
  id,
  transitionId: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: "transitionId", in: "path" } }),
});

export const stepTypes = createRoute({
  method: "get",
  path: "/v1/workflows/step-types",
  operationId: "listStepTypes",
  tags,
  security: secured,
  summary: "The step catalog with a JSON Schema per config",
  responses: { 200: json(z.array(StepTypeInfo), "Step types"), ...errorResponses() },
});

export const create = createRoute({
  method: "post",
  path: "/v1/workflows",
  operationId: "createWorkflow",
  summary: "Create a workflow (draft unless status is active)",
  tags,
  security: secured,
  request: {
    body: jsonBody(WorkflowInput, {
      name: "Welcome",
      trigger: { type: "event", event: "signed_up" },
      steps: [
        {
          id: "welcome",
          type: "send_email",
          config: {
            subject: 'Welcome, {{ contact.firstName | default: "there" }}',
            html: "<p>Glad you're here.</p>",
          },
        },
        { id: "wait", type: "delay", config: { amount: 2, unit: "days" } },
        { id: "tips", type: "send_email", config: { subject: "Three tips", html: "<p>...</p>" } },
      ],
      exitOn: ["unsubscribed"],
    }),
  },
  responses: {
    201: json(Workflow, "Created (draft unless `status` says otherwise)"),
    ...errorResponses(),
  },
});

export const list = createRoute({
  method: "get",
  path: "/v1/workflows",
  operationId: "listWorkflows",
  summary: "List workflows",
  tags,
  security: secured,
  request: {
    query: PageQuery.extend({
      status: WorkflowStatus.optional(),
      withCounts: z.enum(["true", "false"]).optional().openapi({
        description:
          "`true`: each workflow carries `activeEnrollments` (running or waiting now), counted in one read for the page",
      }),
    }),
  },
  responses: {
    200: json(
      listOf(Workflow.extend({ activeEnrollments: z.number().int().optional() })),
      "Workflows, newest first",
    ),
    ...errorResponses(),
  },
});

export const get = createRoute({
  method: "get",
  path: "/v1/workflows/{id}",
  operationId: "getWorkflow",
  summary: "Get one workflow with its graph",
  tags,
  security: secured,
  request: { params },
  responses: { 200: json(Workflow, "The workflow"), ...errorResponses(404) },
});

export const patch = createRoute({
  method: "patch",
  path: "/v1/workflows/{id}",
  operationId: "updateWorkflow",
  tags,
  security: secured,
  summary: "Update settings, status, or the whole graph (a graph change creates a version)",
  request: { params, body: jsonBody(WorkflowPatch, { status: "active" }) },
  responses: { 200: json(Workflow, "Updated"), ...errorResponses(404, 409) },
});

export const remove = createRoute({
  method: "delete",
  path: "/v1/workflows/{id}",
  operationId: "deleteWorkflow",
  tags,
  security: secured,
  summary: "Delete (409 while enrollments are active unless ?force=true, which cancels them)",
  request: { params, query: z.object({ force: z.enum(["true", "false"]).optional() }) },
  responses: { 204: { description: "Deleted" }, ...errorResponses(404, 409) },
});

export const addStep = createRoute({
  method: "post",
  path: "/v1/workflows/{id}/steps",
  operationId: "addWorkflowStep",
  summary: "Add a step to a workflow's graph",
  tags,
  security: secured,
  request: {
    params,
    body: jsonBody(NewStepInput, {
      id: "nudge",
      type: "send_email",
      config: { subject: "Still there?", html: "<p>Just checking in.</p>" },
      autoConnect: true,
    }),
  },
  responses: { 201: json(Workflow, "Step added"), ...errorResponses(404, 409) },
});

export const patchStep = createRoute({
  method: "patch",
  path: "/v1/workflows/{id}/steps/{stepId}",
  operationId: "updateWorkflowStep",
  summary: "Update one step of a workflow",
  tags,
  security: secured,
  request: {
    params: stepParams,
    body: jsonBody(StepPatch, { config: { subject: "Still with us?" } }),
  },
  responses: { 200: json(Workflow, "Step updated"), ...errorResponses(404, 409) },
});

export const deleteStep = createRoute({
  method: "delete",
  path: "/v1/workflows/{id}/steps/{stepId}",
  operationId: "deleteWorkflowStep",
  summary: "Delete a step and its transitions",
  tags,
  security: secured,
  request: { params: stepParams },
  responses: {
    204: { description: "Step and its transitions removed" },
    ...errorResponses(404, 409),
  },
});

export const addTransition = createRoute({
  method: "post",
  path: "/v1/workflows/{id}/transitions",
  operationId: "addWorkflowTransition",
  summary: "Add a transition between two steps",
  tags,
  security: secured,
  request: {
    params,
    body: jsonBody(TransitionInput, { from: "welcome", to: "tips" }),
  },
  responses: { 201: json(Workflow, "Transition added"), ...errorResponses(404, 409) },
});

export const deleteTransition = createRoute({
  method: "delete",
  path: "/v1/workflows/{id}/transitions/{transitionId}",
  operationId: "deleteWorkflowTransition",
  summary: "Delete a transition",
  tags,
  security: secured,
  request: { params: transitionParams },
  responses: { 204: { description: "Transition removed" }, ...errorResponses(404, 409) },
});

export const versions = createRoute({
  method: "get",
  path: "/v1/workflows/{id}/versions",
  operationId: "listWorkflowVersions",
  summary: "List a workflow's graph versions, newest first",
  tags,
  security: secured,
  request: { params, query: PageQuery },
  responses: { 200: json(listOf(Version), "Versions, newest first"), ...errorResponses(404) },
});

export const test = createRoute({
  method: "post",
  path: "/v1/workflows/{id}/test",
  operationId: "testWorkflow",
  tags,
  security: secured,
  summary: "Dry run in simulated time; no side effects",
  request: { params, body: jsonBody(TestInput, { sampleData: { firstName: "Ada" } }) },
  responses: { 200: json(TestResult, "Trace of the simulated run"), ...errorResponses(404) },
});
