import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../http/errors";
import { json, jsonBody, secured } from "../../http/openapi";
import { listOf, PageQuery } from "../../http/pagination";
import {
  StepInput,
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
  tags,
  security: secured,
  summary: "The step catalog with a JSON Schema per config",
  responses: { 200: json(z.array(StepTypeInfo), "Step types"), ...errorResponses() },
});

export const create = createRoute({
  method: "post",
  path: "/v1/workflows",
  tags,
  security: secured,
  request: { body: jsonBody(WorkflowInput) },
  responses: {
    201: json(Workflow, "Created (draft unless `status` says otherwise)"),
    ...errorResponses(),
  },
});

export const list = createRoute({
  method: "get",
  path: "/v1/workflows",
  tags,
  security: secured,
  request: { query: PageQuery.extend({ status: WorkflowStatus.optional() }) },
  responses: { 200: json(listOf(Workflow), "Workflows, newest first"), ...errorResponses() },
});

export const get = createRoute({
  method: "get",
  path: "/v1/workflows/{id}",
  tags,
  security: secured,
  request: { params },
  responses: { 200: json(Workflow, "The workflow"), ...errorResponses(404) },
});

export const patch = createRoute({
  method: "patch",
  path: "/v1/workflows/{id}",
  tags,
  security: secured,
  summary: "Update settings, status, or the whole graph (a graph change creates a version)",
  request: { params, body: jsonBody(WorkflowPatch) },
  responses: { 200: json(Workflow, "Updated"), ...errorResponses(404, 409) },
});

export const remove = createRoute({
  method: "delete",
  path: "/v1/workflows/{id}",
  tags,
  security: secured,
  summary: "Delete (409 while enrollments are active unless ?force=true, which cancels them)",
  request: { params, query: z.object({ force: z.enum(["true", "false"]).optional() }) },
  responses: { 204: { description: "Deleted" }, ...errorResponses(404, 409) },
});

export const addStep = createRoute({
  method: "post",
  path: "/v1/workflows/{id}/steps",
  tags,
  security: secured,
  request: { params, body: jsonBody(StepInput.extend({ autoConnect: z.boolean().optional() })) },
  responses: { 201: json(Workflow, "Step added"), ...errorResponses(404, 409) },
});

export const patchStep = createRoute({
  method: "patch",
  path: "/v1/workflows/{id}/steps/{stepId}",
  tags,
  security: secured,
  request: { params: stepParams, body: jsonBody(StepPatch) },
  responses: { 200: json(Workflow, "Step updated"), ...errorResponses(404, 409) },
});

export const deleteStep = createRoute({
  method: "delete",
  path: "/v1/workflows/{id}/steps/{stepId}",
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
  tags,
  security: secured,
  request: { params, body: jsonBody(TransitionInput) },
  responses: { 201: json(Workflow, "Transition added"), ...errorResponses(404, 409) },
});

export const deleteTransition = createRoute({
  method: "delete",
  path: "/v1/workflows/{id}/transitions/{transitionId}",
  tags,
  security: secured,
  request: { params: transitionParams },
  responses: { 204: { description: "Transition removed" }, ...errorResponses(404, 409) },
});

export const versions = createRoute({
  method: "get",
  path: "/v1/workflows/{id}/versions",
  tags,
  security: secured,
  request: { params, query: PageQuery },
  responses: { 200: json(listOf(Version), "Versions, newest first"), ...errorResponses(404) },
});

export const test = createRoute({
  method: "post",
  path: "/v1/workflows/{id}/test",
  tags,
  security: secured,
  summary: "Dry run in simulated time; no side effects",
  request: { params, body: jsonBody(TestInput) },
  responses: { 200: json(TestResult, "Trace of the simulated run"), ...errorResponses(404) },
});
