// Workflow handlers: every graph change is validated and saved as a new immutable version.
import { type Db, iso } from "../../../db/client";
import { readShardFor, shardFor } from "../../../db/shards";
import { dryRun } from "../../../engine/dry-run";
import { unknownConfigFields, validateGraph } from "../../../engine/graph";
import { stepCatalog } from "../../../engine/steps";
import type { StepDef, TransitionDef } from "../../../engine/types";
import {
  activeCounts,
  cancelWorkflowEnrollments,
  countActiveEnrollments,
} from "../../../enrollments";
import { DomainError, type ErrorDetail, notFound, validationFailed } from "../../../ground/errors";
import { newId } from "../../../ground/ids";
import type { Handler } from "../../../http/openapi";
import { cursorValue, encodeCursor, pageOf, toPage } from "../../../http/pagination";
import { existingTemplateIds, getTemplate } from "../../../messaging";
import { stopsOnReply } from "../../stop-on-reply";
import {
  ConcurrentEditError,
  chainOf,
  definitionOf,
  getWorkflow,
  insertWorkflow,
  listVersions,
  listWorkflows,
  saveWorkflow,
  softDeleteWorkflow,
  type WorkflowRow,
} from "../../store";
import type * as routes from "./routes";

type StepIn = {
  id?: string;
  type: string;
  name?: string;
  config: Record<string, unknown>;
  position?: { x: number; y: number };
  templateId?: string;
};
type TransitionIn = Omit<TransitionDef, "id"> & { id?: string };

export const workflowJson = (w: WorkflowRow) => ({
  id: w.id,
  name: w.name,
  description: w.description,
  status: w.status,
  trigger:
    w.triggerType === "event"
      ? { type: "event" as const, event: w.triggerEvent ?? "" }
      : { type: "manual" as const },
  allowReentry: w.allowReentry,
  exitOn: w.exitOn,
  stopOnReply: stopsOnReply(w),
  onAutoReply: w.onAutoReply ?? "ignore",
  timezone: w.timezone,
  sendWindow: w.sendWindow ?? null,
  callWindow: w.callWindow ?? null,
  requiredVariables: w.requiredVariables ?? [],
  category: w.category ?? "marketing",
  onCap: w.onCap ?? "defer",
  connectionPool: w.connectionPool ?? null,
  chain: chainOf(w),
  goal: w.goal ?? null,
  steps: w.steps,
  transitions: w.transitions,
  version: w.version,
  createdAt: iso(w.createdAt) as string,
  updatedAt: iso(w.updatedAt) as string,
});

const clean = <T extends object>(o: T) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

/**
 * Steps as sent → steps as stored: ids given, the `templateId` alias moved into the config, and
 * config fields the step type does not know refused (422 naming each) rather than dropped.
 */
function normalizeSteps(
  steps: StepIn[],
  now: number,
  at = (i: number) => `steps.${i}.`,
): StepDef[] {
  const problems: ErrorDetail[] = [];
  const out = steps.map((s, i) => {
    let config = s.config ?? {};
    if (s.templateId !== undefined) {
      if (s.type !== "send_email") {
        problems.push({
          path: `${at(i)}templateId`,
          message: "templateId is a shorthand for send_email steps only; put it in config",
        });
      } else if (config.templateId !== undefined && config.templateId !== s.templateId) {
        problems.push({
          path: `${at(i)}templateId`,
          message: "templateId and config.templateId differ; give one",
        });
      }
      config = { ...config, templateId: s.templateId };
    }
    problems.push(...unknownConfig(s.type, config, `${at(i)}config`));
    return clean({
      id: s.id ?? newId("stp", now),
      type: s.type,
      name: s.name,
      config,
      position: s.position,
    });
  });
  if (problems.length > 0) {
    throw validationFailed(problems);
  }
  return out;
}

const unknownConfig = (type: string, config: unknown, path: string): ErrorDetail[] =>
  unknownConfigFields(type, config).map((field) => ({
    path: `${path}.${field}`,
    message: `Unknown field "${field.split(".").pop()}" for a ${type} step`,
  }));

/** `status`, or its alias `enabled`; undefined when neither is given. */
function statusOf<S extends string>(input: { status?: S; enabled?: boolean }) {
  if (input.enabled === undefined) {
    return input.status;
  }
  const meant = input.enabled ? "active" : "paused";
  if (input.status !== undefined && input.status !== meant) {
    throw validationFailed([
      {
        path: "enabled",
        message: `enabled: ${input.enabled} means "${meant}" but status is "${input.status}"`,
      },
    ]);
  }
  return meant;
}

