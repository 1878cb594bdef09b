// Agents: org-scoped automation units (a workflow, an LLM template, your code), executed
// idempotently under an execution policy, and watched through their executions and figures.
import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../../http/errors";
import { json, jsonBody, pathId, secured } from "../../../http/openapi";
import { listOf, PageQuery } from "../../../http/pagination";
import {
  Agent,
  AgentCosts,
  AgentLog,
  AgentMetrics,
  AgentPatch,
  AgentStatus,
  DaysQuery,
  Exchange,
  ExecuteAgent,
  Execution,
  ExecutionQuery,
  Fleet,
  InferenceInput,
  LogQuery,
  Score,
  ScoreLeadInput,
  SpawnAgent,
} from "./schemas";

const tags = ["Agents"];
const params = pathId("id", "agt_01JD0000000000000000000000");

const SPAWN_EXAMPLE = {
  name: "Inbound qualifier",
  type: "workflow" as const,
  workflowId: "wf_01JD0000000000000000000000",
  configuration: { "score.field.data.title": 10, "score.engagement.replied": 25 },
};

const spawnRoute = (path: string, operationId: string, summary: string) =>
  createRoute({
    method: "post",
    path,
    operationId,
    tags,
    summary,
    description:
      "The agent at the top level or wrapped in `agent: {…}`. 409 `agent_name_taken`; 404 for a workflow or template not of this org; a `code` agent's `endpoint` must pass the outbound policy (https, public address) and its signing `secret` is shown once, in this response.",
    security: secured,
    request: { body: jsonBody(SpawnAgent, SPAWN_EXAMPLE) },
    responses: { 201: json(Agent, "Created"), ...errorResponses(404, 409) },
  });

export const create = spawnRoute("/v1/agents", "createAgent", "Create (deploy) an agent");
export const spawn = spawnRoute(
  "/v1/agents/spawn",
  "spawnAgent",
  "Create (deploy) an agent — the same as POST /v1/agents",
);

export const list = createRoute({
  method: "get",
  path: "/v1/agents",
  operationId: "listAgents",
  tags,
  summary: "List agents, newest first",
  security: secured,
  request: { query: PageQuery },
  responses: { 200: json(listOf(Agent), "Agents"), ...errorResponses() },
});

export const get = createRoute({
  method: "get",
  path: "/v1/agents/{id}",
  operationId: "getAgent",
  tags,
  summary: "Get an agent",
  security: secured,
  request: { params },
  responses: { 200: json(Agent, "The agent"), ...errorResponses(404) },
});

export const patch = createRoute({
  method: "patch",
  path: "/v1/agents/{id}",
  operationId: "updateAgent",
  tags,
  summary: "Pause or resume an agent, rename it, replace its configuration",
  description:
    "A paused agent's executions wait in `queued`; resuming it sends them on. Inference and score_lead on a paused agent are 409 `agent_paused`.",
  security: secured,
  request: { params, body: jsonBody(AgentPatch, { status: "paused" }) },
  responses: { 200: json(Agent, "The agent"), ...errorResponses(404, 409) },
});

export const remove = createRoute({
  method: "delete",
  path: "/v1/agents/{id}",
  operationId: "deleteAgent",
  tags,
  summary: "Delete an agent; its queued executions end as cancelled",
  security: secured,
  request: { params },
  responses: { 204: { description: "Deleted" }, ...errorResponses(404) },
});

export const execute = createRoute({
  method: "post",
  path: "/v1/agents/{id}/execute",
  operationId: "executeAgent",
  tags,
  summary: "Execute an agent (queued; idempotent per key)",
  description:
    "202 with the execution, `queued`. The same `idempotency_key` (or `Idempotency-Key` header) returns the same execution (header `Idempotent-Replayed: true`), however many requests race; the same key with another input is 422 `idempotency_key_reused`. It then runs through the agent queue under the execution policy: `queued → running → succeeded | failed | cancelled`.",
  security: secured,
  request: {
    params,
    body: jsonBody(ExecuteAgent, {
      input: {
        contact: { email: "ada@example.com", firstName: "Ada" },
        variables: { plan: "pro" },
      },
      idempotency_key: "signup-ada-2026-11-26",
    }),
  },
  responses: { 202: json(Execution, "The execution"), ...errorResponses(404, 409) },
});

export const inference = createRoute({
  method: "post",
  path: "/v1/agents/{id}/inference",
  operationId: "inferAgent",
  tags,
  summary: "Ask a template agent for a small structured answer, synchronously (≤ 30 s)",
  description:
    "Recorded as an execution (kind `inference`) and governed by the same policy: 429 `agent_busy` when no slot is free, 429 `budget_exhausted` once the day's budget is spent. 422 `no_llm_connection`, 422 `output_invalid` (the answer still failed the schema after one retry), 502 `llm_error` (the provider failed after the policy's retries); the error's message names the execution.",
  security: secured,
  request: {
    params,
    body: jsonBody(InferenceInput, { input: { message: "We need 40 seats by January" } }),
  },
  responses: {
    200: json(Execution, "The succeeded execution, its `output` valid"),
    ...errorResponses(404, 409, 502),
  },
});

