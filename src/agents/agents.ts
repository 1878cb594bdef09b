// Agents at work: an execution is requested once per (agent, idempotency key), admitted by its
// gate under the execution policy, then performed by type — a workflow agent enrolls the
// contact, a template agent asks a model for JSON its schema accepts (one retry with the
// errors fed back), a code agent calls the customer's endpoint, signed. Every run is logged,
// its model exchanges kept (redacted) for review, its end published as a webhook event and,
// for a workflow step's run, handed back to the enrollment as the step's outcome.

import { reportingZone } from "../analytics";
import {
  ContactInput,
  type ContactRow,
  contactJson,
  getContact,
  resolveContact,
  saveContact,
} from "../contacts";
import type { Db } from "../db/client";
import { renderString, TemplateRenderError } from "../engine/templates";
import { confirmEffects, type EnrollOutcome, enroll, enrollmentStub } from "../enrollments";
import type { Env } from "../ground/env";
import { DomainError } from "../ground/errors";
import { newId, seededId } from "../ground/ids";
import { errorText, type Logger } from "../ground/log";
import type { AgentJob } from "../ground/queues";
import { backoffSeconds } from "../ground/retry";
import { type ConnectionRow, firstConnectionOf, getConnection } from "../messaging";
import {
  type CompletionRequest,
  costOf,
  LLM_PROVIDER_NAMES,
  llmProviderOf,
} from "../providers/llm";
import { ProviderError } from "../providers/provider";
import { decrypt } from "../security/credentials";
import { sha256Hex } from "../security/encoding";
import { RESPONSE_CAPS, ResponseTooLarge, readCapped } from "../security/read-capped";
import { refuseUrl } from "../security/ssrf";
import { signatureHeader } from "../security/standard-webhooks";
import { publish } from "../webhooks";
import { getWorkflow } from "../workflows";
import {
  type Admission,
  blendScores,
  checkOutput,
  clampScore,
  DEFAULT_POLICY,
  type ExecutionPolicy,
  leaseMs,
  redact,
  scoreByRules,
  scoringRules,
} from "./rules";
import {
  type AgentRow,
  type AgentTemplateRow,
  addExchange,
  addLogs,
  type ExecutionResult,
  type ExecutionRow,
  finishExecution,
  getAgentById,
  getExecution,
  getTemplate,
  insertOrGetExecution,
  scoringCounts,
  setContactScore,
  startExecution,
} from "./store";

export type ExecutionKind = ExecutionRow["kind"];

/** Why an execution failed: a stable code and a message a person can act on. */
export class ExecutionFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Inference answers within 30 s whatever the policy says. */
const INFERENCE_TIMEOUT_SECONDS = 30;
const DEFAULT_MODELS: Record<string, string> = {
  openai: "gpt-4o-mini",
  anthropic: "claude-3-5-haiku-latest",
};

// ---- the gate ------------------------------------------------------------------------------

/** Template agents share their template's gate (its policy); others have their own. */
const gateName = (agent: AgentRow) =>
  agent.type === "template" && agent.templateId
    ? `template:${agent.templateId}`
    : `agent:${agent.id}`;

export const gateOf = (env: Env, agent: AgentRow) => gateNamed(env, gateName(agent));

const gateNamed = (env: Env, name: string) => env.AGENT_GATE.get(env.AGENT_GATE.idFromName(name));

/** After a policy change: executions waiting at the gate get the slots the new policy frees. */
export async function reopenGate(
  env: Env,
  db: Db,
  orgId: string,
  gate: { templateId: string } | { agentId: string },
  policy: ExecutionPolicy,
) {
  const name = "templateId" in gate ? `template:${gate.templateId}` : `agent:${gate.agentId}`;
  await gateNamed(env, name).release(null, 0, policy, await reportingZone(db, orgId));
}

/** The policy that governs the agent's executions, and the zone its days are counted in. */
export async function policyOf(db: Db, agent: AgentRow) {
  const [template, tz] = await Promise.all([
    agent.type === "template" && agent.templateId
      ? getTemplate(db, agent.orgId, agent.templateId)
      : undefined,
    reportingZone(db, agent.orgId),
  ]);
  return { policy: template?.policy ?? agent.policy ?? DEFAULT_POLICY, tz, template };
}

