// Email connections as mailboxes: their send scheduler (one Durable Object each), their health
// over the last 200 sends, and the auto-pause on a bounce or complaint storm.
import type { Db } from "../db/client";
import type { Env } from "../ground/env";
import { objectNamed } from "../ground/objects";
import { publish } from "../webhooks";
import { type ConnectionRow, getConnectionById, setConnectionPause } from "./connections-store";
import { connectionHealthCounts } from "./store";

/** The connection's mailbox object, in its org's jurisdiction (the id's region mark names it). */
export const mailboxStub = (env: Env, connectionId: string) =>
  objectNamed(env, env.MAILBOX, connectionId);

/** The health window and the rates that pause a connection (once it has MIN_SENDS in it). */
const HEALTH_WINDOW = 200;
const HEALTH_MIN_SENDS = 20;
const MAX_BOUNCE_RATE = 0.05;
const MAX_COMPLAINT_RATE = 0.003;

export async function connectionHealth(db: Db, conn: ConnectionRow) {
  const c = await connectionHealthCounts(db, conn.id, conn.healthSince ?? 0, HEALTH_WINDOW);
  return {
    sends: c.sends,
    bounceRate: c.sends ? c.bounced / c.sends : 0,
    complaintRate: c.sends ? c.complained / c.sends : 0,
  };
}

/**
 * After a bounce or complaint on a connection: pauses it when its hard-bounce rate over the
 * last 200 sends passes 5 % or its complaint rate 0.3 %, and tells the org's webhooks
 * (`connection.paused`). True when this paused it.
 */
export async function checkConnectionHealth(env: Env, db: Db, connectionId: string) {
  const conn = await getConnectionById(db, connectionId);
  if (!conn || conn.pausedAt !== null) {
    return false;
  }
  const h = await connectionHealth(db, conn);
  if (h.sends < HEALTH_MIN_SENDS) {
    return false;
  }
  const reason =
    h.bounceRate > MAX_BOUNCE_RATE
      ? `Hard-bounce rate ${(h.bounceRate * 100).toFixed(1)} % over the last ${h.sends} sends (limit 5 %)`
      : h.complaintRate > MAX_COMPLAINT_RATE
        ? `Complaint rate ${(h.complaintRate * 100).toFixed(2)} % over the last ${h.sends} sends (limit 0.3 %)`
        : null;
  if (!reason) {
    return false;
  }
  const now = Date.now();
  await setConnectionPause(db, conn.id, now, reason);
  await publish(
    env,
    db,
    conn.orgId,
    "connection.paused",
    {
      connectionId: conn.id,
      key: conn.key,
      reason,
      sends: h.sends,
      bounceRate: h.bounceRate,
      complaintRate: h.complaintRate,
    },
    { key: `${conn.id}:paused:${now}` },
  );
  return true;
}
