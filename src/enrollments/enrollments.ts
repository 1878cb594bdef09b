// Enrollments: reaching an enrollment's object, reserving and starting one (the D1 row's
// partial unique index makes "already enrolled" atomic), cancelling, and the confirmations
// consumers send back for the effects they took up. Each enrollment is one Durable Object
// named by its id.

import { type ContactRow, contactSnapshot, getContact } from "../contacts";
import type { Db } from "../db/client";
import { regionOf } from "../db/shards";
import type { EnrollmentState, WorkflowDefinition } from "../engine/types";
import type { Region } from "../ground/config";
import type { Env } from "../ground/env";
import { DomainError } from "../ground/errors";
import { markRegion, newId } from "../ground/ids";
import { errorText, type Logger } from "../ground/log";
import { Memo } from "../ground/memo";
import { objectNamed } from "../ground/objects";
import type { EnrollmentSnapshot, StartPayload } from "../ground/rpc";
import { timezoneFromPhone } from "../lib/phone-timezone";
import { subscriptionsOf } from "../webhooks";
import { definitionOf, getVersion, type WorkflowRow } from "../workflows";
import {
  activeEnrollmentIds,
  cancelReservation,
  type EnrollmentRow,
  priorEnrollments,
  releaseReservation,
  reserveChainLinks,
  reserveEnrollments,
} from "./store";

/** The enrollment's object, in its org's jurisdiction (the id's region mark names it). */
export const enrollmentStub = (env: Env, id: string) => objectNamed(env, env.ENROLLMENT, id);

/**
 * The enrollment's live state and timeline. The RPC stub's types cannot carry `unknown`-valued
 * fields (contact data, variables), so the contract's own type is restated here, once.
 */
export const snapshotOf = async (env: Env, id: string) =>
  (await enrollmentStub(env, id).snapshot()) as unknown as EnrollmentSnapshot | null;

export interface EnrollRequest {
  workflow: WorkflowRow;
  contact: ContactRow;
  variables?: Record<string, unknown>;
  timezone?: string;
  scheduledAt?: number;
  bypassSendWindow?: boolean;
  bypassCallWindow?: boolean;
  /** Contact chaining: the variable whose value groups enrollments of the workflow into a chain. */
  groupBy?: string;
  triggerEvent?: { name: string; data: Record<string, unknown> };
  /** A given id (derived from the event that starts it): a second reservation with it is refused. */
  id?: string;
}

export type EnrollOutcome =
  | { ok: true; enrollment: EnrollmentRow }
  | {
      ok: false;
      code:
        | "already_enrolled"
        | "reentry_not_allowed"
        | "workflow_not_active"
        | "workflow_archived"
        | "missing_variables";
      message: string;
      /** missing_variables: the names absent. */
      missing?: string[];
    };

/**
 * The workflow's required variables an item does not bring: absent, null or "" (the data of
 * the event that triggers an enrollment counts as its variables).
 */
export function missingVariables(workflow: WorkflowRow, item: EnrollItem): string[] {
  const given = { ...item.triggerEvent?.data, ...item.variables };
  const required = [...(workflow.requiredVariables ?? [])];
  if (item.groupBy && !required.includes(item.groupBy)) {
    required.push(item.groupBy);
  }
  return required.filter((name) => {
    const v = given[name];
    return (
      v === undefined || v === null || v === "" || (typeof v === "object" && name === item.groupBy)
    );
  });
}

/** The chain an item joins: its `groupBy` variable's value, as text. */
const chainKeyOf = (item: EnrollItem): string | null =>
  item.groupBy ? String({ ...item.triggerEvent?.data, ...item.variables }[item.groupBy]) : null;

/** Given, else the contact's, else the phone number's, else the workflow's, else UTC. */
export function resolveTimezone(
  given: string | undefined,
  contact: ContactRow,
  workflow: WorkflowRow,
): string {
  return (
    given ?? contact.timezone ?? timezoneFromPhone(contact.phone) ?? workflow.timezone ?? "UTC"
  );
}

