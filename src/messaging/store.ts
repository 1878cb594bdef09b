// Messages (email, SMS, calls): one row per effect key, claimed before a provider call so it is made once.
import { and, desc, eq, gte, inArray, isNull, lt, or, type SQL, sql } from "drizzle-orm";
import { type Db, perSlice, slices } from "../db/client";
import { messages } from "../db/schema";
import { newId } from "../ground/ids";
import type { MessageJob } from "../ground/queues";

export type MessageRow = typeof messages.$inferSelect;

/** A job's category (its step's, or its workflow's default, resolved by the engine). */
const categoryOf = (job: MessageJob) =>
  job.kind === "send"
    ? (job.config.category ?? "marketing")
    : job.kind === "sms"
      ? (job.category ?? "marketing")
      : "marketing";

/** The connection a job names, whatever its channel. */
const connectionOf = (job: MessageJob) =>
  job.kind === "sms"
    ? job.connectionId
    : job.kind === "send" || job.kind === "call"
      ? job.config.connectionId
      : undefined;

/**
 * An enrollment's messages, by their effect key's prefix (`enrollmentId:stepId:visit`, see
 * src/engine/advance.ts): a range of the unique key index, so no index of their own.
 */
const ofEnrollment = (enrollmentId: string) =>
  and(
    gte(messages.key, `${enrollmentId}:`),
    lt(messages.key, `${enrollmentId};`),
    eq(messages.enrollmentId, enrollmentId),
  );

/** Holds while the message `id` names has not had its settled fact counted (a SQL guard). */
export const uncounted = (id: SQL) =>
  sql`exists (select 1 from ${messages} where ${messages.id} = ${id} and ${messages.counted} = 0)`;

/** Marks messages' settled facts counted: in the batch after the statements `uncounted` guards. */
export const markCounted = (db: Db, ids: string[]) =>
  db
    .update(messages)
    .set({ counted: true })
    .where(
      and(
        sql`${messages.id} in (select value from json_each(${JSON.stringify(ids)}))`,
        eq(messages.counted, false),
      ),
    );

/** The message row of a job; `claimed`: created already claimed for this attempt. */
export function newMessageRow(
  job: MessageJob,
  channel: MessageRow["channel"],
  to: string,
  now: number,
  claimed = false,
): MessageRow {
  return {
    id: newId("msg", now),
    orgId: job.orgId,
    key: job.key,
    enrollmentId: job.enrollmentId,
    workflowId: job.workflowId,
    stepId: job.stepId,
    contactId: job.contactId,
    channel,
    category: categoryOf(job),
    topic:
      job.kind === "send"
        ? (job.config.topic ?? null)
        : job.kind === "sms"
          ? (job.topic ?? null)
          : null,
    to,
    subject: null,
    body: null,
    outcome: null,
    durationSeconds: null,
    summary: null,
    provider: null,
    connectionId: connectionOf(job) ?? null,
    providerMessageId: null,
    status: "queued",
    error: null,
    opens: 0,
    clicks: 0,
    machineOpens: 0,
    machineClicks: 0,
    unsubscribed: false,
    firstOpenedAt: null,
    lastOpenedAt: null,
    firstClickedAt: null,
    lastClickedAt: null,
    linkClickedAt: null,
    deliveredAt: null,
    rfcMessageId: null,
    repliedAt: null,
    autoRepliedAt: null,
    sendingAt: claimed ? now : null,
    nextAttemptAt: now,
    job,
    createdAt: now,
    sentAt: null,
    counted: false,
  };
}

/** Inserts the message for `key` if new and returns the stored row. */
export async function ensureMessage(db: Db, row: MessageRow) {
  return (await insertOrGetMessage(db, row)).row;
}

