// The Worker: HTTP through the Hono app, one queue() routing on the queue name, the cron
// watchdog, and the Durable Object class.
import { app } from "./app";
import { type EmailJob, handleEmailBatch, handleEmailDeadLetters } from "./delivery/email";
import { type EventJob, handleEventBatch, handleEventDeadLetters } from "./delivery/events";
import { handleWebhookBatch, handleWebhookDeadLetters, type WebhookJob } from "./delivery/webhooks";
import type { Env } from "./env";
import { inUnit } from "./metrics";
import { runWatchdog } from "./watchdog";

export { EnrollmentDO } from "../durable-objects/enrollment";

export interface QueueRoute {
  kind: "email" | "webhook" | "event";
  deadLetter: boolean;
}

/**
 * Which consumer a queue feeds, by its name: `nudge-<kind>`, optionally sharded (`-<n>`), a
 * dead-letter queue (`-dlq`, before or after the shard number), and an environment suffix
 * (`-staging`, `-production`, `-dev`). Null for a name that is none of these.
 */
export function routeQueue(name: string): QueueRoute | null {
  const m = /^nudge-(email|webhook|event)(?:-\d+)?(-dlq)?(?:-\d+)?(?:-(?:staging|production|dev))?$/.exec(name);
  return m ? { kind: m[1] as QueueRoute["kind"], deadLetter: m[2] !== undefined } : null;
}

async function consume(batch: MessageBatch, env: Env) {
  const route = routeQueue(batch.queue);
  if (!route) {
    console.error(JSON.stringify({ level: "error", msg: "message from an unknown queue", queue: batch.queue }));
    batch.retryAll();
    return;
  }
  if (route.kind === "email") {
    return route.deadLetter ? handleEmailDeadLetters(batch as MessageBatch<EmailJob>, env) : handleEmailBatch(batch as MessageBatch<EmailJob>, env);
  }
  if (route.kind === "webhook") {
    return route.deadLetter ? handleWebhookDeadLetters(batch as MessageBatch<WebhookJob>, env) : handleWebhookBatch(batch as MessageBatch<WebhookJob>, env);
  }
  return route.deadLetter ? handleEventDeadLetters(batch as MessageBatch<EventJob>) : handleEventBatch(batch as MessageBatch<EventJob>, env);
}

export default {
  fetch: (req, env, ctx) => inUnit("request", () => app.fetch(req, env, ctx)),
  queue: (batch, env, _ctx) => inUnit("queue", () => consume(batch, env)),
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(inUnit("cron", () => runWatchdog(env)));
  },
} satisfies ExportedHandler<Env, unknown>;
