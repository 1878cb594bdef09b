// Agent handlers: agents, executions (requested idempotently, run by the queue or inline for
// inference and scoring), and the figures monitoring reads from executions.

import { reportingZone } from "../../../analytics";
import { getContact } from "../../../contacts";
import { type Db, iso, isUniqueViolation } from "../../../db/client";
import { readShardFor, regionOf, shardFor } from "../../../db/shards";
import { dayKey } from "../../../engine/metrics";
import { addLocalDays, localParts, zonedTime } from "../../../engine/timezones";
import type { Env } from "../../../ground/env";
import { DomainError, type ErrorCode, notFound } from "../../../ground/errors";
import { newId } from "../../../ground/ids";
import { sendInSlices } from "../../../ground/retry";
import { ERROR_STATUS } from "../../../http/errors";
import { parseIdempotencyKey } from "../../../http/idempotency";
import type { Handler } from "../../../http/openapi";
import { pageOf, toPage } from "../../../http/pagination";
import { encrypt } from "../../../security/credentials";
import { refuseUrl } from "../../../security/ssrf";
import { newWebhookSecret } from "../../../webhooks";
import { getWorkflow } from "../../../workflows";
import { gateOf, policyOf, reopenGate } from "../../admission";
import { requestExecution, runExecution } from "../../executions";
import { DEFAULT_POLICY } from "../../rules";
import type { ExecutionKind } from "../../run";
import {
  type AgentRow,
  allAgents,
  countByStatus,
  deleteAgent,
  executionFigures,
  getAgent,
  getExecution,
  getTemplate,
  insertAgent,
  lastOutcomes,
  listAgents,
  listExchanges,
  listExecutions,
  listLogs,
  queuedByAgent,
  queuedExecutionIds,
  updateAgent,
} from "../../store";
import type * as routes from "./routes";
import { agentJson, exchangeJson, executionJson } from "./schemas";

async function owned(db: Db, orgId: string, id: string) {
  const a = await getAgent(db, orgId, id);
  if (!a) {
    throw notFound("Agent");
  }
  return a;
}

/** The agent as the API shows it: a template agent with its template's policy. */
async function shaped(db: Db, a: AgentRow, secret?: string) {
  const template =
    a.type === "template" && a.templateId ? await getTemplate(db, a.orgId, a.templateId) : null;
  return agentJson(a, template?.policy ?? a.policy, secret);
}

const nameTaken = (name: string) =>
  new DomainError("agent_name_taken", `An agent named "${name}" exists in this org`);

const invalid = (path: string, message: string) =>
  new DomainError("validation_failed", `${path}: ${message}`, { details: [{ path, message }] });

function checkEndpoint(env: Env, url: string) {
  const refused = refuseUrl(env, url);
  if (refused) {
    throw invalid("endpoint", refused);
  }
}

export const create: Handler<typeof routes.create> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const orgId = c.get("orgId");
  const raw = c.req.valid("json");
  const input = "agent" in raw ? raw.agent : raw;
  const needs = { workflow: "workflowId", template: "templateId", code: "endpoint" } as const;
  for (const [type, field] of Object.entries(needs)) {
    if (input.type === type && input[field] === undefined) {
      throw invalid(field, `Required for a ${type} agent`);
    }
    if (input.type !== type && input[field] !== undefined) {
      throw invalid(field, `Only for a ${type} agent`);
    }
  }
  if (input.type === "workflow" && !(await getWorkflow(db, orgId, input.workflowId as string))) {
    throw notFound("Workflow");
  }
  if (input.type === "template") {
    if (!(await getTemplate(db, orgId, input.templateId as string))) {
      throw notFound("Agent template");
    }
    if (input.executionPolicy) {
      throw invalid(
        "executionPolicy",
        "A template agent follows its template's policy: PATCH /v1/agent-templates/{id}/execution-policy",
      );
    }
  }
  if (input.type === "code") {
    checkEndpoint(c.env, input.endpoint as string);
  }
  const now = Date.now();
  // The agent's gate object lives in the org's jurisdiction: its id carries the region.
  const id = newId("agt", now, await regionOf(c.env, orgId));
  const secret = input.type === "code" ? newWebhookSecret() : undefined;
  const row: AgentRow = {
    id,
    orgId,
    name: input.name,
    type: input.type,
    workflowId: input.workflowId ?? null,
    templateId: input.templateId ?? null,
    endpoint: input.endpoint ?? null,
    secret: secret ? await encrypt(c.env, secret, { orgId, table: "agents", rowId: id }) : null,
    configuration: input.configuration ?? {},
    policy: { ...DEFAULT_POLICY, ...input.executionPolicy },
    status: input.status ?? "active",
    createdAt: now,
    updatedAt: now,
  };
  try {
    await insertAgent(db, row);
  } catch (err) {
    if (isUniqueViolation(err)) {
      throw nameTaken(row.name);
    }
    throw err;
  }
  return c.json(await shaped(db, row, secret), 201);
};