function normalizeTransitions(transitions: TransitionIn[], now: number): TransitionDef[] {
  return transitions.map((t) => clean({ ...t, id: t.id ?? newId("trn", now) }));
}

/** Steps linked in array order (an exit step links to nothing). */
function linkInOrder(steps: StepDef[], now: number): TransitionDef[] {
  const out: TransitionDef[] = [];
  for (let i = 0; i + 1 < steps.length; i++) {
    if (steps[i].type === "exit") {
      continue;
    }
    out.push({ id: newId("trn", now), from: steps[i].id, to: steps[i + 1].id });
  }
  return out;
}

async function assertValidGraph(
  db: Db,
  orgId: string,
  steps: StepDef[],
  transitions: TransitionDef[],
) {
  const templateIds = steps
    .map((s) => (s.config as { templateId?: unknown }).templateId)
    .filter((t): t is string => typeof t === "string");
  const problems = validateGraph(
    steps,
    transitions,
    await existingTemplateIds(db, orgId, templateIds),
  );
  if (problems.length > 0) {
    throw new DomainError("invalid_graph", problems[0].message, { details: problems });
  }
}

function assertCanActivate(w: Pick<WorkflowRow, "steps" | "status">) {
  if (w.status === "active" && (w.steps as unknown[]).length === 0) {
    throw new DomainError("invalid_graph", "A workflow needs at least one step to be active", {
      details: [{ path: "steps", message: "At least one step is required" }],
    });
  }
}

async function owned(db: Db, orgId: string, id: string) {
  const w = await getWorkflow(db, orgId, id);
  if (!w) {
    throw notFound("Workflow");
  }
  return w;
}

/** Validates and saves; a change of graph or definition settings becomes a new version. */
async function commit(db: Db, prev: WorkflowRow, next: WorkflowRow) {
  if (prev.status === "archived") {
    throw new DomainError("workflow_archived", "This workflow is archived and cannot be changed");
  }
  const graphChanged =
    JSON.stringify(prev.steps) !== JSON.stringify(next.steps) ||
    JSON.stringify(prev.transitions) !== JSON.stringify(next.transitions);
  if (graphChanged) {
    await assertValidGraph(db, prev.orgId, next.steps, next.transitions);
  }
  assertCanActivate(next);
  const newVersion =
    JSON.stringify(definitionOf(prev)) !==
    JSON.stringify({ ...definitionOf(next), version: prev.version });
  const saved = {
    ...next,
    version: newVersion ? prev.version + 1 : prev.version,
    updatedAt: Date.now(),
  };
  try {
    await saveWorkflow(db, prev.version, saved, newVersion);
  } catch (err) {
    if (err instanceof ConcurrentEditError) {
      throw new DomainError(
        "conflict",
        "The workflow was changed concurrently; fetch it and retry",
      );
    }
    throw err;
  }
  return saved;
}

export const stepTypes: Handler<typeof routes.stepTypes> = (c) => c.json(stepCatalog(), 200);

export const create: Handler<typeof routes.create> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const input = c.req.valid("json");
  const now = Date.now();
  const steps = normalizeSteps(input.steps, now);
  const transitions = input.transitions
    ? normalizeTransitions(input.transitions, now)
    : linkInOrder(steps, now);
  await assertValidGraph(db, c.get("orgId"), steps, transitions);
  const row: WorkflowRow = {
    id: newId("wf", now),
    orgId: c.get("orgId"),
    name: input.name,
    description: input.description ?? null,
    status: statusOf(input) ?? "draft",
    triggerType: input.trigger.type,
    triggerEvent: input.trigger.type === "event" ? input.trigger.event : null,
    allowReentry: input.allowReentry,
    exitOn: input.exitOn,
    stopOnReply: input.stopOnReply ?? null,
    onAutoReply: input.onAutoReply ?? null,
    timezone: input.timezone ?? null,
    sendWindow: input.sendWindow ?? null,
    callWindow: input.callWindow ?? null,
    requiredVariables: input.requiredVariables ?? null,
    chain: input.chain ?? null,
    category: input.category ?? null,
    onCap: input.onCap ?? null,
    connectionPool: input.connectionPool ?? null,
    goal: input.goal ?? null,
    goalEvent: input.goal?.event ?? null,
    steps,
    transitions,
    version: 1,
    deletedAt: null,
    createdAt: now,
    updatedAt: now,
  };
  assertCanActivate(row);
  await insertWorkflow(db, row);
  return c.json(workflowJson(row), 201);
};