/** insertOrGetMessage for many rows: one batch of inserts, one lookup of those that existed. */
export async function insertOrGetMessages(
  db: Db,
  rows: MessageRow[],
): Promise<{ row: MessageRow | undefined; fresh: boolean }[]> {
  if (rows.length === 0) {
    return [];
  }
  const stmts = rows.map((r) => db.insert(messages).values(r).onConflictDoNothing().returning());
  const inserted = await db.batch(stmts as [(typeof stmts)[0], ...typeof stmts]);
  const missing = rows.filter((_, i) => inserted[i].length === 0).map((r) => r.key);
  const existing = new Map<string, MessageRow>();
  for (let i = 0; i < missing.length; i += 90) {
    for (const m of await db
      .select()
      .from(messages)
      .where(inArray(messages.key, missing.slice(i, i + 90)))
      .all()) {
      existing.set(m.key, m);
    }
  }
  return rows.map((r, i) =>
    inserted[i].length > 0
      ? { row: inserted[i][0], fresh: true }
      : { row: existing.get(r.key), fresh: false },
  );
}

/** The message for `key`: `row` inserted (fresh) in one statement, or the one already stored. */
export async function insertOrGetMessage(
  db: Db,
  row: MessageRow,
): Promise<{ row: MessageRow | undefined; fresh: boolean }> {
  const [inserted] = await db.insert(messages).values(row).onConflictDoNothing().returning().all();
  if (inserted) {
    return { row: inserted, fresh: true };
  }
  return {
    row: await db.select().from(messages).where(eq(messages.key, row.key)).get(),
    fresh: false,
  };
}

/** A claim older than this is abandoned (provider calls time out after 15 s), so another attempt may take it. */
export const CLAIM_STALE_MS = 20_000;

/**
 * Claims a queued message for one send attempt; a claim older than `staleMs` may be taken over.
 * The claim makes the message due now, as a new row is: an attempt that dies before settling it
 * is overdue to the watchdog one grace after its claim, not after an earlier re-queue's push.
 */
export async function claimMessage(db: Db, id: string, now: number, staleMs: number) {
  const r = await db
    .update(messages)
    .set({ sendingAt: now, nextAttemptAt: now })
    .where(
      and(
        eq(messages.id, id),
        eq(messages.status, "queued"),
        or(isNull(messages.sendingAt), lt(messages.sendingAt, now - staleMs)),
      ),
    )
    .returning({ id: messages.id })
    .all();
  return r.length === 1;
}

/**
 * Queued messages whose next attempt is long overdue: their queue job was lost. Pushes their due
 * time on by `pushMs`, the time a re-queued job may wait its turn in a queue — except a message
 * whose claim is stale: an attempt died mid-send (a crash), and that crash may lose this
 * re-queued job too (local queues live in memory). Such a message stays due now, so it is
 * queued again one grace later until an attempt takes it up (its claim then turns fresh):
 * a few spare jobs, each finding the claim held or the message settled, never a second send.
 */
export async function claimOverdueMessages(
  db: Db,
  now: number,
  graceMs: number,
  limit: number,
  pushMs: number,
) {
  const rows = await db
    .select({ id: messages.id, job: messages.job })
    .from(messages)
    .where(and(eq(messages.status, "queued"), lt(messages.nextAttemptAt, now - graceMs)))
    .limit(limit)
    .all();
  const abandoned = sql`${messages.sendingAt} IS NOT NULL AND ${messages.sendingAt} < ${now - CLAIM_STALE_MS}`;
  await perSlice(
    db,
    rows.map((r) => r.id),
    (ids) =>
      db
        .update(messages)
        .set({ nextAttemptAt: sql`CASE WHEN ${abandoned} THEN ${now} ELSE ${now + pushMs} END` })
        .where(inArray(messages.id, ids)),
  );
  return rows;
}

/** Updates a message; `also`: statements that must land with it (its analytics facts). */
export async function settleMessage(
  db: Db,
  id: string,
  fields: Partial<MessageRow>,
  also: Parameters<Db["batch"]>[0][number][] = [],
) {
  const update = db.update(messages).set(fields).where(eq(messages.id, id));
  if (also.length === 0) {
    await update.run();
  } else {
    await db.batch([update, ...also]);
  }
}