// ---- requesting ----------------------------------------------------------------------------

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
      await env.AGENT_QUEUE.send({ kind: "run", executionId: row.id });
    }
  }
  return { row, fresh };
}

// ---- running -------------------------------------------------------------------------------

const logRow = (
  x: Pick<ExecutionRow, "id" | "orgId" | "agentId">,
  level: "info" | "warn" | "error",
  message: string,
  at = Date.now(),
) => ({
  id: newId("alg", at),
  orgId: x.orgId,
  agentId: x.agentId,
  executionId: x.id,
  level,
  message: message.slice(0, 2_000),
  at,
});

/** What one run collects before it is written: log lines, usage, cost. */
class Run {
  readonly lines: ReturnType<typeof logRow>[] = [];
  model: string | null = null;
  tokensIn = 0;
  tokensOut = 0;
  costUsd = 0;
  attempts = 0;

  constructor(
    readonly env: Env,
    readonly db: Db,
    readonly execution: ExecutionRow,
    readonly agent: AgentRow,
    readonly policy: ExecutionPolicy,
  ) {
    this.deadline =
      execution.kind === "inference" ? Date.now() + INFERENCE_TIMEOUT_SECONDS * 1000 : Infinity;
  }

  log(level: "info" | "warn" | "error", message: string) {
    this.lines.push(logRow(this.execution, level, message));
  }

  /** Inference answers within 30 s in all: its attempts and retries share that deadline. */
  readonly deadline: number;

