// Enrollment handlers: create (single and bulk), read (with timeline and messages), cancel, funnel and stats.
import { type Db, database } from "../../db/client";
import { type ContactRow, getContact } from "../../db/contacts";
import {
  deleteEnrollmentRow,
  funnelRows,
  getEnrollment,
  listEnrollments,
  statusTotals,
  stepStatsFor,
} from "../../db/enrollments";
import { emailStatsByStep, messagesOfEnrollment } from "../../db/messages";
import { getWorkflow, type WorkflowRow } from "../../db/workflows";
import { ContactInput, resolveContact, saveContact } from "../../domain/contacts";
import {
  cancelEnrollment,
  cancelWorkflowEnrollments,
  type EnrollOutcome,
  enroll,
  enrollmentStub,
  snapshotOf,
} from "../../domain/enrollments";
import type { Env } from "../../ground/env";
import type { Logger } from "../../ground/log";
import { ApiError, detailsLine, notFound, zodDetails } from "../../http/errors";
import type { Handler } from "../../http/openapi";
import { pageOf, toPage } from "../../http/pagination";
import { messageJson } from "../messages/schemas";
import type * as routes from "./routes";
import { enrollmentJson, logJson } from "./schemas";

const EMAIL_STATS = [
  "sent",
  "delivered",
  "opened",
  "uniqueOpened",
  "clicked",
  "uniqueClicked",
  "bounced",
  "complained",
  "unsubscribed",
  "suppressed",
  "failed",
  "machineOpened",
  "machineClicked",
] as const;

async function ownedWorkflow(db: Db, orgId: string, id: string) {
  const w = await getWorkflow(db, orgId, id);
  if (!w) {
    throw notFound("Workflow");
  }
  return w;
}

async function ownedEnrollment(db: Db, orgId: string, id: string) {
  const e = await getEnrollment(db, orgId, id);
  if (!e) {
    throw notFound("Enrollment");
  }
  return e;
}

function refuse(r: Extract<EnrollOutcome, { ok: false }>): never {
  throw new ApiError(r.code, r.message);
}

function assertEnrollable(w: WorkflowRow) {
  if (w.status === "archived") {
    throw new ApiError("workflow_archived", "The workflow is archived");
  }
  if (w.status !== "active") {
    throw new ApiError(
      "workflow_not_active",
      `The workflow is ${w.status}; activate it to enroll contacts`,
    );
  }
}

type BulkRow = {
  index: number;
  contactId?: string;
  enrollmentId?: string;
  status: "enrolled" | "skipped" | "invalid";
  reason?: string;
};

async function bulkRow(
  env: Env,
  log: Logger,
  db: Db,
  orgId: string,
  workflow: WorkflowRow,
  item: unknown,
  index: number,
  byId: boolean,
  shared: { variables?: Record<string, unknown>; timezone?: string },
): Promise<BulkRow> {
  let contactId: string | undefined;
  try {
    let contact: ContactRow | undefined;
    if (byId) {
      if (typeof item !== "string" || item.length === 0 || item.length > 100) {
        return {
          index,
          status: "invalid",
          reason: "Each contactIds entry must be a contact id string",
        };
      }
      contactId = item;
      contact = await getContact(db, orgId, item);
      if (!contact || contact.erasedAt) {
        return { index, contactId, status: "invalid", reason: "Contact not found" };
      }
    } else {
      const parsed = ContactInput.safeParse(item);
      if (!parsed.success) {
        return {
          index,
          status: "invalid",
          reason: detailsLine(zodDetails(parsed.error), "contact"),
        };
      }
      contact = (await saveContact(env, db, orgId, parsed.data)).contact;
      contactId = contact.id;
    }
    const r = await enroll(
      env,
      db,
      { workflow, contact, variables: shared.variables, timezone: shared.timezone },
      log,
    );
    if (r.ok) {
      return { index, contactId, enrollmentId: r.enrollment.id, status: "enrolled" };
    }
    return { index, contactId, status: "skipped", reason: r.code };
  } catch (err) {
    if (err instanceof ApiError) {
      return { index, contactId, status: "invalid", reason: err.message };
    }
    throw err;
  }
}