export const getMessage = (db: Db, orgId: string, id: string) =>
  db
    .select()
    .from(messages)
    .where(and(eq(messages.orgId, orgId), eq(messages.id, id)))
    .get();

export const getMessageById = (db: Db, id: string) =>
  db.select().from(messages).where(eq(messages.id, id)).get();

/** The org's message a provider knows by its own id. */
export const findByProviderId = (db: Db, orgId: string, providerMessageId: string) =>
  db
    .select()
    .from(messages)
    .where(and(eq(messages.orgId, orgId), eq(messages.providerMessageId, providerMessageId)))
    .get();

export const listMessages = (
  db: Db,
  orgId: string,
  f: { enrollmentId?: string; contactId?: string },
  limit: number,
  before?: string,
) =>
  db
    .select()
    .from(messages)
    .where(
      and(
        // With an enrollment or contact, their index (a few rows) must be the one searched, not
        // the org's (every message of the org, in id order): `+org_id` keeps SQLite's planner
        // from using org_id for an index (docs/scale.md, "Indexes on the email path").
        f.enrollmentId || f.contactId
          ? sql`+${messages.orgId} = ${orgId}`
          : eq(messages.orgId, orgId),
        f.enrollmentId ? ofEnrollment(f.enrollmentId) : undefined,
        f.contactId ? eq(messages.contactId, f.contactId) : undefined,
        before ? lt(messages.id, before) : undefined,
      ),
    )
    .orderBy(desc(messages.id))
    .limit(limit + 1)
    .all();

export const messagesOfEnrollment = (db: Db, enrollmentId: string) =>
  db.select().from(messages).where(ofEnrollment(enrollmentId)).orderBy(messages.id).all();

export async function messagesByIds(db: Db, ids: string[]) {
  const found = await Promise.all(
    slices(ids).map((slice) => db.select().from(messages).where(inArray(messages.id, slice)).all()),
  );
  return found.flat();
}

export interface Engagement {
  id: string;
  /** Human counts as read when planned: the update applies only if no other batch moved them. */
  seen: { opens: number; clicks: number };
  opens: number;
  clicks: number;
  machineOpens: number;
  machineClicks: number;
  /** First and last counted human open/click times in this batch, when any. */
  openedAt: [number, number] | null;
  clickedAt: [number, number] | null;
  /** The message's per-link last click times after this batch, when a click was counted. */
  linkClickedAt: Record<string, number> | null;
}

/**
 * Adds a batch of opens and clicks, one guarded update per message: a message whose human
 * counts another batch changed since they were read is left alone. Returns the ids updated.
 */
export async function addEngagement(db: Db, rows: Engagement[]): Promise<Set<string>> {
  if (rows.length === 0) {
    return new Set();
  }
  const stmts = rows.map((r) =>
    db
      .update(messages)
      .set({
        opens: sql`${messages.opens} + ${r.opens}`,
        clicks: sql`${messages.clicks} + ${r.clicks}`,
        machineOpens: sql`${messages.machineOpens} + ${r.machineOpens}`,
        machineClicks: sql`${messages.machineClicks} + ${r.machineClicks}`,
        ...(r.openedAt
          ? {
              firstOpenedAt: sql`coalesce(${messages.firstOpenedAt}, ${r.openedAt[0]})`,
              lastOpenedAt: sql`max(coalesce(${messages.lastOpenedAt}, 0), ${r.openedAt[1]})`,
            }
          : {}),
        ...(r.clickedAt
          ? {
              firstClickedAt: sql`coalesce(${messages.firstClickedAt}, ${r.clickedAt[0]})`,
              lastClickedAt: sql`max(coalesce(${messages.lastClickedAt}, 0), ${r.clickedAt[1]})`,
            }
          : {}),
        ...(r.linkClickedAt ? { linkClickedAt: r.linkClickedAt } : {}),
      } as unknown as Partial<MessageRow>)
      .where(
        and(
          eq(messages.id, r.id),
          eq(messages.opens, r.seen.opens),
          eq(messages.clicks, r.seen.clicks),
        ),
      )
      .returning({ id: messages.id }),
  );
  const results = await db.batch(stmts as [(typeof stmts)[0], ...typeof stmts]);
  return new Set(results.flatMap((updated) => updated.map((u) => u.id)));
}

