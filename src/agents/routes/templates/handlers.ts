// Agent template handlers: prompts and schemas are checked when saved, never first at run time.

import type { Db } from "../../../db/client";
import { readShardFor, regionOf, shardFor } from "../../../db/shards";
import { validateTemplate } from "../../../engine/templates";
import { DomainError, notFound, validationFailed } from "../../../ground/errors";
import { newId } from "../../../ground/ids";
import type { Handler } from "../../../http/openapi";
import { pageOf, toPage } from "../../../http/pagination";
import { getConnection } from "../../../messaging";
import { llmProviderOf } from "../../../providers/llm";
import { reopenGate } from "../../admission";
import { DEFAULT_POLICY, schemaProblems } from "../../rules";
import {
  type AgentTemplateRow,
  agentsUsingTemplate,
  deleteTemplate,
  getTemplate,
  insertTemplate,
  listTemplates,
  updateTemplate,
} from "../../store";
import type * as routes from "./routes";
import { agentTemplateJson } from "./schemas";

async function owned(db: Db, orgId: string, id: string) {
  const t = await getTemplate(db, orgId, id);
  if (!t) {
    throw notFound("Agent template");
  }
  return t;
}

/** The prompts parse, the schema is usable, the connection is one of the org's LLM connections. */
async function check(db: Db, t: AgentTemplateRow) {
  const problems = [
    ...validateTemplate({ text: t.prompt }).map((p) => ({ path: "prompt", message: p.message })),
    ...(t.system
      ? validateTemplate({ text: t.system }).map((p) => ({ path: "system", message: p.message }))
      : []),
    ...schemaProblems(t.outputSchema).map((p) => ({
      path: p.path ? `outputSchema.${p.path}` : "outputSchema",
      message: p.message,
    })),
  ];
  if (new TextEncoder().encode(JSON.stringify(t.outputSchema)).length > 32_768) {
    problems.push({ path: "outputSchema", message: "At most 32 KiB" });
  }
  if (t.connectionId) {
    const conn = await getConnection(db, t.orgId, t.connectionId);
    if (!conn || !llmProviderOf(conn.provider)) {
      problems.push({
        path: "model.connectionId",
        message: "Not one of this org's LLM connections (provider openai or anthropic)",
      });
    }
  }
  if (problems.length > 0) {
    throw validationFailed(
      problems,
      `The agent template is not usable: ${problems.map((p) => `${p.path}: ${p.message}`).join("; ")}`,
    );
  }
}

export const create: Handler<typeof routes.create> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const input = c.req.valid("json");
  const now = Date.now();
  const row: AgentTemplateRow = {
    // Its gate object lives in the org's jurisdiction: the id carries the region.
    id: newId("atp", now, await regionOf(c.env, c.get("orgId"))),
    orgId: c.get("orgId"),
    name: input.name,
    prompt: input.prompt,
    system: input.system ?? null,
    outputSchema: input.outputSchema,
    connectionId: input.model?.connectionId ?? null,
    model: input.model?.name ?? null,
    temperature: input.temperature ?? null,
    maxTokens: input.maxTokens ?? 1024,
    personalFields: input.personalFields ?? [],
    reasoningRetentionDays: input.reasoningRetentionDays ?? 7,
    policy: { ...DEFAULT_POLICY, ...input.executionPolicy },
    createdAt: now,
    updatedAt: now,
  };
  await check(db, row);
  await insertTemplate(db, row);
  return c.json(agentTemplateJson(row), 201);
};

export const list: Handler<typeof routes.list> = async (c) => {
  const page = toPage(c.req.valid("query"));
  const { data, nextCursor } = pageOf(
    await listTemplates(
      await readShardFor(c.env, c.get("orgId")),
      c.get("orgId"),
      page.limit,
      page.before,
    ),
    page,
  );
  return c.json({ data: data.map(agentTemplateJson), nextCursor }, 200);
};

export const get: Handler<typeof routes.get> = async (c) =>
  c.json(
    agentTemplateJson(
      await owned(await shardFor(c.env, c.get("orgId")), c.get("orgId"), c.req.valid("param").id),
    ),
    200,
  );

export const patch: Handler<typeof routes.patch> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const t = await owned(db, c.get("orgId"), c.req.valid("param").id);
  const input = c.req.valid("json");
  const next: AgentTemplateRow = {
    ...t,
    name: input.name ?? t.name,
    prompt: input.prompt ?? t.prompt,
    system: input.system !== undefined ? input.system : t.system,
    outputSchema: input.outputSchema ?? t.outputSchema,
    connectionId:
      input.model === null
        ? null
        : input.model?.connectionId !== undefined
          ? input.model.connectionId
          : t.connectionId,
    model:
      input.model === null ? null : input.model?.name !== undefined ? input.model.name : t.model,
    temperature: input.temperature !== undefined ? input.temperature : t.temperature,
    maxTokens: input.maxTokens ?? t.maxTokens,
    personalFields: input.personalFields ?? t.personalFields,
    reasoningRetentionDays: input.reasoningRetentionDays ?? t.reasoningRetentionDays,
    policy: { ...t.policy, ...input.executionPolicy },
    updatedAt: Date.now(),
  };
  await check(db, next);
  await updateTemplate(db, next);
  return c.json(agentTemplateJson(next), 200);
};

export const policy: Handler<typeof routes.policy> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const t = await owned(db, c.get("orgId"), c.req.valid("param").id);
  const next = { ...t, policy: { ...t.policy, ...c.req.valid("json") }, updatedAt: Date.now() };
  await updateTemplate(db, next);
  await reopenGate(c.env, db, t.orgId, { templateId: t.id }, next.policy);
  return c.json(agentTemplateJson(next), 200);
};

export const remove: Handler<typeof routes.remove> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const orgId = c.get("orgId");
  const t = await owned(db, orgId, c.req.valid("param").id);
  const users = await agentsUsingTemplate(db, orgId, t.id);
  if (users.length > 0) {
    throw new DomainError(
      "template_in_use",
      `Agents still run this template: ${users.map((n) => `"${n}"`).join(", ")}; delete them or move them to another template first`,
    );
  }
  await deleteTemplate(db, orgId, t.id);
  return c.body(null, 204);
};
