// Agents at work: an execution is requested once per (agent, idempotency key), admitted by its
// gate under the execution policy, then performed by type — a workflow agent enrolls the
// contact (workflow-agents.ts), a template agent asks a model (model-call.ts), a code agent
// calls the customer's endpoint (code-endpoint.ts), a score run scores a lead (scoring.ts).
// Every run is logged, its end published as a webhook event and, for a workflow step's run,
// handed back to the enrollment as the step's outcome.

import type { Db } from "../db/client";
import { confirmEffects, enrollmentStub } from "../enrollments";
import type { Env } from "../ground/env";
import { DomainError } from "../ground/errors";
import { newId } from "../ground/ids";
import { errorText, type Logger } from "../ground/log";
import type { AgentJob } from "../ground/queues";
import { sha256Hex } from "../security/encoding";
import { publish } from "../webhooks";
import { gateOf, policyOf } from "./admission";
import { callEndpoint } from "./code-endpoint";
import { askModel } from "./model-call";
import { type Admission, leaseMs } from "./rules";
import { ExecutionFailure, type ExecutionKind, logRow, Run } from "./run";
import { scoreContact } from "./scoring";
import {
  type AgentRow,
  type AgentTemplateRow,
  addLogs,
  type ExecutionResult,
  type ExecutionRow,
  finishExecution,
  getAgentById,
  getExecution,
  insertOrGetExecution,
  startExecution,
} from "./store";
import { enrollFor } from "./workflow-agents";

export interface ExecutionRequest {
  kind: ExecutionKind;
  input: Record<string, unknown>;
  /** Absent: a fresh key (no deduplication). */
  idempotencyKey?: string;
  /** A workflow step's run: its enrollment gets the outcome. */
  origin?: { enrollmentId: string; key: string };
}

/**
 * The execution for this (agent, key): created queued (and sent to the queue unless the caller
 * runs it) — or the one created before, when the request is the same; another request under the
 * same key is refused with 422 `idempotency_key_reused`.
 */
export async function requestExecution(
  env: Env,
  db: Db,
  agent: AgentRow,
  req: ExecutionRequest,
  opts: { enqueue: boolean },
): Promise<{ row: ExecutionRow; fresh: boolean }> {
  const now = Date.now();
  const requestHash = await sha256Hex(JSON.stringify({ kind: req.kind, input: req.input }));
  const { row, fresh } = await insertOrGetExecution(db, {
    id: newId("axn", now),
    orgId: agent.orgId,
    agentId: agent.id,
    idempotencyKey: req.idempotencyKey ?? `auto:${newId("axn", now)}`,
    requestHash,
    kind: req.kind,
    input: req.input,
    status: "queued",
    output: null,
    error: null,
    enrollmentId: null,
    origin: req.origin ?? null,
    model: null,
    tokensIn: 0,
    tokensOut: 0,
    costUsd: 0,
    attempts: 0,
    createdAt: now,
    startedAt: null,
    finishedAt: null,
    checkedAt: null,
  });
  if (!fresh && row.requestHash !== requestHash) {
    throw new DomainError(
      "idempotency_key_reused",
      `This idempotency key was used for execution ${row.id} with a different request`,
    );
  }
  if (fresh) {
    await addLogs(db, [logRow(row, "info", `Queued (${req.kind})`, now)]);
    if (opts.enqueue) {
      await env.AGENT_QUEUE.send({ kind: "run", orgId: row.orgId, executionId: row.id });
    }
  }
  return { row, fresh };
}

/**
 * Runs an execution if its gate admits it; returns the execution as it stands after (ended, or
 * still queued behind others). Safe to call again for the same execution: an ended one is left
 * alone, and one whose worker vanished mid-run is taken up again.
 */
export async function runExecution(
  env: Env,
  db: Db,
  executionId: string,
  log: Logger,
  opts: { sync?: boolean } = {},
): Promise<ExecutionRow | null> {
  const execution = await getExecution(db, executionId);
  if (!execution || (execution.status !== "queued" && execution.status !== "running")) {
    return execution ?? null;
  }
  const agent = await getAgentById(db, execution.agentId);
  if (!agent) {
    return end(env, db, execution, null, {
      status: "cancelled",
      error: { code: "agent_deleted", message: "The agent was deleted before it ran" },
    });
  }
  if (agent.status === "paused") {
    // Resuming the agent sends its queued executions on again.
    await addLogs(db, [logRow(execution, "info", "Waiting: the agent is paused")]);
    return execution;
  }
  const { policy, tz, template } = await policyOf(db, agent);
  const gate = gateOf(env, agent);
  const verdict: Admission = await gate.admit(agent.orgId, execution.id, policy, tz, !opts.sync);
  if (verdict === "busy") {
    return end(env, db, execution, agent, {
      status: "failed",
      error: {
        code: "agent_busy",
        message: `The execution policy allows ${policy.maxConcurrent ?? "∞"} at once and ${policy.maxPerDay ?? "∞"} a day; none is free now — retry shortly, or use POST /v1/agents/${agent.id}/execute, which waits its turn`,
      },
    });
  }
  if (verdict === "wait") {
    // Said once: the watchdog's later checks (checkedAt set) find it still waiting, quietly.
    if (execution.checkedAt === null) {
      await addLogs(db, [
        logRow(
          execution,
          "info",
          "Waiting: the execution policy's concurrency or daily limit is reached",
        ),
      ]);
    }
    return execution;
  }
  if (verdict === "budget_exhausted") {
    return end(env, db, execution, agent, {
      status: "failed",
      error: {
        code: "budget_exhausted",
        message: `The daily budget of $${policy.budgetUsdPerDay} is spent; executions run again from the next day (${tz})`,
      },
    });
  }
  const now = Date.now();
  if (!(await startExecution(db, execution.id, now, now - leaseMs(policy)))) {
    return getExecution(db, execution.id).then((x) => x ?? null); // another worker runs it
  }
  const run = new Run(env, db, execution, agent, policy);
  let result: Partial<ExecutionResult> & Pick<ExecutionResult, "status">;
  try {
    result = await perform(run, template ?? null, log);
  } catch (err) {
    const failure =
      err instanceof ExecutionFailure
        ? err
        : new ExecutionFailure(
            "internal_error",
            `The execution failed unexpectedly: ${errorText(err)}`,
          );
    if (!(err instanceof ExecutionFailure)) {
      log.error("agent execution failed", { executionId: execution.id, error: errorText(err) });
    }
    result = { status: "failed", error: { code: failure.code, message: failure.message } };
  }
  const ended = await end(env, db, execution, agent, result, run);
  await gate.release(agent.orgId, execution.id, run.costUsd, policy, tz);
  return ended;
}