export const list: Handler<typeof routes.list> = async (c) => {
  const db = await readShardFor(c.env, c.get("orgId"));
  const page = toPage(c.req.valid("query"));
  const { data, nextCursor } = pageOf(
    await listAgents(db, c.get("orgId"), page.limit, page.before),
    page,
  );
  return c.json({ data: await Promise.all(data.map((a) => shaped(db, a))), nextCursor }, 200);
};

export const get: Handler<typeof routes.get> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  return c.json(await shaped(db, await owned(db, c.get("orgId"), c.req.valid("param").id)), 200);
};

export const patch: Handler<typeof routes.patch> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const a = await owned(db, c.get("orgId"), c.req.valid("param").id);
  const input = c.req.valid("json");
  if (input.endpoint !== undefined) {
    if (a.type !== "code") {
      throw invalid("endpoint", "Only for a code agent");
    }
    checkEndpoint(c.env, input.endpoint);
  }
  if (input.executionPolicy && a.type === "template") {
    throw invalid(
      "executionPolicy",
      "A template agent follows its template's policy: PATCH /v1/agent-templates/{id}/execution-policy",
    );
  }
  const next: AgentRow = {
    ...a,
    name: input.name ?? a.name,
    status: input.status ?? a.status,
    configuration: input.configuration ?? a.configuration,
    endpoint: input.endpoint ?? a.endpoint,
    policy: { ...a.policy, ...input.executionPolicy },
    updatedAt: Date.now(),
  };
  try {
    await updateAgent(db, next);
  } catch (err) {
    if (isUniqueViolation(err)) {
      throw nameTaken(next.name);
    }
    throw err;
  }
  if (input.executionPolicy) {
    await reopenGate(c.env, db, a.orgId, { agentId: a.id }, next.policy);
  }
  if (a.status === "paused" && next.status === "active") {
    // Its executions waited in `queued`: send them on (each gate admits them in turn).
    const ids = await queuedExecutionIds(db, a.id);
    await sendInSlices(
      c.env.AGENT_QUEUE,
      ids.map((executionId) => ({
        kind: "run" as const,
        orgId: a.orgId,
        executionId,
        trace: c.get("requestId"),
      })),
    );
  }
  return c.json(await shaped(db, next), 200);
};

export const remove: Handler<typeof routes.remove> = async (c) => {
  if (
    !(await deleteAgent(
      await shardFor(c.env, c.get("orgId")),
      c.get("orgId"),
      c.req.valid("param").id,
      Date.now(),
    ))
  ) {
    throw notFound("Agent");
  }
  return c.body(null, 204);
};

export const execute: Handler<typeof routes.execute> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const agent = await owned(db, c.get("orgId"), c.req.valid("param").id);
  const body = c.req.valid("json");
  const keys = [
    body.idempotency_key,
    body.idempotencyKey,
    parseIdempotencyKey(c.req.header("idempotency-key")),
  ].filter((k): k is string => k !== undefined);
  if (new Set(keys).size > 1) {
    throw invalid(
      "idempotency_key",
      "Given twice with different values (body and Idempotency-Key header)",
    );
  }
  const { row, fresh } = await requestExecution(
    c.env,
    db,
    agent,
    { kind: "execute", input: body.input, idempotencyKey: keys[0] },
    { enqueue: true },
  );
  if (!fresh) {
    c.header("idempotent-replayed", "true");
  }
  return c.json(executionJson(row), 202);
};

/** Runs an execution inline (inference, scoring); a failure answers as its error code says. */
async function runNow(
  env: Env,
  db: Db,
  agent: AgentRow,
  kind: ExecutionKind,
  input: Record<string, unknown>,
  log: Parameters<typeof runExecution>[3],
) {
  if (agent.status === "paused") {
    throw new DomainError("agent_paused", "The agent is paused; PATCH it to `active` first");
  }
  const { row } = await requestExecution(env, db, agent, { kind, input }, { enqueue: false });
  const done = (await runExecution(env, db, row.id, log, { sync: true })) ?? row;
  if (done.status !== "succeeded") {
    const code = done.error?.code ?? "internal_error";
    const known = Object.hasOwn(ERROR_STATUS, code) ? (code as ErrorCode) : null;
    throw new DomainError(
      known ??
        (code === "template_error" || code === "validation_failed"
          ? "validation_failed"
          : "internal_error"),
      `Execution ${done.id} failed: ${done.error?.message ?? "no reason recorded"}`,
    );
  }
  return done;
}

