// Enrollment handlers: create (single and bulk), read (with timeline and messages), cancel, funnel and stats.

import { stepTotals } from "../../../analytics";
import {
  ContactInput,
  type ContactRow,
  getContact,
  getContacts,
  resolveContact,
  saveContact,
  saveContacts,
} from "../../../contacts";
import type { Db } from "../../../db/client";
import { readShardFor, shardFor } from "../../../db/shards";
import type { Env } from "../../../ground/env";
import { DomainError, detailsLine, notFound, zodDetails } from "../../../ground/errors";
import { Memo } from "../../../ground/memo";
import { knownError } from "../../../http/errors";
import type { Handler } from "../../../http/openapi";
import { pageOf, toPage } from "../../../http/pagination";
import {
  emailStatsByStep,
  messagesOfEnrollment,
  phoneStatsByStep,
  taskStatsByStep,
} from "../../../messaging";
import { messageJson } from "../../../messaging/routes/messages/schemas";
import { getWorkflow, type WorkflowRow } from "../../../workflows";
import {
  cancelEnrollment,
  cancelWorkflowEnrollments,
  type EnrollOutcome,
  enroll,
  enrollMany,
  enrollmentStub,
  snapshotOf,
  withLiveState,
} from "../../enrollments";
import {
  deleteEnrollmentRow,
  funnelRows,
  getEnrollment,
  listEnrollments,
  statusTotals,
} from "../../store";
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
  "replied",
  "autoReplied",
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
  throw new DomainError(r.code, r.message, {
    ...(r.missing
      ? { details: r.missing.map((name) => ({ path: `variables.${name}`, message: "Required" })) }
      : {}),
  });
}

function assertEnrollable(w: WorkflowRow) {
  if (w.status === "archived") {
    throw new DomainError("workflow_archived", "The workflow is archived");
  }
  if (w.status !== "active") {
    throw new DomainError(
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

/** The contacts a bulk call names: by id (read in one query) or as objects (upserted together). */
async function bulkContacts(
  env: Env,
  db: Db,
  orgId: string,
  items: unknown[],
  byId: boolean,
  memo: Memo,
): Promise<(ContactRow | BulkRow)[]> {
  if (byId) {
    const ids = items.filter(
      (x): x is string => typeof x === "string" && x.length > 0 && x.length <= 100,
    );
    const found = new Map((await getContacts(db, orgId, ids)).map((c) => [c.id, c]));
    return items.map((item, index) => {
      if (typeof item !== "string" || item.length === 0 || item.length > 100) {
        return {
          index,
          status: "invalid",
          reason: "Each contactIds entry must be a contact id string",
        };
      }
      const c = found.get(item);
      return c && !c.erasedAt
        ? c
        : { index, contactId: item, status: "invalid", reason: "Contact not found" };
    });
  }
  const parsed = items.map((item) => ContactInput.safeParse(item));
  const valid = parsed.flatMap((p, index) => (p.success ? [{ index, input: p.data }] : []));
  const saved = await saveContacts(
    env,
    db,
    orgId,
    valid.map((v) => v.input),
    memo,
  );
  const out: (ContactRow | BulkRow)[] = parsed.map((p, index) =>
    p.success
      ? { index, status: "invalid" }
      : { index, status: "invalid", reason: detailsLine(zodDetails(p.error), "contact") },
  );
  valid.forEach((v, j) => {
    const r = saved[j];
    out[v.index] =
      r instanceof Error
        ? { index: v.index, status: "invalid", reason: errorMessageOf(r) }
        : r.contact;
  });
  return out;
}

/** What a row's failure tells the caller: our errors' and quotas' messages, else a generic line. */
const errorMessageOf = (err: Error) => knownError(err)?.message ?? "The contact could not be saved";

export const create: Handler<typeof routes.create> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
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
      bypassCallWindow: body.bypassCallWindow,
      groupBy: body.groupBy,
    },
    c.get("log"),
  );
  if (!r.ok) {
    refuse(r);
  }
  return c.json(enrollmentJson(r.enrollment), 201);
};

