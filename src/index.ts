// The Worker: HTTP through the Hono app, one queue() switching on the queue name, the cron
// watchdog, and the Durable Object class.
import { app } from "./app";
import { type EmailJob, handleEmailBatch, handleEmailDeadLetters } from "./delivery/email";
import { type EventJob, handleEventBatch, handleEventDeadLetters } from "./delivery/events";
import { handleWebhookBatch, handleWebhookDeadLetters, type WebhookJob } from "./delivery/webhooks";
import type { Env } from "./env";
import { runWatchdog } from "./watchdog";

export { EnrollmentDO } from "../durable-objects/enrollment";

export default {
  fetch: (req, env, ctx) => app.fetch(req, env, ctx),

  async queue(batch, env) {
    // Queue names may carry an environment suffix in production (nudge-email-staging).
    const name = batch.queue.replace(/-(staging|production|dev)$/, "");
    switch (name) {
      case "nudge-email":
        return handleEmailBatch(batch as MessageBatch<EmailJob>, env);
      case "nudge-webhook":
        return handleWebhookBatch(batch as MessageBatch<WebhookJob>, env);
      case "nudge-event":
        return handleEventBatch(batch as MessageBatch<EventJob>, env);
      case "nudge-email-dlq":
        return handleEmailDeadLetters(batch as MessageBatch<EmailJob>, env);
      case "nudge-webhook-dlq":
        return handleWebhookDeadLetters(batch as MessageBatch<WebhookJob>, env);
      case "nudge-event-dlq":
        return handleEventDeadLetters(batch as MessageBatch<EventJob>);
      default:
        console.error(JSON.stringify({ level: "error", msg: "message from an unknown queue", queue: batch.queue }));
        batch.retryAll();
    }
  },

  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(runWatchdog(env));
  },
} satisfies ExportedHandler<Env, unknown>;