/** Per email step of a workflow: delivery and engagement counts. */
export const emailStatsByStep = (db: Db, workflowId: string) =>
  db
    .select({
      stepId: messages.stepId,
      sent: sql<number>`sum(case when ${messages.status} in ('sent','delivered','bounced','complained') then 1 else 0 end)`,
      delivered: sql<number>`sum(case when ${messages.status} = 'delivered' then 1 else 0 end)`,
      opened: sql<number>`sum(${messages.opens})`,
      uniqueOpened: sql<number>`sum(case when ${messages.opens} > 0 then 1 else 0 end)`,
      clicked: sql<number>`sum(${messages.clicks})`,
      uniqueClicked: sql<number>`sum(case when ${messages.clicks} > 0 then 1 else 0 end)`,
      machineOpened: sql<number>`sum(${messages.machineOpens})`,
      machineClicked: sql<number>`sum(${messages.machineClicks})`,
      bounced: sql<number>`sum(case when ${messages.status} = 'bounced' then 1 else 0 end)`,
      complained: sql<number>`sum(case when ${messages.status} = 'complained' then 1 else 0 end)`,
      unsubscribed: sql<number>`sum(case when ${messages.unsubscribed} then 1 else 0 end)`,
      suppressed: sql<number>`sum(case when ${messages.status} = 'suppressed' then 1 else 0 end)`,
      failed: sql<number>`sum(case when ${messages.status} = 'failed' then 1 else 0 end)`,
      replied: sql<number>`sum(case when ${messages.repliedAt} is not null then 1 else 0 end)`,
      autoReplied: sql<number>`sum(case when ${messages.autoRepliedAt} is not null then 1 else 0 end)`,
    })
    .from(messages)
    .where(eq(messages.workflowId, workflowId))
    .groupBy(messages.stepId)
    .all();

/** The message id in a Message-ID Nudge gave (`<msg_…@domain>`, src/messaging/compose.ts). */
const OUR_MESSAGE_ID = /^<(msg_[0-9A-Z]{26})@/;

/**
 * Messages whose Message-ID header is one of `ids` (a reply's In-Reply-To and References),
 * latest sent first. Nudge's Message-IDs carry the message's id: each is looked up by its
 * primary key and kept only when its header is exactly the one asked for, so the header
 * needs no index of its own (one entry fewer written per email).
 */
export async function messagesByRfcIds(db: Db, ids: string[]) {
  const wanted = new Set(ids.slice(0, 90));
  const byId = [...new Set([...wanted].flatMap((ref) => OUR_MESSAGE_ID.exec(ref)?.[1] ?? []))];
  if (byId.length === 0) {
    return [];
  }
  const found = await db.select().from(messages).where(inArray(messages.id, byId)).all();
  return found
    .filter((m) => m.rfcMessageId !== null && wanted.has(m.rfcMessageId))
    .sort(
      (a, b) => (b.sentAt ?? Number.NEGATIVE_INFINITY) - (a.sentAt ?? Number.NEGATIVE_INFINITY),
    );
}

/** The latest message sent to `address` since `since` (a reply matched by its sender only). */
export const latestMessageTo = (db: Db, address: string, since: number, orgId?: string) =>
  db
    .select()
    .from(messages)
    .where(
      and(
        eq(messages.to, address),
        sql`${messages.sentAt} >= ${since}`,
        orgId ? eq(messages.orgId, orgId) : undefined,
      ),
    )
    .orderBy(desc(messages.sentAt))
    .limit(1)
    .get();

