// The Worker: HTTP through the Hono app, one queue() routing by queue name to its consumer,
// email() for replies (Email Routing), the cron watchdog, and the Durable Object classes.

import { handleAgentBatch, handleAgentDeadLetters } from "./agents/consumers/executions";
import { buildReport, reportDeadLettered } from "./analytics/consumers/reports";
import { app } from "./app";
import { processImportChunk } from "./contacts/consumers/imports";
import {
  handleEventBatch,
  handleEventDeadLetters,
  type WorkJobHandlers,
} from "./events/consumers/events";
import { config } from "./ground/config";
import type { Env } from "./ground/env";
import { createLogger } from "./ground/log";
import { inUnit } from "./ground/metrics";
import {
  type AgentJob,
  type EventJob,
  type MessageJob,
  routeQueue,
  type WebhookJob,
} from "./ground/queues";
import { handleIncomingEmail } from "./messaging";
import { handleMessageBatch, handleMessageDeadLetters } from "./messaging/consumers/messages";
import { runWatchdog } from "./watchdog";
import { handleWebhookBatch, handleWebhookDeadLetters } from "./webhooks/consumers/deliveries";

export { AgentGateDO } from "./agents/objects/gate";
export { EnrollmentDO } from "./enrollments/object/enrollment";
export { MailboxDO } from "./messaging/objects/mailbox";

/** Import chunks and report builds ride the event queue; their wings consume them. */
const work: WorkJobHandlers = {
  importChunk: processImportChunk,
  buildReport: (env, job, log) => buildReport(env, job, log),
  reportDeadLettered,
};

async function consume(batch: MessageBatch, env: Env) {
  const log = createLogger({ queue: batch.queue }, config(env).logLevel);
  const route = routeQueue(batch.queue);
  if (!route) {
    log.error("message from an unknown queue");
    batch.retryAll();
    return;
  }
  if (route.kind === "message") {
    const messages = batch as MessageBatch<MessageJob>;
    return route.deadLetter
      ? handleMessageDeadLetters(messages, env)
      : handleMessageBatch(messages, env, log);
  }
  if (route.kind === "webhook") {
    const hooks = batch as MessageBatch<WebhookJob>;
    return route.deadLetter
      ? handleWebhookDeadLetters(hooks, env, log)
      : handleWebhookBatch(hooks, env, log);
  }
  if (route.kind === "agent") {
    const jobs = batch as MessageBatch<AgentJob>;
    return route.deadLetter
      ? handleAgentDeadLetters(jobs, env, log)
      : handleAgentBatch(jobs, env, log);
  }
  const events = batch as MessageBatch<EventJob>;
  return route.deadLetter
    ? handleEventDeadLetters(events, env, log, work)
    : handleEventBatch(events, env, log, work);
}

export default {
  fetch: (req, env, ctx) => inUnit("request", () => app.fetch(req, env, ctx)),
  queue: (batch, env, _ctx) => inUnit("queue", () => consume(batch, env)),
  email: async (message, env, _ctx) => {
    const log = createLogger({ email: "inbound" }, config(env).logLevel);
    // Counted with requests: mail is inbound traffic like them.
    await inUnit("request", () => handleIncomingEmail(message, env, log));
  },
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(
      inUnit("cron", () =>
        runWatchdog(env, createLogger({ cron: "watchdog" }, config(env).logLevel)),
      ),
    );
  },
} satisfies ExportedHandler<Env, unknown>;
