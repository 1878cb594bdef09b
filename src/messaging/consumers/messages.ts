// The message queue (nudge-email): emails, texts and calls each as one batch through the
// attempt every channel shares (lookups of a batch — contacts, connections, templates — made
// once, jobs concurrent), tasks each on their own; and its dead letters, failed never lost.
import type { Env } from "../../ground/env";
import { errorText, type Logger } from "../../ground/log";
import type { MessageJob, TaskJob } from "../../ground/queues";
import {
  attemptBatch,
  type Channel,
  messageBackoff,
  type Outgoing,
  type SendJob,
  traceOf,
} from "./attempt";
import { deadLetterEmail, emailChannel } from "./email";
import { callChannel, createTask, deadLetterPhone, smsChannel } from "./outreach";

/** Acknowledges a finished job, or retries it after its delay. */
function settle(msg: Message<MessageJob>, delay: number | null) {
  if (delay === null) {
    msg.ack();
  } else {
    msg.retry({ delaySeconds: delay });
  }
}

/** One channel's jobs of the batch, attempted together. */
async function attemptChannel<J extends SendJob, O extends Outgoing>(
  channel: Channel<J, O>,
  messages: Message<J>[],
  env: Env,
  log: Logger,
) {
  const delays = await attemptBatch(
    channel,
    env,
    messages.map((m) => ({ job: m.body, attempts: m.attempts })),
    log,
  );
  for (const [i, m] of messages.entries()) {
    settle(m, delays[i]);
  }
}

async function createOne(msg: Message<TaskJob>, env: Env, log: Logger) {
  const jobLog = log.child({ trace: traceOf(msg.body), key: msg.body.key });
  let delay: number | null;
  try {
    jobLog.info("consumed", { channel: "task", attempts: msg.attempts });
    delay = await createTask(env, msg.body, jobLog);
  } catch (err) {
    jobLog.error("task job failed", { attempts: msg.attempts, error: errorText(err) });
    delay = messageBackoff(env, msg.attempts);
  }
  settle(msg, delay);
}

export async function handleMessageBatch(batch: MessageBatch<MessageJob>, env: Env, log: Logger) {
  const of = <K extends MessageJob["kind"]>(kind: K) =>
    batch.messages.filter((m) => m.body.kind === kind) as Message<
      Extract<MessageJob, { kind: K }>
    >[];
  await Promise.all([
    attemptChannel(emailChannel, of("send"), env, log),
    attemptChannel(smsChannel, of("sms"), env, log),
    attemptChannel(callChannel, of("call"), env, log),
    ...of("task").map((m) => createOne(m, env, log)),
  ]);
}

/** Jobs that exhausted the queue's retries (the consumer kept throwing): recorded as failed, never lost. */
export async function handleMessageDeadLetters(batch: MessageBatch<MessageJob>, env: Env) {
  for (const msg of batch.messages) {
    const job = msg.body;
    if (job.kind === "send") {
      await deadLetterEmail(env, job);
    } else if (job.kind !== "task") {
      // A task row is one insert: a job that kept failing is re-sent by its enrollment.
      await deadLetterPhone(env, job);
    }
    msg.ack();
  }
}
