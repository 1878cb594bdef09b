// The agent consumer: each job runs one execution (admitted by its gate) or turns a workflow
// step's agent effect into an execution and runs it. A job that keeps failing unexpectedly
// lands in nudge-agent-dlq, whose consumer ends its execution as failed — never silently lost.

import { shardFor } from "../../db/shards";
import { enrollmentStub } from "../../enrollments";
import type { Env } from "../../ground/env";
import { errorText, type Logger } from "../../ground/log";
import type { AgentJob } from "../../ground/queues";
import { backoffSeconds } from "../../ground/retry";
import { handleAgentJob } from "../executions";
import { finishExecution, getExecution } from "../store";

export async function handleAgentBatch(batch: MessageBatch<AgentJob>, env: Env, log: Logger) {
  // Executions are independent (each gate decides): run the batch's together.
  await Promise.all(
    batch.messages.map(async (msg) => {
      const job = msg.body;
      const jobLog = log.child({
        trace: job.trace ?? (job.kind === "step" ? job.key : undefined),
        kind: job.kind,
      });
      jobLog.debug("consumed", { attempts: msg.attempts });
      try {
        await handleAgentJob(env, await shardFor(env, job.orgId), job, jobLog);
        msg.ack();
      } catch (err) {
        jobLog.error("agent job failed", { attempts: msg.attempts, error: errorText(err) });
        msg.retry({
          delaySeconds: backoffSeconds(msg.attempts, {
            baseSeconds: 2,
            capSeconds: 300,
            jitter: 0.5,
          }),
        });
      }
    }),
  );
}

export async function handleAgentDeadLetters(batch: MessageBatch<AgentJob>, env: Env, log: Logger) {
  for (const msg of batch.messages) {
    const job = msg.body;
    const db = await shardFor(env, job.orgId);
    const error = {
      code: "internal_error",
      message: "The execution could not be run after repeated attempts",
    };
    if (job.kind === "run") {
      const x = await getExecution(db, job.executionId);
      if (x) {
        await finishExecution(
          db,
          x.id,
          { ...x, status: "failed", error, output: null },
          Date.now(),
        );
      }
    } else {
      await enrollmentStub(env, job.enrollmentId).deliverOutcome(job.key, "failed", { error });
    }
    log.error("agent job dead-lettered", {
      kind: job.kind,
      trace: job.trace ?? (job.kind === "step" ? job.key : undefined),
    });
    msg.ack();
  }
}
