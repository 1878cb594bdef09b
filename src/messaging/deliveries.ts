// What providers report about the messages we sent: bounces and complaints suppress the
// contact and become events; deliveries mark the message delivered. Each provider event is
// applied once (its id is remembered), and only to a message of the connection's org.

import { factBatch, messageFact } from "../analytics";
import { recordSystemEvent, suppressContact } from "../contacts";
import type { Db } from "../db/client";
import type { Env } from "../ground/env";
import type { DeliveryEvent } from "../providers/provider";
import { markInboundSeen } from "./inbound-store";
import { checkConnectionHealth } from "./mailboxes";
import { findByProviderId, getMessage, settleMessage } from "./store";

/** The connection a provider webhook arrived on: its events apply to its org only. */
export interface InboundConnection {
  id: string;
  orgId: string;
  provider: string;
}

/** Applies one provider event; true when it changed something. */
async function applyOne(
  env: Env,
  db: Db,
  conn: InboundConnection,
  e: DeliveryEvent,
): Promise<boolean> {
  const { orgId, provider } = conn;
  if (!(await markInboundSeen(db, conn.id, e.eventId))) {
    return false;
  }
  if (e.kind === "ignored") {
    return false;
  }
  let msg = e.ourMessageId ? await getMessage(db, orgId, e.ourMessageId) : undefined;
  if (!msg && e.providerMessageId) {
    msg = await findByProviderId(db, orgId, e.providerMessageId);
  }
  if (!msg) {
    return false;
  }
  const data = {
    messageId: msg.id,
    enrollmentId: msg.enrollmentId,
    stepId: msg.stepId,
    ...(e.reason ? { reason: e.reason } : {}),
  };
  const key = `${provider}:${e.eventId}`;
  if (e.kind === "delivered") {
    if (msg.status !== "sent") {
      return false;
    }
    const at = Date.now();
    await settleMessage(
      db,
      msg.id,
      { status: "delivered", deliveredAt: at },
      await factBatch(db, [messageFact(msg, "delivered", at)]),
    );
    await recordSystemEvent(env, db, {
      orgId,
      contactId: msg.contactId,
      name: "email.delivered",
      data,
      key,
    });
    return true;
  }
  await settleMessage(
    db,
    msg.id,
    { status: e.kind, error: e.reason ?? null },
    await factBatch(db, [messageFact(msg, e.kind, Date.now())]),
  );
  await suppressContact(db, orgId, msg.contactId, e.kind);
  if (msg.connectionId) {
    await checkConnectionHealth(env, db, msg.connectionId);
  }
  await recordSystemEvent(env, db, {
    orgId,
    contactId: msg.contactId,
    name: e.kind === "bounced" ? "email.bounced" : "email.complained",
    data,
    key,
  });
  return true;
}

/** Applies a verified webhook's events in order; returns how many changed something. */
export async function applyDeliveryEvents(
  env: Env,
  db: Db,
  conn: InboundConnection,
  events: DeliveryEvent[],
) {
  let applied = 0;
  for (const e of events) {
    if (await applyOne(env, db, conn, e)) {
      applied++;
    }
  }
  return applied;
}