export const create: Handler<typeof routes.create> = async (c) => {
  const db = database(c.env.DB);
  const orgId = c.get("orgId");
  const body = c.req.valid("json");
  const workflow = await ownedWorkflow(db, orgId, body.workflowId);
  assertEnrollable(workflow);
  const contact = body.contactId
    ? await resolveContact(c.env, db, orgId, { id: body.contactId })
    : (await saveContact(c.env, db, orgId, body.contact ?? {})).contact;
  const r = await enroll(
    c.env,
    db,
    {
      workflow,
      contact,
      variables: body.variables,
      timezone: body.timezone,
      scheduledAt: body.scheduledAt ? Date.parse(body.scheduledAt) : undefined,
      bypassSendWindow: body.bypassSendWindow,
    },
    c.get("log"),
  );
  if (!r.ok) {
    refuse(r);
  }
  return c.json(enrollmentJson(r.enrollment), 201);
};

export const bulk: Handler<typeof routes.bulk> = async (c) => {
  const db = database(c.env.DB);
  const orgId = c.get("orgId");
  const raw = c.req.valid("json");
  const { enrollment: wrapped, ...top } = raw;
  const body = wrapped ? { ...top, ...wrapped } : top;
  const byId = Array.isArray(body.contactIds);
  const items = byId ? (body.contactIds as unknown[]) : body.contacts;
  if (items === undefined || items === null) {
    throw new ApiError("contacts_required", "Send `contacts` (objects) or `contactIds` (strings)");
  }
  if (!Array.isArray(items)) {
    throw new ApiError("contacts_required", "`contacts` must be an array");
  }
  if (items.length === 0) {
    throw new ApiError("contacts_empty", "The contacts array is empty");
  }
  if (items.length > 100) {
    throw new ApiError(
      "too_many_contacts",
      `At most 100 contacts per request (got ${items.length}); use POST /v1/imports for more`,
    );
  }
  if (typeof body.workflowId !== "string") {
    throw new ApiError("validation_failed", "workflowId is required", {
      details: [{ path: "workflowId", message: "Required" }],
    });
  }
  const workflow = await ownedWorkflow(db, orgId, body.workflowId);
  assertEnrollable(workflow);
  const results: BulkRow[] = [];
  for (let i = 0; i < items.length; i += 10) {
    const slice = items.slice(i, i + 10);
    results.push(
      ...(await Promise.all(
        slice.map((item, j) =>
          bulkRow(c.env, c.get("log"), db, orgId, workflow, item, i + j, byId, body),
        ),
      )),
    );
  }
  const createdCount = results.filter((r) => r.status === "enrolled").length;
  const skippedCount = results.length - createdCount;
  if (createdCount === 0) {
    throw new ApiError("no_enrollments_created", "No enrollment was created; see results", {
      extra: { results, createdCount, skippedCount },
    });
  }
  return c.json({ results, createdCount, skippedCount }, 201);
};

export const list: Handler<typeof routes.list> = async (c) => {
  const q = c.req.valid("query");
  const page = toPage(q);
  const { data, nextCursor } = pageOf(
    await listEnrollments(database(c.env.DB), c.get("orgId"), q, page.limit, page.before),
    page,
  );
  return c.json({ data: data.map(enrollmentJson), nextCursor }, 200);
};

export const get: Handler<typeof routes.get> = async (c) => {
  const db = database(c.env.DB);
  const e = await ownedEnrollment(db, c.get("orgId"), c.req.valid("param").id);
  const [snap, msgs] = await Promise.all([snapshotOf(c.env, e.id), messagesOfEnrollment(db, e.id)]);
  return c.json(
    {
      ...enrollmentJson(e),
      timeline: (snap?.logs ?? []).map(logJson),
      messages: msgs.map(messageJson),
    },
    200,
  );
};

export const logs: Handler<typeof routes.logs> = async (c) => {
  const e = await ownedEnrollment(database(c.env.DB), c.get("orgId"), c.req.valid("param").id);
  const snap = await snapshotOf(c.env, e.id);
  return c.json((snap?.logs ?? []).map(logJson), 200);
};

