// Tasks: work a task step hands to a person; completing one moves its enrollment on.
import { createRoute } from "@hono/zod-openapi";
import { errorResponses } from "../../../http/errors";
import { json, jsonBody, pathId, secured } from "../../../http/openapi";
import { listOf } from "../../../http/pagination";
import { CompleteTask, SkipTask, Task, TaskQuery } from "./schemas";

const id = pathId("id", "tsk_01JD0000000000000000000000");
const tags = ["Tasks"];

export const list = createRoute({
  method: "get",
  path: "/v1/tasks",
  operationId: "listTasks",
  tags,
  summary: "List tasks, newest first (filter by status, type, assignee, workflow, due date)",
  security: secured,
  request: { query: TaskQuery },
  responses: { 200: json(listOf(Task), "Tasks, newest first"), ...errorResponses() },
});

export const get = createRoute({
  method: "get",
  path: "/v1/tasks/{id}",
  operationId: "getTask",
  tags,
  summary: "Get one task",
  security: secured,
  request: { params: id },
  responses: { 200: json(Task, "The task"), ...errorResponses(404) },
});

export const complete = createRoute({
  method: "post",
  path: "/v1/tasks/{id}/complete",
  operationId: "completeTask",
  tags,
  summary: "Complete a task with one of its outcomes; its enrollment takes that transition",
  description:
    "422 `invalid_outcome` for an outcome the task does not declare; 409 `task_closed` when it is completed, skipped or expired already. Completing it again with the same outcome answers 200 with the task (a retry is harmless).",
  security: secured,
  request: {
    params: id,
    body: jsonBody(CompleteTask, { outcome: "connected", note: "Booked a demo for Tuesday" }),
  },
  responses: { 200: json(Task, "The completed task"), ...errorResponses(404, 409) },
});

export const skip = createRoute({
  method: "post",
  path: "/v1/tasks/{id}/skip",
  operationId: "skipTask",
  tags,
  summary: "Skip a task; its enrollment takes the `skipped` transition",
  security: secured,
  request: { params: id, body: jsonBody(SkipTask, { note: "Not a fit" }) },
  responses: { 200: json(Task, "The skipped task"), ...errorResponses(404, 409) },
});
