// Admission: which gate (AgentGateDO) governs an agent's executions, under which policy and in
// which time zone its days are counted; a policy change reopens the gate.

import { reportingZone } from "../analytics";
import type { Db } from "../db/client";
import type { Env } from "../ground/env";
import { objectNamed } from "../ground/objects";
import { DEFAULT_POLICY, type ExecutionPolicy } from "./rules";
import { type AgentRow, getTemplate } from "./store";

/** Template agents share their template's gate (its policy); others have their own. */
const gateName = (agent: AgentRow) =>
  agent.type === "template" && agent.templateId
    ? `template:${agent.templateId}`
    : `agent:${agent.id}`;

export const gateOf = (env: Env, agent: AgentRow) => gateNamed(env, gateName(agent));

/** The gate of a template's own policy: its agents' executions and its calls for others. */
export const templateGate = (env: Env, templateId: string) =>
  gateNamed(env, `template:${templateId}`);

/** Whether the agent's executions are admitted by this template's gate already. */
export const gatedBy = (agent: AgentRow, templateId: string) =>
  gateName(agent) === `template:${templateId}`;

/** A gate is named after its agent's or template's id: the id's region mark places it. */
const gateNamed = (env: Env, name: string) => objectNamed(env, env.AGENT_GATE, name);

/** After a policy change: executions waiting at the gate get the slots the new policy frees. */
export async function reopenGate(
  env: Env,
  db: Db,
  orgId: string,
  gate: { templateId: string } | { agentId: string },
  policy: ExecutionPolicy,
) {
  const name = "templateId" in gate ? `template:${gate.templateId}` : `agent:${gate.agentId}`;
  await gateNamed(env, name).release(orgId, null, 0, policy, await reportingZone(db, orgId));
}

/** The policy that governs the agent's executions, and the zone its days are counted in. */
export async function policyOf(db: Db, agent: AgentRow) {
  const [template, tz] = await Promise.all([
    agent.type === "template" && agent.templateId
      ? getTemplate(db, agent.orgId, agent.templateId)
      : undefined,
    reportingZone(db, agent.orgId),
  ]);
  return { policy: template?.policy ?? agent.policy ?? DEFAULT_POLICY, tz, template };
}