/** Writes the end of an execution (once), its logs, the webhook event and the step's outcome. */
async function end(
  env: Env,
  db: Db,
  execution: ExecutionRow,
  agent: AgentRow | null,
  r: Partial<ExecutionResult> & Pick<ExecutionResult, "status">,
  run?: Run,
): Promise<ExecutionRow | null> {
  const now = Date.now();
  const result: ExecutionResult = {
    status: r.status,
    output: r.output ?? null,
    error: r.error ?? null,
    enrollmentId: r.enrollmentId ?? execution.enrollmentId,
    model: run?.model ?? null,
    tokensIn: run?.tokensIn ?? 0,
    tokensOut: run?.tokensOut ?? 0,
    costUsd: run?.costUsd ?? 0,
    attempts: run?.attempts ?? 0,
  };
  const lines = [
    ...(run?.lines ?? []),
    logRow(
      execution,
      result.status === "succeeded" ? "info" : "error",
      result.status === "succeeded"
        ? `Succeeded${result.costUsd ? ` ($${result.costUsd.toFixed(6)})` : ""}`
        : `${result.status === "cancelled" ? "Cancelled" : "Failed"}: ${result.error?.message ?? ""}`,
      now,
    ),
  ];
  const after = await finishExecution(db, execution.id, result, now);
  if (!after) {
    // It had ended already (a duplicate run, a delete): as it stands.
    return (await getExecution(db, execution.id)) ?? null;
  }
  await addLogs(db, lines);
  if (agent && result.status !== "cancelled") {
    await publish(
      env,
      db,
      execution.orgId,
      result.status === "succeeded" ? "agent.execution.succeeded" : "agent.execution.failed",
      executionEvent(after),
      { key: `${execution.id}:${result.status}` },
    );
  }
  if (execution.origin) {
    await enrollmentStub(env, execution.origin.enrollmentId).deliverOutcome(
      execution.origin.key,
      result.status === "succeeded" ? "succeeded" : "failed",
      {
        executionId: execution.id,
        output: result.output,
        error: result.error,
        ...(execution.kind === "score" && result.output && typeof result.output === "object"
          ? (result.output as Record<string, unknown>)
          : {}),
      },
    );
  }
  return after;
}

const executionEvent = (x: ExecutionRow) => ({
  executionId: x.id,
  agentId: x.agentId,
  status: x.status,
  output: x.output,
  error: x.error,
  enrollmentId: x.enrollmentId,
  durationMs: x.startedAt && x.finishedAt ? x.finishedAt - x.startedAt : null,
  costUsd: x.costUsd,
});

async function perform(
  run: Run,
  template: AgentTemplateRow | null,
  log: Logger,
): Promise<Partial<ExecutionResult> & Pick<ExecutionResult, "status">> {
  const { execution, agent } = run;
  if (execution.kind === "score") {
    return { status: "succeeded", output: await scoreContact(run, log) };
  }
  if (agent.type === "workflow") {
    const enrolled = await enrollFor(run, log);
    return { status: "succeeded", output: enrolled, enrollmentId: enrolled.enrollmentId };
  }
  if (agent.type === "template") {
    if (!template) {
      throw new ExecutionFailure("not_found", "The agent's template was deleted");
    }
    const input = { input: execution.input, configuration: agent.configuration };
    return { status: "succeeded", output: await askModel(run, template, input) };
  }
  return { status: "succeeded", output: await callEndpoint(run) };
}

// ---- the queue -----------------------------------------------------------------------------

/** One job of nudge-agent: run an execution, or turn a workflow step's effect into one and run it. */
export async function handleAgentJob(env: Env, db: Db, job: AgentJob, log: Logger) {
  if (job.kind === "run") {
    await runExecution(env, db, job.executionId, log);
    return;
  }
  const agent = await getAgentById(db, job.agentId);
  const origin = { enrollmentId: job.enrollmentId, key: job.key };
  if (!agent || agent.orgId !== job.orgId) {
    await enrollmentStub(env, job.enrollmentId).deliverOutcome(job.key, "failed", {
      error: { code: "not_found", message: `Agent ${job.agentId} not found` },
    });
    return;
  }
  const { row } = await requestExecution(
    env,
    db,
    agent,
    {
      kind: job.mode === "score" ? "score" : "step",
      input: job.input,
      idempotencyKey: job.key,
      origin,
    },
    { enqueue: false },
  );
  // Recorded: the enrollment may stop re-sending the effect.
  await confirmEffects(env, [origin], log);
  await runExecution(env, db, row.id, log);
}