export const list: Handler<typeof routes.list> = async (c) => {
  const q = c.req.valid("query");
  const page = toPage(q);
  const db = await readShardFor(c.env, c.get("orgId"));
  const { data, nextCursor } = pageOf(
    await listWorkflows(db, c.get("orgId"), q.status, page.limit, page.before),
    page,
  );
  if (q.withCounts !== "true") {
    return c.json({ data: data.map(workflowJson), nextCursor }, 200);
  }
  const active = await activeCounts(
    db,
    data.map((w) => w.id),
  );
  return c.json(
    {
      data: data.map((w) => ({ ...workflowJson(w), activeEnrollments: active.get(w.id) ?? 0 })),
      nextCursor,
    },
    200,
  );
};

export const get: Handler<typeof routes.get> = async (c) =>
  c.json(
    workflowJson(
      await owned(await shardFor(c.env, c.get("orgId")), c.get("orgId"), c.req.valid("param").id),
    ),
    200,
  );

export const patch: Handler<typeof routes.patch> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const prev = await owned(db, c.get("orgId"), c.req.valid("param").id);
  const input = c.req.valid("json");
  const now = Date.now();
  const next: WorkflowRow = { ...prev };
  if (input.name !== undefined) {
    next.name = input.name;
  }
  if (input.description !== undefined) {
    next.description = input.description;
  }
  if (input.trigger) {
    next.triggerType = input.trigger.type;
    next.triggerEvent = input.trigger.type === "event" ? input.trigger.event : null;
  }
  if (input.allowReentry !== undefined) {
    next.allowReentry = input.allowReentry;
  }
  if (input.exitOn !== undefined) {
    next.exitOn = input.exitOn;
  }
  if (input.stopOnReply !== undefined) {
    next.stopOnReply = input.stopOnReply;
  }
  if (input.onAutoReply !== undefined) {
    next.onAutoReply = input.onAutoReply;
  }
  if (input.timezone !== undefined) {
    next.timezone = input.timezone;
  }
  if (input.sendWindow !== undefined) {
    next.sendWindow = input.sendWindow;
  }
  if (input.callWindow !== undefined) {
    next.callWindow = input.callWindow;
  }
  if (input.requiredVariables !== undefined) {
    next.requiredVariables = input.requiredVariables;
  }
  if (input.chain !== undefined) {
    next.chain = input.chain;
  }
  if (input.category !== undefined) {
    next.category = input.category;
  }
  if (input.onCap !== undefined) {
    next.onCap = input.onCap;
  }
  if (input.connectionPool !== undefined) {
    next.connectionPool = input.connectionPool;
  }
  if (input.goal !== undefined) {
    next.goal = input.goal;
    next.goalEvent = input.goal?.event ?? null;
  }
  const status = statusOf(input);
  if (status !== undefined) {
    next.status = status;
  }
  if (input.steps !== undefined) {
    next.steps = normalizeSteps(input.steps, now);
    next.transitions = input.transitions
      ? normalizeTransitions(input.transitions, now)
      : linkInOrder(next.steps, now);
  } else if (input.transitions !== undefined) {
    next.transitions = normalizeTransitions(input.transitions, now);
  }
  return c.json(workflowJson(await commit(db, prev, next)), 200);
};

export const remove: Handler<typeof routes.remove> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const w = await owned(db, c.get("orgId"), c.req.valid("param").id);
  const active = await countActiveEnrollments(db, w.id);
  if (active > 0 && c.req.valid("query").force !== "true") {
    throw new DomainError(
      "workflow_has_active_enrollments",
      `${active} enrollments are still active; cancel them or delete with ?force=true`,
    );
  }
  if (active > 0) {
    await cancelWorkflowEnrollments(c.env, db, w.id, "workflow_deleted");
  }
  await softDeleteWorkflow(db, w.orgId, w.id);
  return c.body(null, 204);
};

export const addStep: Handler<typeof routes.addStep> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const prev = await owned(db, c.get("orgId"), c.req.valid("param").id);
  const { autoConnect, ...input } = c.req.valid("json");
  const now = Date.now();
  const steps = prev.steps;
  if (input.id && steps.some((s) => s.id === input.id)) {
    throw new DomainError("conflict", `Step "${input.id}" already exists`);
  }
  const [step] = normalizeSteps([input], now, () => "");
  const last = steps[steps.length - 1];
  const transitions = [...prev.transitions];
  if (autoConnect && last) {
    transitions.push({ id: newId("trn", now), from: last.id, to: step.id });
  }
  return c.json(
    workflowJson(await commit(db, prev, { ...prev, steps: [...steps, step], transitions })),
    201,
  );
};

