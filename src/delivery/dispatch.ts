// Hands an enrollment's effects to the queues, batched (≤100 per sendBatch).
import type { Effect, EnrollmentState, WorkflowDefinition } from "../engine/types";
import type { Env } from "../env";
import type { EmailJob } from "./email";
import { outboundEvent, type WebhookJob } from "./webhooks";

async function sendAll<T>(queue: Queue<T>, bodies: T[]) {
  for (let i = 0; i < bodies.length; i += 100) {
    await queue.sendBatch(bodies.slice(i, i + 100).map((body) => ({ body })));
  }
}

export async function dispatchEffects(env: Env, state: EnrollmentState, def: WorkflowDefinition, effects: Effect[]) {
  const emails: EmailJob[] = [];
  const hooks: WebhookJob[] = [];
  for (const e of effects) {
    if (e.type === "send_email") {
      emails.push({
        kind: "send",
        key: e.key,
        orgId: state.orgId,
        enrollmentId: state.id,
        workflowId: state.workflowId,
        workflowName: def.name,
        stepId: e.stepId,
        contactId: state.contactId,
        config: e.config,
        vars: state.vars,
        event: state.event,
      });
    } else if (e.type === "webhook") {
      hooks.push({ kind: "call", key: e.key, orgId: state.orgId, enrollmentId: state.id, stepId: e.stepId, request: e.request });
    } else if (e.type === "emit") {
      hooks.push({ kind: "publish", orgId: state.orgId, event: await outboundEvent(e.eventType, e.data, e.key) });
    }
  }
  if (emails.length) await sendAll(env.EMAIL_QUEUE, emails);
  if (hooks.length) await sendAll(env.WEBHOOK_QUEUE, hooks);
}