/** Reserves the D1 row (atomic "already enrolled") and starts the object; releases the row if the start fails. */
export async function enroll(
  env: Env,
  db: Db,
  req: EnrollRequest,
  log: Logger,
  now = Date.now(),
  memo = new Memo(),
): Promise<EnrollOutcome> {
  const { workflow, ...item } = req;
  const [outcome] = await enrollMany(env, db, workflow, [item], log, now, memo);
  if (outcome instanceof DomainError) {
    throw outcome;
  }
  return outcome;
}

export type EnrollItem = Omit<EnrollRequest, "workflow">;

/**
 * Enrolls many contacts in one workflow with a few round trips: one lookup of their prior
 * enrollments, one batch of reservations (the partial unique index stays the arbiter of
 * "already enrolled"), then every object started at once. `outcomes[i]` is a DomainError when
 * item i's object could not be started (its reservation is released).
 */
export async function enrollMany(
  env: Env,
  db: Db,
  workflow: WorkflowRow,
  items: EnrollItem[],
  log: Logger,
  now = Date.now(),
  memo = new Memo(),
): Promise<(EnrollOutcome | DomainError)[]> {
  if (workflow.status === "archived" || workflow.status !== "active") {
    const refusal: EnrollOutcome =
      workflow.status === "archived"
        ? { ok: false, code: "workflow_archived", message: "The workflow is archived" }
        : {
            ok: false,
            code: "workflow_not_active",
            message: `The workflow is ${workflow.status}, not active`,
          };
    return items.map(() => refusal);
  }
  const [prior, subscriptions, region] = await Promise.all([
    priorEnrollments(
      db,
      workflow.id,
      items.map((i) => i.contact.id),
    ),
    subscriptionsOf(db, workflow.orgId, memo),
    regionOf(env, workflow.orgId),
  ]);
  // An object writes its end to D1 once the end's effects are confirmed (see object/mirror),
  // but knows it at once, and GET shows it. A contact whose row still looks active is asked
  // its object: an ended one writes its end now (freeing the contact in the partial unique
  // index), so re-entry is decided on what GET showed, not on a row that lags it.
  await Promise.all(
    [...prior.values()].map(async (p) => {
      if (p.status !== "running" && p.status !== "waiting") {
        return;
      }
      const poked = await enrollmentStub(env, p.id)
        .poke()
        .catch((err: unknown) => {
          log.warn("enrollment not reachable for its live state", {
            enrollmentId: p.id,
            error: errorText(err),
          });
          return null;
        });
      if (poked === "finished") {
        p.status = "completed"; // ended (which way does not matter for re-entry)
      }
    }),
  );
  const outcomes: (EnrollOutcome | DomainError | undefined)[] = new Array(items.length);
  const rows: { i: number; row: EnrollmentRow }[] = [];
  const claimed = new Set<string>();
  items.forEach((item, i) => {
    const missing = missingVariables(workflow, item);
    if (missing.length > 0) {
      outcomes[i] = {
        ok: false,
        code: "missing_variables",
        message: `The workflow requires variables this enrollment lacks: ${missing.join(", ")}`,
        missing,
      };
      return;
    }
    const p = prior.get(item.contact.id);
    if ((p && (p.status === "running" || p.status === "waiting")) || claimed.has(item.contact.id)) {
      outcomes[i] = {
        ok: false,
        code: "already_enrolled",
        message: `The contact is already enrolled${p ? ` (${p.id})` : ""}`,
      };
      return;
    }
    if (p && !workflow.allowReentry) {
      outcomes[i] = {
        ok: false,
        code: "reentry_not_allowed",
        message: `The contact went through this workflow before (${p.id}) and re-entry is off`,
      };
      return;
    }
    claimed.add(item.contact.id);
    rows.push({ i, row: reservation(workflow, item, now, region) });
  });
  const plain = rows.filter((r) => r.row.chainKey === null);
  const linked = rows.filter((r) => r.row.chainKey !== null);
  const [reserved, links] = await Promise.all([
    reserveEnrollments(
      db,
      plain.map((r) => r.row),
    ),
    reserveChainLinks(
      db,
      linked.map((r) => r.row as EnrollmentRow & { chainKey: string }),
      now,
    ),
  ]);
  // A chain link is started only when it is the chain's active link; the others wait their turn.
  const stored = new Map<string, EnrollmentRow>(
    links.flatMap((row): [string, EnrollmentRow][] => (row ? [[row.id, row]] : [])),
  );
  for (const r of plain) {
    if (reserved.has(r.row.id)) {
      stored.set(r.row.id, r.row);
    }
  }
  const definition = definitionOf(workflow);
  await Promise.all(
    rows.map(async ({ i, row: reservedRow }) => {
      const row = stored.get(reservedRow.id);
      if (!row) {
        outcomes[i] = {
          ok: false,
          code: "already_enrolled",
          message: "The contact is already enrolled in this workflow",
        };
        return;
      }
      if (row.chainState === "pending" || row.chainState === "cancelled") {
        outcomes[i] = { ok: true, enrollment: row };
        return;
      }
      try {
        await enrollmentStub(env, row.id).start({
          ...startPayload(row, definition, items[i].contact),
          subscriptions: [...subscriptions],
        });
        outcomes[i] = { ok: true, enrollment: row };
      } catch (err) {
        await releaseReservation(db, row.id);
        log.error("enrollment start failed", { enrollmentId: row.id, error: errorText(err) });
        outcomes[i] = new DomainError(
          "service_unavailable",
          "The enrollment could not be started; retry with the same Idempotency-Key",
        );
      }
    }),
  );
  return outcomes as (EnrollOutcome | DomainError)[];
}