export const patchStep: Handler<typeof routes.patchStep> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const { id, stepId } = c.req.valid("param");
  const prev = await owned(db, c.get("orgId"), id);
  const steps = prev.steps;
  const i = steps.findIndex((s) => s.id === stepId);
  if (i < 0) {
    throw notFound("Step");
  }
  const input = c.req.valid("json");
  if (input.config !== undefined) {
    const problems = unknownConfig(steps[i].type, input.config, "config");
    if (problems.length > 0) {
      throw validationFailed(problems);
    }
  }
  const nextSteps = steps.map((s, j) =>
    j === i
      ? clean({
          ...s,
          name: input.name ?? s.name,
          config: input.config ?? s.config,
          position: input.position ?? s.position,
        })
      : s,
  );
  return c.json(workflowJson(await commit(db, prev, { ...prev, steps: nextSteps })), 200);
};

export const deleteStep: Handler<typeof routes.deleteStep> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const { id, stepId } = c.req.valid("param");
  const prev = await owned(db, c.get("orgId"), id);
  const steps = prev.steps;
  if (!steps.some((s) => s.id === stepId)) {
    throw notFound("Step");
  }
  const transitions = prev.transitions.filter((t) => t.from !== stepId && t.to !== stepId);
  await commit(db, prev, { ...prev, steps: steps.filter((s) => s.id !== stepId), transitions });
  return c.body(null, 204);
};

export const addTransition: Handler<typeof routes.addTransition> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const prev = await owned(db, c.get("orgId"), c.req.valid("param").id);
  const transitions = prev.transitions;
  const [t] = normalizeTransitions([c.req.valid("json")], Date.now());
  if (transitions.some((x) => x.id === t.id)) {
    throw new DomainError("conflict", `Transition "${t.id}" already exists`);
  }
  return c.json(
    workflowJson(await commit(db, prev, { ...prev, transitions: [...transitions, t] })),
    201,
  );
};

export const deleteTransition: Handler<typeof routes.deleteTransition> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const { id, transitionId } = c.req.valid("param");
  const prev = await owned(db, c.get("orgId"), id);
  const transitions = prev.transitions;
  if (!transitions.some((t) => t.id === transitionId)) {
    throw notFound("Transition");
  }
  await commit(db, prev, {
    ...prev,
    transitions: transitions.filter((t) => t.id !== transitionId),
  });
  return c.body(null, 204);
};

export const versions: Handler<typeof routes.versions> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const w = await owned(db, c.get("orgId"), c.req.valid("param").id);
  const q = c.req.valid("query");
  const before = q.cursor ? Number(cursorValue(q.cursor, /^[1-9]\d{0,9}$/)) : undefined;
  const rows = await listVersions(db, w.id, q.limit, before);
  const more = rows.length > q.limit;
  const data = (more ? rows.slice(0, q.limit) : rows).map((v) => ({
    version: v.version,
    createdAt: iso(v.createdAt) as string,
    definition: { ...v.definition },
  }));
  const last = data[data.length - 1];
  return c.json(
    {
      data,
      nextCursor: more && last ? encodeCursor(String(last.version)) : null,
    },
    200,
  );
};

export const test: Handler<typeof routes.test> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const w = await owned(db, c.get("orgId"), c.req.valid("param").id);
  const input = c.req.valid("json");
  const subjects: Record<string, string> = {};
  for (const s of w.steps) {
    const templateId = (s.config as { templateId?: unknown }).templateId;
    if (typeof templateId === "string" && !(templateId in subjects)) {
      const t = await getTemplate(db, w.orgId, templateId);
      subjects[templateId] = t?.subject ?? templateId;
    }
  }
  const result = dryRun(definitionOf(w), {
    profile: input.fixtureProfile,
    sampleData: input.sampleData,
    variables: input.variables,
    startAt: input.startAt ? Date.parse(input.startAt) : Date.now(),
    timezone: input.timezone ?? w.timezone ?? "UTC",
    templateSubjects: subjects,
  });
  if (result.error?.code === "template_limit_exceeded") {
    const step = result.trace.at(-1)?.stepId;
    throw new DomainError("validation_failed", result.error.message, {
      details: [{ path: step ? `steps.${step}` : "steps", message: result.error.message }],
    });
  }
  return c.json(
    {
      testFixtureProfile: input.fixtureProfile,
      sampleData: result.sampleData,
      trace: result.trace,
      finalStatus: result.finalStatus,
    },
    200,
  );
};
