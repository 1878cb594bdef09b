// Turns an enrollment's effects into queue jobs and sends them, batched (≤100 per sendBatch).
// Every job names the enrollment and effect key it came from, so its consumer can confirm
// it (EnrollmentDO.ackEffects) once the effect is durably recorded or done.
import type { Effect, EnrollmentState, WorkflowDefinition } from "../engine/types";
import type { Env } from "../env";
import type { EmailJob } from "./email";
import { outboundEvent, type WebhookJob } from "./webhooks";

export type EffectJob = { key: string; queue: "email"; body: EmailJob } | { key: string; queue: "webhook"; body: WebhookJob };

export async function jobsFor(state: EnrollmentState, def: WorkflowDefinition, effects: Effect[]): Promise<EffectJob[]> {
  const jobs: EffectJob[] = [];
  for (const e of effects) {
    if (e.type === "send_email") {
      jobs.push({
        key: e.key,
        queue: "email",
        body: {
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
        },
      });
    } else if (e.type === "webhook") {
      jobs.push({
        key: e.key,
        queue: "webhook",
        body: { kind: "call", key: e.key, orgId: state.orgId, enrollmentId: state.id, stepId: e.stepId, request: e.request },
      });
    } else if (e.type === "emit") {
      const event = await outboundEvent(e.eventType, e.data, e.key);
      jobs.push({ key: e.key, queue: "webhook", body: { kind: "publish", orgId: state.orgId, event, origin: { enrollmentId: state.id, key: e.key } } });
    }
  }
  return jobs;
}

async function sendAll<T>(queue: Queue<T>, bodies: T[]) {
  for (let i = 0; i < bodies.length; i += 100) {
    await queue.sendBatch(bodies.slice(i, i + 100).map((body) => ({ body })));
  }
}

export async function sendJobs(env: Env, jobs: EffectJob[]) {
  const emails = jobs.flatMap((j) => (j.queue === "email" ? [j.body] : []));
  const hooks = jobs.flatMap((j) => (j.queue === "webhook" ? [j.body] : []));
  if (emails.length) await sendAll(env.EMAIL_QUEUE, emails);
  if (hooks.length) await sendAll(env.WEBHOOK_QUEUE, hooks);
}