  /** Per attempt: the policy's timeout, within what is left before the deadline. */
  get timeoutMs() {
    return Math.max(0, Math.min(this.policy.timeoutSeconds * 1000, this.deadline - Date.now()));
  }
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
  const verdict: Admission = await gate.admit(execution.id, policy, tz, !opts.sync);
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
  await gate.release(execution.id, run.costUsd, policy, tz);
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

// ---- workflow agents -----------------------------------------------------------------------

async function enrollFor(run: Run, log: Logger) {
  const { env, db, execution, agent } = run;
  const input = execution.input;
  const workflow = agent.workflowId ? await getWorkflow(db, agent.orgId, agent.workflowId) : null;
  if (!workflow) {
    throw new ExecutionFailure("not_found", "The agent's workflow was deleted");
  }
  let contact: ContactRow;
  try {
    if (typeof input.contactId === "string") {
      contact = await resolveContact(env, db, agent.orgId, { id: input.contactId });
    } else if (input.contact && typeof input.contact === "object") {
      // Checked as POST /v1/enrollments checks its `contact`: never stored unchecked.
      const fields = ContactInput.safeParse(input.contact);
      if (!fields.success) {
        throw new ExecutionFailure(
          "validation_failed",
          `input.contact is not a usable contact: ${fields.error.issues.map((i) => `${["contact", ...i.path].join(".")}: ${i.message}`).join("; ")}`,
        );
      }
      contact = (await saveContact(env, db, agent.orgId, fields.data)).contact;
    } else {
      throw new ExecutionFailure(
        "validation_failed",
        "A workflow agent's input needs `contact` (fields, with an email, phone or externalId) or `contactId`",
      );
    }
  } catch (err) {
    if (err instanceof ExecutionFailure) {
      throw err;
    }
    throw new ExecutionFailure(
      err instanceof DomainError ? err.code : "validation_failed",
      `The contact could not be resolved: ${(err as Error).message}`,
    );
  }
  // The enrollment's id derives from the execution's: a run taken up again finds its own.
  const id = await seededId("enr", execution.createdAt, execution.id);
  const variables =
    input.variables && typeof input.variables === "object"
      ? (input.variables as Record<string, unknown>)
      : {};
  let r: EnrollOutcome;
  try {
    r = await enroll(env, db, { workflow, contact, variables, id }, log);
  } catch (err) {
    throw new ExecutionFailure(
      err instanceof DomainError ? err.code : "internal_error",
      (err as Error).message,
    );
  }
  if (!r.ok) {
    const existing = await enrollmentStub(env, id).snapshot();
    if (r.code === "already_enrolled" && existing) {
      run.log("info", `Enrollment ${id} was created by an earlier attempt`);
      return { enrollmentId: id, contactId: contact.id, workflowId: workflow.id };
    }
    throw new ExecutionFailure(r.code, r.message);
  }
  run.log("info", `Enrolled contact ${contact.id} in workflow ${workflow.id}: ${r.enrollment.id}`);
  return { enrollmentId: r.enrollment.id, contactId: contact.id, workflowId: workflow.id };
}

// ---- template agents -----------------------------------------------------------------------

/** The template's LLM connection, else the org's default (its oldest LLM connection). */
async function llmConnection(db: Db, template: AgentTemplateRow): Promise<ConnectionRow> {
  const conn = template.connectionId
    ? await getConnection(db, template.orgId, template.connectionId)
    : await firstConnectionOf(db, template.orgId, LLM_PROVIDER_NAMES);
  if (!conn || !llmProviderOf(conn.provider)) {
    throw new ExecutionFailure(
      "no_llm_connection",
      template.connectionId
        ? `The template's LLM connection ${template.connectionId} no longer exists; set another with PATCH /v1/agent-templates/${template.id}`
        : 'This org has no LLM connection. Add one: POST /v1/connections {"provider": "openai", "credentials": {"apiKey": "sk-...", "baseUrl": "https://api.openai.com/v1"}} (any OpenAI-compatible endpoint) or {"provider": "anthropic", "credentials": {"apiKey": "sk-ant-..."}}',
    );
  }
  return conn;
}

/**
 * Renders the prompt, asks the model, and validates its answer against the output schema:
 * an invalid answer is sent back once with the errors; still invalid → `output_invalid`.
 */
async function askModel(
  run: Run,
  template: AgentTemplateRow,
  scope: Record<string, unknown>,
): Promise<unknown> {
  const { env, db, execution } = run;
  let prompt: string;
  let system: string | null;
  try {
    prompt = renderString(template.prompt, scope);
    system = template.system ? renderString(template.system, scope) : null;
  } catch (err) {
    throw new ExecutionFailure(
      "template_error",
      err instanceof TemplateRenderError ? err.message : errorText(err),
    );
  }
  const conn = await llmConnection(db, template);
  const provider = llmProviderOf(conn.provider);
  if (!provider) {
    throw new ExecutionFailure("no_llm_connection", `${conn.provider} is not an LLM provider`);
  }
  const credentials = JSON.parse(
    await decrypt(env, conn.credentials, {
      orgId: conn.orgId,
      table: "connections",
      rowId: conn.id,
    }),
  ) as Record<string, string>;
  const model = template.model ?? credentials.model ?? DEFAULT_MODELS[provider.name];
  const request: CompletionRequest = {
    model,
    system,
    messages: [{ role: "user", content: prompt }],
    schema: template.outputSchema,
    temperature: template.temperature,
    maxTokens: template.maxTokens,
    timeoutMs: run.timeoutMs,
  };
  const kept = redact(prompt, scope, template.personalFields);
  for (let turn = 0; turn < 2; turn++) {
    const completion = await withRetries(run, `${provider.name} ${model}`, () =>
      provider.complete(request, credentials, env),
    );
    run.model = completion.model;
    run.tokensIn += completion.tokensIn;
    run.tokensOut += completion.tokensOut;
    const cost = costOf(env, completion.model, completion.tokensIn, completion.tokensOut);
    run.costUsd += cost ?? 0;
    if (cost === null) {
      run.log(
        "warn",
        `No price for model ${completion.model}: its cost counts as 0 (set LLM_PRICES)`,
      );
    }
    const checked = checkOutput(completion.text, template.outputSchema);
    const now = Date.now();
    await addExchange(db, {
      id: newId("arx", now),
      orgId: execution.orgId,
      agentId: execution.agentId,
      executionId: execution.id,
      attempt: turn + 1,
      model: completion.model,
      prompt: turn === 0 ? kept : `${kept}\n\n[retry] ${request.messages.at(-1)?.content ?? ""}`,
      answer: completion.text.slice(0, 100_000),
      validationErrors: checked.ok ? [] : checked.errors,
      tokensIn: completion.tokensIn,
      tokensOut: completion.tokensOut,
      at: now,
      expiresAt: now + template.reasoningRetentionDays * 86_400_000,
    });
    run.log(
      checked.ok ? "info" : "warn",
      `Model ${completion.model}: ${completion.tokensIn} + ${completion.tokensOut} tokens${checked.ok ? "; the answer matches the schema" : `; the answer does not match the schema: ${checked.errors.join("; ")}`}`,
    );
    if (checked.ok) {
      return checked.value;
    }
    if (turn === 1) {
      throw new ExecutionFailure(
        "output_invalid",
        `The model's answer did not match the output schema after a retry: ${checked.errors.join("; ")}`,
      );
    }
    request.messages = [
      ...request.messages,
      { role: "assistant", content: completion.text.slice(0, 20_000) },
      {
        role: "user",
        content: `Your answer does not match the required JSON Schema: ${checked.errors.join("; ")}. Answer again with only a JSON value that matches the schema.`,
      },
    ];
  }
  throw new ExecutionFailure("output_invalid", "No valid answer");
}

/** A model or endpoint call with the policy's retries for what may pass (timeouts, 429, 5xx). */
async function withRetries<T>(run: Run, what: string, call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    run.attempts++;
    try {
      return await call();
    } catch (err) {
      const retryable = err instanceof ProviderError ? err.retryable : false;
      const message = err instanceof Error ? err.message : String(err);
      if (!retryable || attempt >= run.policy.retries) {
        throw new ExecutionFailure(
          run.agent.type === "code" ? "endpoint_error" : "llm_error",
          `${what}: ${message}${attempt > 0 ? ` (after ${attempt + 1} attempts)` : ""}`,
        );
      }
      const wait = Math.min(
        backoffSeconds(attempt, {
          baseSeconds: 1,
          capSeconds: 20,
          retryAfterSeconds: err instanceof ProviderError ? err.retryAfterSeconds : 0,
        }),
        20,
      );
      if (Date.now() + wait * 1000 + 1000 >= run.deadline) {
        throw new ExecutionFailure(
          run.agent.type === "code" ? "endpoint_error" : "llm_error",
          `${what}: ${message} (no time left for a retry within ${INFERENCE_TIMEOUT_SECONDS} s)`,
        );
      }
      run.log("warn", `${what}: ${message}; retrying in ${wait} s`);
      await new Promise((r) => setTimeout(r, wait * 1000));
    }
  }
}