export const inference: Handler<typeof routes.inference> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const agent = await owned(db, c.get("orgId"), c.req.valid("param").id);
  if (agent.type !== "template") {
    throw new DomainError(
      "validation_failed",
      `Inference is for template agents; this one is a ${agent.type} agent (use POST /v1/agents/${agent.id}/execute)`,
    );
  }
  const done = await runNow(c.env, db, agent, "inference", c.req.valid("json").input, c.get("log"));
  return c.json(executionJson(done), 200);
};

export const scoreLead: Handler<typeof routes.scoreLead> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const orgId = c.get("orgId");
  const agent = await owned(db, orgId, c.req.valid("param").id);
  const { contactId } = c.req.valid("json");
  const contact = await getContact(db, orgId, contactId);
  if (!contact || contact.erasedAt) {
    throw notFound("Contact");
  }
  const done = await runNow(c.env, db, agent, "score", { contactId }, c.get("log"));
  const out = done.output as {
    contactId: string;
    score: number;
    reasons: string[];
    rulesScore: number;
    modelScore: number | null;
    scoredAt: string;
  };
  return c.json({ ...out, executionId: done.id }, 200);
};

export const executions: Handler<typeof routes.executions> = async (c) => {
  const db = await readShardFor(c.env, c.get("orgId"));
  const agent = await owned(db, c.get("orgId"), c.req.valid("param").id);
  const q = c.req.valid("query");
  const page = toPage(q);
  const { data, nextCursor } = pageOf(
    await listExecutions(
      db,
      agent.id,
      { status: q.status, since: q.since ? Date.parse(q.since) : undefined },
      page.limit,
      page.before,
    ),
    page,
  );
  return c.json({ data: data.map(executionJson), nextCursor }, 200);
};

export const execution: Handler<typeof routes.execution> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const { id, executionId } = c.req.valid("param");
  const agent = await owned(db, c.get("orgId"), id);
  const x = await getExecution(db, executionId);
  if (!x || x.agentId !== agent.id) {
    throw notFound("Execution");
  }
  return c.json(executionJson(x), 200);
};

export const status: Handler<typeof routes.status> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const agent = await owned(db, c.get("orgId"), c.req.valid("param").id);
  const { policy, tz } = await policyOf(db, agent);
  const [gate, counts, last] = await Promise.all([
    gateOf(c.env, agent).status(tz),
    countByStatus(db, agent.id),
    lastOutcomes(db, agent.id),
  ]);
  return c.json(
    {
      agentId: agent.id,
      status: agent.status,
      queued: counts.queued ?? 0,
      running: counts.running ?? 0,
      startedToday: gate.startedToday,
      spentTodayUsd: gate.spentTodayUsd,
      executionPolicy: policy,
      lastSuccess: last.success
        ? { executionId: last.success.id, at: iso(last.success.finishedAt) as string }
        : null,
      lastError: last.failure
        ? {
            executionId: last.failure.id,
            at: iso(last.failure.finishedAt) as string,
            code: last.failure.error?.code ?? "unknown",
            message: last.failure.error?.message ?? "",
          }
        : null,
    },
    200,
  );
};

export const logs: Handler<typeof routes.logs> = async (c) => {
  const db = await readShardFor(c.env, c.get("orgId"));
  const agent = await owned(db, c.get("orgId"), c.req.valid("param").id);
  const q = c.req.valid("query");
  const page = toPage(q);
  const { data, nextCursor } = pageOf(
    await listLogs(db, agent.id, q.executionId, page.limit, page.before),
    page,
  );
  return c.json(
    {
      data: data.map((l) => ({
        id: l.id,
        executionId: l.executionId,
        level: l.level,
        message: l.message,
        at: iso(l.at) as string,
      })),
      nextCursor,
    },
    200,
  );
};

// ---- figures -------------------------------------------------------------------------------

/** The first day of the window (`days` back, today included) and its start, in `tz`. */
function windowStart(days: number, tz: string, now = Date.now()) {
  const p = localParts(now, tz);
  const d = addLocalDays(p.year, p.month, p.day, -(days - 1));
  return zonedTime(tz, d.year, d.month, d.day, 0, 0);
}

/** Nearest-rank percentile of sorted values, or null when there are none. */
const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? null : sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];

