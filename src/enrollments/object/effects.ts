// An enrollment's effects as queue jobs. Every job names the enrollment and effect key it came
// from, so its consumer can confirm it (ackEffects) once the effect is durably recorded or done.

import type { Effect, EnrollmentState, WorkflowDefinition } from "../../engine/types";
import type { Env } from "../../ground/env";
import type { Logger } from "../../ground/log";
import type { AgentJob, MessageJob, WebhookJob } from "../../ground/queues";
import { sendInSlices } from "../../ground/retry";
import { outboundEvent } from "../../webhooks";

export type EffectJob =
  | { key: string; queue: "message"; body: MessageJob }
  | { key: string; queue: "webhook"; body: WebhookJob }
  | { key: string; queue: "agent"; body: AgentJob };

type Builder<T extends Effect["type"]> = (
  e: Extract<Effect, { type: T }>,
  state: EnrollmentState,
  def: WorkflowDefinition,
) => Promise<EffectJob | null>;

/** How each kind of effect leaves the object. update_contact leaves through the mirror instead. */
const BUILDERS: { [T in Effect["type"]]: Builder<T> } = {
  send_email: async (e, state, def) => ({
    key: e.key,
    queue: "message",
    body: {
      kind: "send",
      ...origin(e, state, def),
      config: e.config,
      vars: state.vars,
      event: state.event,
    },
  }),
  webhook: async (e, state) => ({
    key: e.key,
    queue: "webhook",
    body: {
      kind: "call",
      key: e.key,
      orgId: state.orgId,
      enrollmentId: state.id,
      stepId: e.stepId,
      request: e.request,
      trace: e.key,
    },
  }),
  emit: async (e, state) => ({
    key: e.key,
    queue: "webhook",
    body: {
      kind: "publish",
      orgId: state.orgId,
      event: await outboundEvent(e.eventType, e.data, e.key),
      origin: { enrollmentId: state.id, key: e.key },
      trace: e.key,
    },
  }),
  update_contact: async () => null,
  send_sms: async (e, state, def) => ({
    key: e.key,
    queue: "message",
    body: {
      kind: "sms",
      ...origin(e, state, def),
      body: e.body,
      category: e.category,
      ...(e.topic ? { topic: e.topic } : {}),
      ...(e.connectionId ? { connectionId: e.connectionId } : {}),
      ...(e.onError ? { onError: e.onError } : {}),
    },
  }),
  place_call: async (e, state, def) => ({
    key: e.key,
    queue: "message",
    body: { kind: "call", ...origin(e, state, def), config: e.config, vars: state.vars },
  }),
  run_agent: async (e, state) => ({
    key: e.key,
    queue: "agent",
    body: {
      kind: "step",
      key: e.key,
      orgId: state.orgId,
      enrollmentId: state.id,
      stepId: e.stepId,
      agentId: e.agentId,
      mode: e.mode,
      input: e.input,
      trace: e.key,
    },
  }),
  create_task: async (e, state, def) => ({
    key: e.key,
    queue: "message",
    body: { kind: "task", ...origin(e, state, def), task: e.task },
  }),
};

/** Where an outreach job comes from: its effect, enrollment, workflow, step and contact (its key traces it). */
const origin = (
  e: { key: string; stepId: string },
  state: EnrollmentState,
  def: WorkflowDefinition,
) => ({
  key: e.key,
  orgId: state.orgId,
  enrollmentId: state.id,
  workflowId: state.workflowId,
  workflowName: def.name,
  stepId: e.stepId,
  contactId: state.contactId,
  trace: e.key,
});

export async function jobsFor(
  state: EnrollmentState,
  def: WorkflowDefinition,
  effects: Effect[],
): Promise<EffectJob[]> {
  const jobs = await Promise.all(
    effects.map((e) => (BUILDERS[e.type] as Builder<typeof e.type>)(e, state, def)),
  );
  return jobs.filter((j): j is EffectJob => j !== null);
}

/** Hands jobs to their queues; each handed-over job is logged under its trace (its effect key). */
export async function sendJobs(env: Env, jobs: EffectJob[], log: Logger) {
  await sendInSlices(
    env.MESSAGE_QUEUE,
    jobs.flatMap((j) => (j.queue === "message" ? [j.body] : [])),
  );
  await sendInSlices(
    env.WEBHOOK_QUEUE,
    jobs.flatMap((j) => (j.queue === "webhook" ? [j.body] : [])),
  );
  await sendInSlices(
    env.AGENT_QUEUE,
    jobs.flatMap((j) => (j.queue === "agent" ? [j.body] : [])),
  );
  for (const j of jobs) {
    log.info("effect queued", { trace: j.body.trace ?? j.key, queue: j.queue, kind: j.body.kind });
  }
}