// ---- code agents ---------------------------------------------------------------------------

async function callEndpoint(run: Run): Promise<unknown> {
  const { env, execution, agent } = run;
  const url = agent.endpoint ?? "";
  const refused = refuseUrl(env, url);
  if (refused) {
    throw new ExecutionFailure("endpoint_refused", `The endpoint is refused: ${refused}`);
  }
  const secret = await decrypt(env, agent.secret ?? "", {
    orgId: agent.orgId,
    table: "agents",
    rowId: agent.id,
  });
  const body = JSON.stringify({
    input: execution.input,
    configuration: agent.configuration,
    executionId: execution.id,
  });
  const text = await withRetries(
    run,
    `POST ${new URL(url).origin}${new URL(url).pathname}`,
    async () => {
      const timestamp = Math.floor(Date.now() / 1000);
      let res: Response;
      try {
        res = await fetch(url, {
          method: "POST",
          redirect: "manual",
          signal: AbortSignal.timeout(run.timeoutMs),
          headers: {
            "content-type": "application/json",
            "user-agent": "Nudge-Agents/1.0",
            "webhook-id": execution.id,
            "webhook-timestamp": String(timestamp),
            "webhook-signature": await signatureHeader([secret], execution.id, timestamp, body),
          },
          body,
        });
      } catch (err) {
        const timedOut = err instanceof Error && err.name === "TimeoutError";
        throw new ProviderError(
          timedOut
            ? `no answer within ${run.timeoutMs / 1000} s`
            : `network error: ${errorText(err)}`,
          true,
        );
      }
      // The endpoint is the tenant's: an answer past the cap is cut there, the stream cancelled.
      const { bytes, truncated } = await readCapped(
        res,
        res.ok ? RESPONSE_CAPS.agent : RESPONSE_CAPS.error,
      );
      if (res.ok && truncated) {
        throw new ProviderError(new ResponseTooLarge(RESPONSE_CAPS.agent).message, false);
      }
      const answer = new TextDecoder().decode(bytes);
      if (!res.ok) {
        throw new ProviderError(
          `HTTP ${res.status}${res.status >= 300 && res.status < 400 ? " (redirects are not followed)" : ""}: ${answer.slice(0, 200)}`,
          res.status === 429 || res.status >= 500,
        );
      }
      return answer;
    },
  );
  try {
    return text.trim() === "" ? null : JSON.parse(text);
  } catch {
    throw new ExecutionFailure(
      "endpoint_invalid_response",
      `The endpoint answered 2xx without JSON: ${text.slice(0, 200)}`,
    );
  }
}