/** The enrollment's latest sent email before `messageId`, to thread a follow-up under it. */
export const previousInEnrollment = (db: Db, enrollmentId: string, messageId: string) =>
  db
    .select()
    .from(messages)
    .where(
      and(
        ofEnrollment(enrollmentId),
        sql`${messages.id} <> ${messageId}`,
        sql`${messages.rfcMessageId} is not null`,
        inArray(messages.status, ["sent", "delivered"]),
      ),
    )
    .orderBy(desc(messages.sentAt))
    .limit(1)
    .get();

/** Sets a reply time once (the first reply counts); true when this call set it. */
export async function markReplied(
  db: Db,
  id: string,
  field: "repliedAt" | "autoRepliedAt",
  at: number,
): Promise<boolean> {
  const column = field === "repliedAt" ? messages.repliedAt : messages.autoRepliedAt;
  const r = await db
    .update(messages)
    .set({ [field]: at })
    .where(and(eq(messages.id, id), isNull(column)))
    .returning({ id: messages.id })
    .all();
  return r.length === 1;
}

/**
 * Records how a call ended, once: the first report wins (with its facts, in one batch). Returns
 * the outcome stored, and whether this call recorded it.
 */
export async function recordCallEnd(
  db: Db,
  id: string,
  fields: { outcome: string; durationSeconds: number | null; summary: string | null },
  also: Parameters<Db["batch"]>[0][number][],
): Promise<{ outcome: string; recorded: boolean }> {
  const update = db
    .update(messages)
    .set(fields)
    .where(and(eq(messages.id, id), isNull(messages.outcome)))
    .returning({ id: messages.id });
  const [updated] = await db.batch([update, ...also] as unknown as [typeof update]);
  if ((updated as unknown[]).length === 1) {
    return { outcome: fields.outcome, recorded: true };
  }
  const row = await db
    .select({ outcome: messages.outcome })
    .from(messages)
    .where(eq(messages.id, id))
    .get();
  return { outcome: row?.outcome ?? fields.outcome, recorded: false };
}

/** Per step of a workflow: its texts and calls by status and outcome. */
export const phoneStatsByStep = (db: Db, workflowId: string) =>
  db
    .select({
      stepId: messages.stepId,
      channel: messages.channel,
      status: messages.status,
      outcome: messages.outcome,
      n: sql<number>`count(*)`,
    })
    .from(messages)
    .where(and(eq(messages.workflowId, workflowId), inArray(messages.channel, ["sms", "call"])))
    .groupBy(messages.stepId, messages.channel, messages.status, messages.outcome)
    .all();

/** A connection's last `window` sends since `since`: how many, how many bounced, complained. */
export async function connectionHealthCounts(
  db: Db,
  connectionId: string,
  since: number,
  window: number,
) {
  const recent = db
    .select({ status: messages.status })
    .from(messages)
    .where(
      and(
        eq(messages.connectionId, connectionId),
        sql`${messages.sentAt} is not null`,
        sql`${messages.sentAt} >= ${since}`,
      ),
    )
    .orderBy(desc(messages.sentAt))
    .limit(window)
    .as("recent");
  const [r] = await db
    .select({
      sends: sql<number>`count(*)`,
      bounced: sql<number>`coalesce(sum(case when ${recent.status} = 'bounced' then 1 else 0 end), 0)`,
      complained: sql<number>`coalesce(sum(case when ${recent.status} = 'complained' then 1 else 0 end), 0)`,
    })
    .from(recent)
    .all();
  return {
    sends: Number(r?.sends ?? 0),
    bounced: Number(r?.bounced ?? 0),
    complained: Number(r?.complained ?? 0),
  };
}

/** The connection the enrollment's latest other message went through (a pool keeps it). */
export const lastConnectionInEnrollment = async (db: Db, enrollmentId: string, messageId: string) =>
  (
    await db
      .select({ connectionId: messages.connectionId })
      .from(messages)
      .where(
        and(
          ofEnrollment(enrollmentId),
          sql`${messages.id} <> ${messageId}`,
          sql`${messages.connectionId} is not null`,
        ),
      )
      .orderBy(desc(messages.createdAt))
      .limit(1)
      .get()
  )?.connectionId ?? null;