export const bulk: Handler<typeof routes.bulk> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const orgId = c.get("orgId");
  const raw = c.req.valid("json");
  const { enrollment: wrapped, ...top } = raw;
  const body = wrapped ? { ...top, ...wrapped } : top;
  const byId = Array.isArray(body.contactIds);
  const items = byId ? (body.contactIds as unknown[]) : body.contacts;
  if (items === undefined || items === null) {
    throw new DomainError(
      "contacts_required",
      "Send `contacts` (objects) or `contactIds` (strings)",
    );
  }
  if (!Array.isArray(items)) {
    throw new DomainError("contacts_required", "`contacts` must be an array");
  }
  if (items.length === 0) {
    throw new DomainError("contacts_empty", "The contacts array is empty");
  }
  if (items.length > 100) {
    throw new DomainError(
      "too_many_contacts",
      `At most 100 contacts per request (got ${items.length}); use POST /v1/imports for more`,
    );
  }
  if (typeof body.workflowId !== "string") {
    throw new DomainError("validation_failed", "workflowId is required", {
      details: [{ path: "workflowId", message: "Required" }],
    });
  }
  const workflow = await ownedWorkflow(db, orgId, body.workflowId);
  assertEnrollable(workflow);
  const memo = new Memo();
  const contacts = await bulkContacts(c.env, db, orgId, items, byId, memo);
  const ready = contacts.flatMap((x, index) => ("orgId" in x ? [{ index, contact: x }] : []));
  const outcomes = await enrollMany(
    c.env,
    db,
    workflow,
    ready.map(({ contact }) => ({
      contact,
      variables: body.variables,
      timezone: body.timezone,
      groupBy: body.groupBy,
    })),
    c.get("log"),
    Date.now(),
    memo,
  );
  const results: BulkRow[] = contacts.map((x) =>
    "orgId" in x ? { index: -1, status: "invalid" } : x,
  );
  ready.forEach(({ index, contact }, j) => {
    const r = outcomes[j];
    results[index] =
      r instanceof DomainError
        ? { index, contactId: contact.id, status: "invalid", reason: r.message }
        : r.ok
          ? { index, contactId: contact.id, enrollmentId: r.enrollment.id, status: "enrolled" }
          : r.code === "missing_variables"
            ? { index, contactId: contact.id, status: "invalid", reason: r.message }
            : { index, contactId: contact.id, status: "skipped", reason: r.code };
  });
  const createdCount = results.filter((r) => r.status === "enrolled").length;
  const skippedCount = results.length - createdCount;
  if (createdCount === 0) {
    throw new DomainError("no_enrollments_created", "No enrollment was created; see results", {
      extra: { results, createdCount, skippedCount },
    });
  }
  return c.json({ results, createdCount, skippedCount }, 201);
};

export const list: Handler<typeof routes.list> = async (c) => {
  const q = c.req.valid("query");
  const page = toPage(q);
  const { data, nextCursor } = pageOf(
    await listEnrollments(
      await readShardFor(c.env, c.get("orgId")),
      c.get("orgId"),
      q,
      page.limit,
      page.before,
    ),
    page,
  );
  return c.json({ data: data.map(enrollmentJson), nextCursor }, 200);
};

export const get: Handler<typeof routes.get> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const e = await ownedEnrollment(db, c.get("orgId"), c.req.valid("param").id);
  const [snap, msgs] = await Promise.all([snapshotOf(c.env, e.id), messagesOfEnrollment(db, e.id)]);
  return c.json(
    {
      ...enrollmentJson(withLiveState(e, snap)),
      timeline: (snap?.logs ?? []).map(logJson),
      messages: msgs.map(messageJson),
    },
    200,
  );
};

export const logs: Handler<typeof routes.logs> = async (c) => {
  const e = await ownedEnrollment(
    await shardFor(c.env, c.get("orgId")),
    c.get("orgId"),
    c.req.valid("param").id,
  );
  const snap = await snapshotOf(c.env, e.id);
  return c.json((snap?.logs ?? []).map(logJson), 200);
};