export const cancel: Handler<typeof routes.cancel> = async (c) => {
  const db = database(c.env.DB);
  const e = await ownedEnrollment(db, c.get("orgId"), c.req.valid("param").id);
  if (e.status === "running" || e.status === "waiting") {
    await cancelEnrollment(c.env, db, e.id, "cancelled_by_api");
  }
  return c.json(enrollmentJson(await ownedEnrollment(db, e.orgId, e.id)), 200);
};

export const remove: Handler<typeof routes.remove> = async (c) => {
  const db = database(c.env.DB);
  const e = await ownedEnrollment(db, c.get("orgId"), c.req.valid("param").id);
  await enrollmentStub(c.env, e.id).destroy();
  await deleteEnrollmentRow(db, e.orgId, e.id);
  return c.body(null, 204);
};

export const ofWorkflow: Handler<typeof routes.ofWorkflow> = async (c) => {
  const db = database(c.env.DB);
  const w = await ownedWorkflow(db, c.get("orgId"), c.req.valid("param").id);
  const q = c.req.valid("query");
  const page = toPage(q);
  const now = Date.now();
  const [rows, funnel, totals] = await Promise.all([
    listEnrollments(db, w.orgId, { workflowId: w.id, status: q.status }, page.limit, page.before),
    funnelRows(db, w.id, now),
    statusTotals(db, w.id),
  ]);
  const byStep = new Map(funnel.map((f) => [f.stepId, f]));
  const steps = w.steps.map((s) => {
    const f = byStep.get(s.id);
    const active = Number(f?.active ?? 0);
    const waiting = Number(f?.waiting ?? 0);
    return {
      stepId: s.id,
      name: s.name ?? s.id,
      type: s.type,
      active,
      waiting,
      running: active - waiting,
    };
  });
  const n = (status: string) => Number(totals.find((t) => t.status === status)?.n ?? 0);
  const { data, nextCursor } = pageOf(rows, page);
  return c.json(
    {
      data: data.map(enrollmentJson),
      nextCursor,
      stepFunnel: {
        steps,
        totals: {
          active: n("running") + n("waiting"),
          completed: n("completed"),
          failed: n("failed"),
          cancelled: n("cancelled"),
          total: totals.reduce((s, t) => s + Number(t.n), 0),
        },
      },
    },
    200,
  );
};

export const cancelAll: Handler<typeof routes.cancelAll> = async (c) => {
  const db = database(c.env.DB);
  const w = await ownedWorkflow(db, c.get("orgId"), c.req.valid("param").id);
  return c.json(
    { cancelled: await cancelWorkflowEnrollments(c.env, db, w.id, "cancelled_by_api") },
    200,
  );
};

export const stats: Handler<typeof routes.stats> = async (c) => {
  const db = database(c.env.DB);
  const w = await ownedWorkflow(db, c.get("orgId"), c.req.valid("param").id);
  const [counters, email] = await Promise.all([stepStatsFor(db, w.id), emailStatsByStep(db, w.id)]);
  const byStep = new Map(counters.map((s) => [s.stepId, s]));
  const emailBy = new Map(email.map((e) => [e.stepId, e]));
  const num = (v: unknown) => Number(v ?? 0);
  const steps = w.steps.map((s) => {
    const k = byStep.get(s.id);
    const e = emailBy.get(s.id);
    return {
      stepId: s.id,
      name: s.name ?? s.id,
      type: s.type,
      entered: k?.entered ?? 0,
      completed: k?.completed ?? 0,
      failed: k?.failed ?? 0,
      ...(s.type === "send_email"
        ? {
            email: Object.fromEntries(EMAIL_STATS.map((k) => [k, num(e?.[k])])) as Record<
              (typeof EMAIL_STATS)[number],
              number
            >,
          }
        : {}),
    };
  });
  return c.json({ workflowId: w.id, steps }, 200);
};

export const ofContact: Handler<typeof routes.ofContact> = async (c) => {
  const db = database(c.env.DB);
  const contact = await getContact(db, c.get("orgId"), c.req.valid("param").id);
  if (!contact || contact.erasedAt) {
    throw notFound("Contact");
  }
  const page = toPage(c.req.valid("query"));
  const { data, nextCursor } = pageOf(
    await listEnrollments(db, contact.orgId, { contactId: contact.id }, page.limit, page.before),
    page,
  );
  return c.json({ data: data.map(enrollmentJson), nextCursor }, 200);
};
