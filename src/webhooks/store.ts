// Webhook subscriptions, deliveries (one per subscription and event) and their attempts.
import { and, desc, eq, inArray, lt, sql } from "drizzle-orm";
import { type Db, perSlice } from "../db/client";
import { webhookAttempts, webhookDeliveries, webhooks } from "../db/schema";

export type WebhookRow = typeof webhooks.$inferSelect;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;
export type AttemptRow = typeof webhookAttempts.$inferSelect;

export const insertWebhook = (db: Db, row: WebhookRow) => db.insert(webhooks).values(row).run();

export const getWebhook = (db: Db, orgId: string, id: string) =>
  db
    .select()
    .from(webhooks)
    .where(and(eq(webhooks.orgId, orgId), eq(webhooks.id, id)))
    .get();

export const getWebhookById = (db: Db, id: string) =>
  db.select().from(webhooks).where(eq(webhooks.id, id)).get();

export const listWebhooks = (db: Db, orgId: string, limit: number, before?: string) =>
  db
    .select()
    .from(webhooks)
    .where(and(eq(webhooks.orgId, orgId), before ? lt(webhooks.id, before) : undefined))
    .orderBy(desc(webhooks.id))
    .limit(limit + 1)
    .all();

export const updateWebhook = (db: Db, row: WebhookRow) =>
  db.update(webhooks).set(row).where(eq(webhooks.id, row.id)).run();

export const deleteWebhook = async (db: Db, orgId: string, id: string) =>
  (
    await db
      .delete(webhooks)
      .where(and(eq(webhooks.orgId, orgId), eq(webhooks.id, id)))
      .returning({ id: webhooks.id })
      .all()
  ).length === 1;

/** The event types the org's active subscriptions want (`*` for all). */
export async function subscribedTypes(db: Db, orgId: string): Promise<Set<string>> {
  const rows = await db
    .select({ events: webhooks.events })
    .from(webhooks)
    .where(and(eq(webhooks.orgId, orgId), eq(webhooks.active, true)))
    .all();
  return new Set(rows.flatMap((r) => r.events));
}

/** Active subscriptions of the org that want `type`. */
export const subscribersOf = (db: Db, orgId: string, type: string) =>
  db
    .select()
    .from(webhooks)
    .where(
      and(
        eq(webhooks.orgId, orgId),
        eq(webhooks.active, true),
        sql`exists (select 1 from json_each(${webhooks.events}) where value in ('*', ${type}))`,
      ),
    )
    .all();

/** Creates the delivery unless it exists; returns the pending row either way (null when already finished). */
export async function ensureDelivery(db: Db, row: DeliveryRow) {
  await db.insert(webhookDeliveries).values(row).onConflictDoNothing().run();
  const cur = await db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.webhookId, row.webhookId),
        eq(webhookDeliveries.eventId, row.eventId),
      ),
    )
    .get();
  return cur?.status === "pending" ? cur : null;
}

export const getDelivery = (db: Db, id: string) =>
  db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, id)).get();

export const listDeliveries = (db: Db, webhookId: string, limit: number, before?: string) =>
  db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.webhookId, webhookId),
        before ? lt(webhookDeliveries.id, before) : undefined,
      ),
    )
    .orderBy(desc(webhookDeliveries.id))
    .limit(limit + 1)
    .all();

export const attemptsOf = (db: Db, deliveryIds: string[]) =>
  deliveryIds.length === 0
    ? Promise.resolve([] as AttemptRow[])
    : db
        .select()
        .from(webhookAttempts)
        .where(sql`${webhookAttempts.deliveryId} in ${deliveryIds}`)
        .orderBy(webhookAttempts.attempt)
        .all();

/** Records an attempt and the delivery's new state in one batch. */
export async function recordAttempt(
  db: Db,
  attempt: AttemptRow,
  delivery: Pick<
    DeliveryRow,
    "id" | "status" | "attempts" | "lastStatusCode" | "nextAttemptAt" | "updatedAt"
  >,
  /** Statements that land with it (the delivery's analytics fact). */
  also: Parameters<Db["batch"]>[0][number][] = [],
) {
  await db.batch([
    db.insert(webhookAttempts).values(attempt).onConflictDoNothing(),
    db.update(webhookDeliveries).set(delivery).where(eq(webhookDeliveries.id, delivery.id)),
    ...also,
  ]);
}

/** Fails a pending delivery; its org when this call failed it (null when it was not pending). */
export const markDeliveryFailed = async (db: Db, id: string, now: number) =>
  (
    await db
      .update(webhookDeliveries)
      .set({ status: "failed", nextAttemptAt: null, updatedAt: now })
      .where(and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.status, "pending")))
      .returning({ orgId: webhookDeliveries.orgId })
      .get()
  )?.orgId ?? null;

export const setWebhookHealth = (
  db: Db,
  id: string,
  fields: Partial<Pick<WebhookRow, "failingSince" | "active" | "disabledReason" | "updatedAt">>,
) => db.update(webhooks).set(fields).where(eq(webhooks.id, id)).run();

/** Pending deliveries whose next attempt is long overdue (their queue job was lost). Pushes their due time on. */
export async function claimOverdueDeliveries(
  db: Db,
  now: number,
  graceMs: number,
  limit: number,
  pushMs: number,
) {
  const rows = await db
    .select({ id: webhookDeliveries.id, orgId: webhookDeliveries.orgId })
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.status, "pending"),
        lt(webhookDeliveries.nextAttemptAt, now - graceMs),
      ),
    )
    .limit(limit)
    .all();
  await perSlice(
    db,
    rows.map((r) => r.id),
    (ids) =>
      db
        .update(webhookDeliveries)
        .set({ nextAttemptAt: now + pushMs })
        .where(inArray(webhookDeliveries.id, ids)),
  );
  return rows;
}
