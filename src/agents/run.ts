// One execution's run: what it collects before it is written (log lines, usage, cost), its
// deadline, the failure it may end with, and the policy's retries for a model or endpoint call.

import type { Db } from "../db/client";
import type { Env } from "../ground/env";
import { newId } from "../ground/ids";
import { backoffSeconds } from "../ground/retry";
import { ProviderError } from "../providers/provider";
import { type ExecutionPolicy, RETRY_WAIT_CAP_SECONDS } from "./rules";
import type { AgentRow, ExecutionRow } from "./store";

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

export const logRow = (
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
export class Run {
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

/** A model or endpoint call with the policy's retries for what may pass (timeouts, 429, 5xx). */
export async function withRetries<T>(run: Run, what: string, call: () => Promise<T>): Promise<T> {
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
          capSeconds: RETRY_WAIT_CAP_SECONDS,
          retryAfterSeconds: err instanceof ProviderError ? err.retryAfterSeconds : 0,
        }),
        RETRY_WAIT_CAP_SECONDS,
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
