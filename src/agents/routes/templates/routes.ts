// Agent templates: the prompt, output schema, model and execution policy template agents run.
import { createRoute } from "@hono/zod-openapi";
import { errorResponses } from "../../../http/errors";
import { json, jsonBody, pathId, secured } from "../../../http/openapi";
import { listOf, PageQuery } from "../../../http/pagination";
import {
  AgentTemplate,
  AgentTemplateInput,
  AgentTemplatePatch,
  ExecutionPolicyPatch,
} from "./schemas";

const tags = ["Agents"];
const params = pathId("id", "atp_01JD0000000000000000000000");

const EXAMPLE = {
  name: "Qualify inbound lead",
  prompt:
    "Qualify this lead for {{ configuration.product }}: {{ input.contact.firstName }} at {{ input.contact.data.company }} wrote: {{ input.message }}",
  outputSchema: {
    type: "object",
    properties: {
      qualified: { type: "boolean" },
      reason: { type: "string" },
    },
    required: ["qualified", "reason"],
  },
  model: { name: "gpt-4o-mini" },
  personalFields: ["input.contact.firstName"],
};

export const create = createRoute({
  method: "post",
  path: "/v1/agent-templates",
  operationId: "createAgentTemplate",
  tags,
  summary: "Create an agent template (prompt and output schema are checked)",
  description:
    "422 `validation_failed` names a Liquid syntax error's line or a problem in the output schema; a `model.connectionId` that is not one of the org's LLM connections is 422 too.",
  security: secured,
  request: { body: jsonBody(AgentTemplateInput, EXAMPLE) },
  responses: { 201: json(AgentTemplate, "Created"), ...errorResponses() },
});

export const list = createRoute({
  method: "get",
  path: "/v1/agent-templates",
  operationId: "listAgentTemplates",
  tags,
  summary: "List agent templates, newest first",
  security: secured,
  request: { query: PageQuery },
  responses: { 200: json(listOf(AgentTemplate), "Agent templates"), ...errorResponses() },
});

export const get = createRoute({
  method: "get",
  path: "/v1/agent-templates/{id}",
  operationId: "getAgentTemplate",
  tags,
  summary: "Get an agent template",
  security: secured,
  request: { params },
  responses: { 200: json(AgentTemplate, "The agent template"), ...errorResponses(404) },
});

export const patch = createRoute({
  method: "patch",
  path: "/v1/agent-templates/{id}",
  operationId: "updateAgentTemplate",
  tags,
  summary: "Change an agent template (the next executions use it)",
  security: secured,
  request: { params, body: jsonBody(AgentTemplatePatch, { temperature: 0.2 }) },
  responses: { 200: json(AgentTemplate, "The agent template"), ...errorResponses(404) },
});

export const remove = createRoute({
  method: "delete",
  path: "/v1/agent-templates/{id}",
  operationId: "deleteAgentTemplate",
  tags,
  summary: "Delete an agent template no agent uses",
  description: "409 `template_in_use` names the agents that still run it.",
  security: secured,
  request: { params },
  responses: { 204: { description: "Deleted" }, ...errorResponses(404, 409) },
});

export const policy = createRoute({
  method: "patch",
  path: "/v1/agent-templates/{id}/execution-policy",
  operationId: "updateExecutionPolicy",
  tags,
  summary: "Set the execution policy of the template's agents",
  description:
    "Enforced by one gate per template for all its agents: `maxConcurrent` running at once and `maxPerDay` started per day (org reporting time zone) — more wait in `queued` and run in order when a slot frees or the day turns; once `budgetUsdPerDay` is spent, new executions fail with `budget_exhausted` until the next day. `retries` of a failed model call (timeouts, 429, 5xx) and `timeoutSeconds` per attempt. Fields left out keep their value.",
  security: secured,
  request: {
    params,
    body: jsonBody(ExecutionPolicyPatch, { maxConcurrent: 2, budgetUsdPerDay: 5 }),
  },
  responses: { 200: json(AgentTemplate, "The agent template"), ...errorResponses(404) },
});