type Figure = Awaited<ReturnType<typeof executionFigures>>[number];

function figuresOf(rows: Figure[]) {
  const durations = rows
    .filter((r) => r.startedAt !== null && r.finishedAt !== null)
    .map((r) => (r.finishedAt as number) - (r.startedAt as number))
    .sort((a, b) => a - b);
  const succeeded = rows.filter((r) => r.status === "succeeded").length;
  const failed = rows.filter((r) => r.status === "failed").length;
  return {
    executions: rows.length,
    succeeded,
    failed,
    successRate: succeeded + failed === 0 ? null : succeeded / (succeeded + failed),
    p50DurationMs: percentile(durations, 0.5),
    p95DurationMs: percentile(durations, 0.95),
    costUsd: rows.reduce((s, r) => s + r.costUsd, 0),
  };
}

export const costs: Handler<typeof routes.costs> = async (c) => {
  const db = await readShardFor(c.env, c.get("orgId"));
  const agent = await owned(db, c.get("orgId"), c.req.valid("param").id);
  const tz = await reportingZone(db, agent.orgId);
  const rows = await executionFigures(db, [agent.id], windowStart(c.req.valid("query").days, tz));
  const byDay = new Map<
    string,
    {
      day: string;
      model: string | null;
      executions: number;
      tokensIn: number;
      tokensOut: number;
      costUsd: number;
    }
  >();
  for (const r of rows.filter((x) => x.model !== null || x.costUsd > 0)) {
    const day = dayKey(r.createdAt, tz);
    const key = `${day} ${r.model ?? ""}`;
    const line = byDay.get(key) ?? {
      day,
      model: r.model,
      executions: 0,
      tokensIn: 0,
      tokensOut: 0,
      costUsd: 0,
    };
    line.executions++;
    line.tokensIn += r.tokensIn;
    line.tokensOut += r.tokensOut;
    line.costUsd += r.costUsd;
    byDay.set(key, line);
  }
  const days = [...byDay.values()].sort(
    (a, b) => a.day.localeCompare(b.day) || String(a.model).localeCompare(String(b.model)),
  );
  return c.json(
    {
      agentId: agent.id,
      currency: "USD" as const,
      timezone: tz,
      totalUsd: days.reduce((s, d) => s + d.costUsd, 0),
      days,
    },
    200,
  );
};

export const metrics: Handler<typeof routes.metrics> = async (c) => {
  const db = await readShardFor(c.env, c.get("orgId"));
  const agent = await owned(db, c.get("orgId"), c.req.valid("param").id);
  const tz = await reportingZone(db, agent.orgId);
  const rows = await executionFigures(db, [agent.id], windowStart(c.req.valid("query").days, tz));
  const byDay = new Map<string, Figure[]>();
  for (const r of rows) {
    const day = dayKey(r.createdAt, tz);
    byDay.set(day, [...(byDay.get(day) ?? []), r]);
  }
  return c.json(
    {
      agentId: agent.id,
      timezone: tz,
      totals: figuresOf(rows),
      days: [...byDay.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([day, rs]) => ({ day, ...figuresOf(rs) })),
    },
    200,
  );
};

export const fleet: Handler<typeof routes.fleet> = async (c) => {
  const db = await readShardFor(c.env, c.get("orgId"));
  const orgId = c.get("orgId");
  const now = Date.now();
  const agents = await allAgents(db, orgId);
  const [rows, queued] = await Promise.all([
    executionFigures(
      db,
      agents.map((a) => a.id),
      now - 86_400_000,
    ),
    queuedByAgent(db, orgId),
  ]);
  return c.json(
    {
      windowHours: 24 as const,
      generatedAt: new Date(now).toISOString(),
      agents: agents.map((a) => {
        const f = figuresOf(rows.filter((r) => r.agentId === a.id));
        return {
          agentId: a.id,
          name: a.name,
          type: a.type,
          paused: a.status === "paused",
          executions: f.executions,
          failures: f.failed,
          p95DurationMs: f.p95DurationMs,
          spendUsd: f.costUsd,
          queuedNow: queued.get(a.id) ?? 0,
        };
      }),
    },
    200,
  );
};

export const reasoning: Handler<typeof routes.reasoning> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const agent = await owned(db, c.get("orgId"), c.req.valid("param").agentId);
  const page = toPage(c.req.valid("query"));
  const { data, nextCursor } = pageOf(
    await listExchanges(db, agent.id, page.limit, page.before),
    page,
  );
  return c.json({ data: data.map(exchangeJson), nextCursor }, 200);
};