export const cancel: Handler<typeof routes.cancel> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const e = await ownedEnrollment(db, c.get("orgId"), c.req.valid("param").id);
  if (e.status === "running" || e.status === "waiting") {
    await cancelEnrollment(c.env, db, e.id, "cancelled_by_api");
  }
  return c.json(enrollmentJson(await ownedEnrollment(db, e.orgId, e.id)), 200);
};

export const remove: Handler<typeof routes.remove> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const e = await ownedEnrollment(db, c.get("orgId"), c.req.valid("param").id);
  await enrollmentStub(c.env, e.id).destroy();
  await deleteEnrollmentRow(db, e.orgId, e.id);
  return c.body(null, 204);
};

export const ofWorkflow: Handler<typeof routes.ofWorkflow> = async (c) => {
  const db = await readShardFor(c.env, c.get("orgId"));
  const w = await ownedWorkflow(db, c.get("orgId"), c.req.valid("param").id);
  const q = c.req.valid("query");
  const page = toPage(q);
  const now = Date.now();
  const [rows, funnel, totals] = await Promise.all([
    listEnrollments(
      db,
      w.orgId,
      { workflowId: w.id, status: q.status, stepId: q.stepId },
      page.limit,
      page.before,
    ),
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
  const db = await shardFor(c.env, c.get("orgId"));
  const w = await ownedWorkflow(db, c.get("orgId"), c.req.valid("param").id);
  return c.json(
    { cancelled: await cancelWorkflowEnrollments(c.env, db, w.id, "cancelled_by_api") },
    200,
  );
};

export const stats: Handler<typeof routes.stats> = async (c) => {
  const db = await readShardFor(c.env, c.get("orgId"));
  const w = await ownedWorkflow(db, c.get("orgId"), c.req.valid("param").id);
  const now = Date.now();
  const [counters, email, phone, tasks] = await Promise.all([
    stepTotals(db, w.id),
    emailStatsByStep(db, w.id),
    phoneStatsByStep(db, w.id),
    taskStatsByStep(db, w.id, now),
  ]);
  const byStep = new Map(counters.map((s) => [s.stepId, s]));
  const channelStats = (stepId: string, type: string) => {
    const rows = phone.filter((r) => r.stepId === stepId);
    const count = (f: (r: (typeof rows)[number]) => boolean) =>
      rows.filter(f).reduce((n, r) => n + Number(r.n), 0);
    if (type === "send_sms") {
      return {
        sms: {
          sent: count((r) => r.status === "sent" || r.status === "delivered"),
          delivered: count((r) => r.status === "delivered"),
          failed: count((r) => r.status === "failed"),
          suppressed: count((r) => r.status === "suppressed"),
        },
      };
    }
    if (type === "call") {
      const outcome = (o: string) => count((r) => r.outcome === o);
      return {
        calls: {
          placed: count((r) => r.status === "sent" || r.status === "delivered"),
          pending: count((r) => r.status === "sent" && r.outcome === null),
          answered: outcome("answered"),
          voicemail: outcome("voicemail"),
          no_answer: outcome("no_answer"),
          busy: outcome("busy"),
          failed: outcome("failed"),
          suppressed: count((r) => r.status === "suppressed"),
        },
      };
    }
    if (type === "task") {
      const mine = tasks.filter((t) => t.stepId === stepId);
      const by = (status: string) =>
        mine.filter((t) => t.status === status).reduce((n, t) => n + Number(t.n), 0);
      const byOutcome: Record<string, number> = {};
      for (const t of mine) {
        if (t.status === "completed" && t.outcome) {
          byOutcome[t.outcome] = (byOutcome[t.outcome] ?? 0) + Number(t.n);
        }
      }
      return {
        tasks: {
          open: by("open"),
          completed: by("completed"),
          skipped: by("skipped"),
          expired: by("expired"),
          byOutcome,
        },
      };
    }
    return {};
  };
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
      ...channelStats(s.id, s.type),
    };
  });
  return c.json({ workflowId: w.id, steps }, 200);
};

export const ofContact: Handler<typeof routes.ofContact> = async (c) => {
  const db = await readShardFor(c.env, c.get("orgId"));
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