function reservation(
  workflow: WorkflowRow,
  req: EnrollItem,
  now: number,
  region: Region | null,
): EnrollmentRow {
  const startAt = req.scheduledAt && req.scheduledAt > now ? req.scheduledAt : null;
  return {
    // Marked with the org's region, a given (seeded) id too: its object lives in the jurisdiction.
    id: markRegion(req.id ?? newId("enr", now), region),
    orgId: workflow.orgId,
    workflowId: workflow.id,
    workflowVersion: workflow.version,
    contactId: req.contact.id,
    status: startAt ? "waiting" : "running",
    currentStepId: null,
    nextRunAt: startAt ?? now,
    waitingEvent: null,
    waitingUntil: null,
    variables: req.variables ?? {},
    timezone: resolveTimezone(req.timezone, req.contact, workflow),
    scheduledAt: req.scheduledAt ?? null,
    bypassSendWindow: req.bypassSendWindow ?? false,
    bypassCallWindow: req.bypassCallWindow ?? false,
    chainKey: chainKeyOf(req),
    chainPosition: null,
    chainState: null,
    triggerEvent: req.triggerEvent ?? null,
    exitReason: null,
    variant: null,
    error: null,
    errorCode: null,
    seq: 0,
    createdAt: now,
    updatedAt: now,
    completedAt: null,
    pendingEffects: 0,
  };
}

/**
 * What D1 knows of an enrollment, from its live state: the mirror writes it, and reading one
 * enrollment lays it over the D1 row (so a single read is exact while lists may lag a run).
 */
export function summaryOf(
  state: EnrollmentState,
  nextRunAt: number | null,
  pendingEffects: number,
): Pick<
  EnrollmentRow,
  | "status"
  | "currentStepId"
  | "nextRunAt"
  | "waitingEvent"
  | "waitingUntil"
  | "exitReason"
  | "error"
  | "errorCode"
  | "completedAt"
  | "pendingEffects"
> {
  const active = state.status === "running" || state.status === "waiting";
  return {
    status: state.status,
    currentStepId: state.currentStepId,
    nextRunAt: active ? (nextRunAt ?? state.wait?.until ?? null) : nextRunAt,
    waitingEvent:
      state.status === "waiting" && state.wait?.kind === "event"
        ? (state.wait.event ?? null)
        : null,
    waitingUntil: state.status === "waiting" ? (state.wait?.until ?? null) : null,
    exitReason: state.exitReason,
    // Objects started before errors had codes kept a plain message.
    error: typeof state.error === "string" ? state.error : (state.error?.message ?? null),
    errorCode: typeof state.error === "string" ? "step_failed" : (state.error?.code ?? null),
    completedAt: state.completedAt,
    pendingEffects,
  };
}

