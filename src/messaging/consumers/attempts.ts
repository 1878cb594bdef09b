// What a message consumer (email, SMS, calls) does after a failed provider attempt: retry with
// backoff while the failure is retryable and attempts remain, else fail the message for good
// (and park a job that exhausted its retries in the dead-letter queue).
import type { Db } from "../../db/client";
import type { Env } from "../../ground/env";
import type { MessageJob } from "../../ground/queues";
import { ProviderError } from "../../providers/provider";
import { settleMessage } from "../store";

export interface FailedAttempt {
  messageId: string;
  job: MessageJob;
  attempts: number;
  maxAttempts: number;
  /** A failure retrying cannot fix (a template that does not render, a missing connection). */
  permanent: boolean;
  /** The retry delay in seconds for this attempt, honouring the provider's Retry-After. */
  backoff: (retryAfterSeconds: number) => number;
  /** Fails the message (and what depends on it) with this error. */
  fail: (error: string) => Promise<void>;
}

/** The retry delay in seconds, or null when the failure is final. */
export async function afterFailedAttempt(
  env: Env,
  db: Db,
  err: unknown,
  a: FailedAttempt,
): Promise<number | null> {
  const retryable = err instanceof ProviderError ? err.retryable : !a.permanent;
  const error = err instanceof Error ? err.message : String(err);
  if (retryable && a.attempts < a.maxAttempts) {
    const delay = a.backoff(err instanceof ProviderError ? err.retryAfterSeconds : 0);
    await settleMessage(db, a.messageId, {
      sendingAt: null,
      error: `Attempt ${a.attempts} failed: ${error}`,
      nextAttemptAt: Date.now() + delay * 1000,
    });
    return delay;
  }
  await a.fail(retryable ? `Gave up after ${a.attempts} attempts: ${error}` : error);
  if (retryable) {
    await env.MESSAGE_DLQ.send(a.job);
  }
  return null;
}
