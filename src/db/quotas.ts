// Per-org quotas: counts and limits in org_usage, kept by triggers (migration 0002_quotas.sql),
// which abort an insert past its limit with `quota_exceeded:<resource>`.
import { and, eq } from "drizzle-orm";
import type { Db } from "./client";
import { orgUsage, QUOTA_RESOURCES, type QuotaResource } from "./schema";

export type Quotas = Record<QuotaResource, { used: number; limit: number }>;

const RAISED = new RegExp(`quota_exceeded:(${QUOTA_RESOURCES.join("|")})`);

/** The resource whose quota a failed write ran into (the trigger's message, through any wrapping). */
export function quotaExceeded(err: unknown): QuotaResource | null {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const m = String((e as { message?: unknown }).message ?? e).match(RAISED);
    if (m) {
      return m[1] as QuotaResource;
    }
  }
  return null;
}

export async function quotasOf(db: Db, orgId: string): Promise<Quotas | null> {
  const rows = await db.select().from(orgUsage).where(eq(orgUsage.orgId, orgId)).all();
  if (rows.length === 0) {
    return null;
  }
  return Object.fromEntries(
    rows.map((r) => [r.resource, { used: Math.max(0, r.used), limit: r.quota }]),
  ) as Quotas;
}

/** Sets the limits given; the counts stay. */
export async function setQuotas(
  db: Db,
  orgId: string,
  limits: Partial<Record<QuotaResource, number>>,
) {
  const stmts = Object.entries(limits).map(([resource, quota]) =>
    db
      .update(orgUsage)
      .set({ quota })
      .where(and(eq(orgUsage.orgId, orgId), eq(orgUsage.resource, resource as QuotaResource))),
  );
  if (stmts.length > 0) {
    await db.batch(stmts as [(typeof stmts)[0], ...typeof stmts]);
  }
}