/** The D1 row with the object's live state laid over it. */
export function withLiveState(row: EnrollmentRow, snap: EnrollmentSnapshot | null): EnrollmentRow {
  if (!snap) {
    return row;
  }
  const s = snap.state;
  const active = s.status === "running" || s.status === "waiting";
  // The engine's own wake time; the alarm may be earlier (an effect's redelivery check).
  const engine = s.wait?.until ?? snap.nextRunAt;
  const held = snap.heldUntil ?? null;
  const next = active ? (held !== null && held > (engine ?? 0) ? held : engine) : row.nextRunAt;
  return { ...row, ...summaryOf(s, next, snap.pendingEffects ?? 0) };
}

export function startPayload(
  row: EnrollmentRow,
  definition: WorkflowDefinition,
  contact: ContactRow,
): StartPayload {
  return {
    enrollmentId: row.id,
    orgId: row.orgId,
    workflowId: row.workflowId,
    contactId: row.contactId,
    definition,
    contact: contactSnapshot(contact),
    vars: row.variables,
    event: row.triggerEvent?.data ?? {},
    timezone: row.timezone,
    bypassSendWindow: row.bypassSendWindow,
    bypassCallWindow: row.bypassCallWindow,
    chain:
      row.chainKey !== null && row.chainPosition !== null
        ? { key: row.chainKey, position: row.chainPosition }
        : null,
    startAt: row.scheduledAt && row.scheduledAt > row.createdAt ? row.scheduledAt : null,
  };
}

/** The watchdog's way to finish a start that never landed: everything comes from D1. */
export async function startPayloadFromD1(db: Db, row: EnrollmentRow): Promise<StartPayload | null> {
  const [version, contact] = await Promise.all([
    getVersion(db, row.workflowId, row.workflowVersion),
    getContact(db, row.orgId, row.contactId),
  ]);
  if (!version || !contact) {
    return null;
  }
  return startPayload(row, version.definition, contact);
}

/** Cancels one enrollment: its object, or (if the object never started) its D1 reservation. */
export async function cancelEnrollment(env: Env, db: Db, id: string, reason: string) {
  return (
    (await enrollmentStub(env, id).cancel(reason)) || (await cancelReservation(db, id, reason))
  );
}

/** Cancels enrollments, 20 at a time; returns how many it cancelled. */
export async function cancelAll(env: Env, db: Db, ids: { id: string }[], reason: string) {
  let n = 0;
  for (let i = 0; i < ids.length; i += 20) {
    const results = await Promise.all(
      ids.slice(i, i + 20).map((t) => cancelEnrollment(env, db, t.id, reason)),
    );
    n += results.filter(Boolean).length;
  }
  return n;
}

export async function cancelWorkflowEnrollments(
  env: Env,
  db: Db,
  workflowId: string,
  reason: string,
) {
  let total = 0;
  for (;;) {
    const batch = await activeEnrollmentIds(db, { workflowId }, 500);
    if (batch.length === 0) {
      return total;
    }
    const n = await cancelAll(env, db, batch, reason);
    total += n;
    if (batch.length < 500 || n === 0) {
      return total;
    }
  }
}

/**
 * Consumers confirm the effects they took up, so their objects stop re-sending them. A failed
 * confirmation is only logged: the object re-sends, and every consumer is idempotent by key.
 */
export async function confirmEffects(
  env: Env,
  acks: { enrollmentId: string; key: string }[],
  log: Logger,
) {
  const byEnrollment = new Map<string, string[]>();
  for (const a of acks) {
    byEnrollment.set(a.enrollmentId, [...(byEnrollment.get(a.enrollmentId) ?? []), a.key]);
  }
  await Promise.all(
    [...byEnrollment].map(([id, keys]) =>
      enrollmentStub(env, id)
        .ackEffects(keys)
        .catch((err) =>
          log.warn("effect confirmation failed", { enrollmentId: id, error: errorText(err) }),
        ),
    ),
  );
}