// ---- lead scoring --------------------------------------------------------------------------

/** Scores the contact the execution names, stores the score and tells the org's webhooks. */
async function scoreContact(run: Run, log: Logger) {
  const { env, db, execution, agent } = run;
  const contactId = String(execution.input.contactId ?? "");
  const contact = await getContact(db, agent.orgId, contactId);
  if (!contact || contact.erasedAt) {
    throw new ExecutionFailure("not_found", `Contact ${contactId} not found`);
  }
  const rules = scoringRules(agent.configuration);
  const now = Date.now();
  const counts = await scoringCounts(db, agent.orgId, contact.id, now - rules.days * 86_400_000);
  const shaped = contactJson(contact);
  const byRules = scoreByRules(rules, { contact: shaped, ...counts });
  let score = byRules.score;
  const reasons = [...byRules.reasons];
  let modelScore: number | null = null;
  if (rules.llm) {
    const template = await getTemplate(db, agent.orgId, rules.llm.templateId);
    if (!template) {
      throw new ExecutionFailure(
        "not_found",
        `Agent template ${rules.llm.templateId} (score.llm.templateId) not found`,
      );
    }
    const answer = (await askModel(run, template, {
      input: { contact: shaped, ...counts, rulesScore: byRules.score, reasons: byRules.reasons },
      configuration: agent.configuration,
    })) as { score?: unknown; reasons?: unknown };
    if (typeof answer?.score !== "number") {
      throw new ExecutionFailure(
        "output_invalid",
        "A scoring template's output must have a numeric `score` (0–100)",
      );
    }
    modelScore = clampScore(answer.score);
    score = blendScores(byRules.score, modelScore, rules.llm.weight);
    reasons.push(
      `model judgement ${modelScore} weighted ${rules.llm.weight} (rules ${byRules.score} → ${score})`,
      ...(Array.isArray(answer.reasons) ? answer.reasons.map((r) => `model: ${String(r)}`) : []),
    );
  }
  if (reasons.length === 0) {
    reasons.push("No scoring rule matched (configure score.* keys on the agent)");
  }
  const stored = await setContactScore(db, agent.orgId, contact.id, score, now);
  if (!stored) {
    throw new ExecutionFailure("not_found", `Contact ${contactId} not found`);
  }
  run.log("info", `Scored contact ${contact.id}: ${score}`);
  await publish(
    env,
    db,
    agent.orgId,
    "contact.scored",
    { contactId: contact.id, agentId: agent.id, executionId: execution.id, score, reasons },
    { key: `${execution.id}:scored` },
  ).catch((err) => log.warn("contact.scored not published", { error: errorText(err) }));
  return {
    contactId: contact.id,
    score,
    reasons,
    rulesScore: byRules.score,
    modelScore,
    scoredAt: new Date(now).toISOString(),
  };
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