export const scoreLead = createRoute({
  method: "post",
  path: "/v1/agents/{id}/score_lead",
  operationId: "scoreLead",
  tags,
  summary: "Score a contact 0–100 with the agent's rules (and optionally a model), with reasons",
  description:
    "A transparent rules model read from the agent's `configuration`: `score.base`; `score.days` (window, default 30); `score.field.<path>` points when the contact field is set (`score.field.<path>.equals` to require a value; paths like `firstName`, `data.title`); `score.event.<name>` per tracked event in the window; `score.engagement.opened|clicked|replied` per email; `score.task.<outcome>` per task outcome — each counted rule with an optional `.max`. With `score.llm.templateId` (a template whose output has `score` 0–100 and `reasons`), the result is blended: (1 − `score.llm.weight`) · rules + weight · model (weight default 0.5); that model call runs under the template's execution policy (admitted by its gate without waiting, its cost counted against the template's daily budget), and when the template's budget is spent or it has no slot free the model is not asked: the rules score stands, `modelScore` is null and a reason says why. Clamped to 0–100, stored on the contact (`score`, `scoredAt`), `contact.scored` emitted; conditions can branch on `contact.score`. Recorded as an execution (kind `score`).",
  security: secured,
  request: {
    params,
    body: jsonBody(ScoreLeadInput, { contactId: "con_01JD0000000000000000000000" }),
  },
  responses: { 200: json(Score, "The score"), ...errorResponses(404, 409, 502) },
});

export const executions = createRoute({
  method: "get",
  path: "/v1/agents/{id}/executions",
  operationId: "listAgentExecutions",
  tags,
  summary: "The agent's executions, newest first (filter by status, since)",
  security: secured,
  request: { params, query: ExecutionQuery },
  responses: { 200: json(listOf(Execution), "Executions"), ...errorResponses(404) },
});

export const execution = createRoute({
  method: "get",
  path: "/v1/agents/{id}/executions/{executionId}",
  operationId: "getAgentExecution",
  tags,
  summary: "One execution",
  security: secured,
  request: {
    params: z.object({
      id: z
        .string()
        .openapi({ param: { name: "id", in: "path" }, example: "agt_01JD0000000000000000000000" }),
      executionId: z.string().openapi({
        param: { name: "executionId", in: "path" },
        example: "axn_01JD0000000000000000000000",
      }),
    }),
  },
  responses: { 200: json(Execution, "The execution"), ...errorResponses(404) },
});

export const status = createRoute({
  method: "get",
  path: "/v1/agents/{id}/status",
  operationId: "getAgentStatus",
  tags,
  summary:
    "A snapshot: active or paused, queued and running now, today's count and spend, last success and error",
  security: secured,
  request: { params },
  responses: { 200: json(AgentStatus, "The agent's status"), ...errorResponses(404) },
});

export const logs = createRoute({
  method: "get",
  path: "/v1/agents/{id}/logs",
  operationId: "listAgentLogs",
  tags,
  summary: "The agent's execution log lines, newest first",
  description:
    "A run's lines are written when it ends: the first lines of a running execution may lag a few seconds.",
  security: secured,
  request: { params, query: LogQuery },
  responses: { 200: json(listOf(AgentLog), "Log lines"), ...errorResponses(404) },
});

export const costs = createRoute({
  method: "get",
  path: "/v1/agents/{id}/costs",
  operationId: "getAgentCosts",
  tags,
  summary: "Model spend per day and model (org reporting time zone)",
  security: secured,
  request: { params, query: DaysQuery },
  responses: { 200: json(AgentCosts, "Spend"), ...errorResponses(404) },
});

export const metrics = createRoute({
  method: "get",
  path: "/v1/agents/{id}/metrics",
  operationId: "getAgentMetrics",
  tags,
  summary: "Executions, success rate and p50/p95 duration per day",
  security: secured,
  request: { params, query: DaysQuery },
  responses: { 200: json(AgentMetrics, "Figures"), ...errorResponses(404) },
});

export const fleet = createRoute({
  method: "get",
  path: "/v1/monitoring/agents",
  operationId: "monitorAgents",
  tags,
  summary:
    "Fleet signals per agent over the last 24 h: executions, failures, p95 duration, spend, queued now, paused",
  security: secured,
  responses: { 200: json(Fleet, "The fleet"), ...errorResponses() },
});

export const reasoning = createRoute({
  method: "get",
  path: "/v1/monitoring/reasoning/{agentId}",
  operationId: "listAgentReasoning",
  tags,
  summary:
    "The agent's last model exchanges: prompt, answer and validation errors (personal fields redacted), tokens",
  description:
    "Kept for the template's `reasoningRetentionDays` (default 7), then deleted by the cron. Newest first; `limit` ≤ 100.",
  security: secured,
  request: {
    params: z.object({
      agentId: z.string().openapi({
        param: { name: "agentId", in: "path" },
        example: "agt_01JD0000000000000000000000",
      }),
    }),
    query: PageQuery,
  },
  responses: { 200: json(listOf(Exchange), "Exchanges"), ...errorResponses(404) },
});
