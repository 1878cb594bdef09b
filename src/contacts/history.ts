// What happened to a contact: system events (`email.*`, `contact.unsubscribed`, ...) are stored
// and published to the org's webhooks where they happen, and their fan-out to enrollments
// (triggers, waits, exitOn) is queued for the event consumer — so a consumer or a request that
// records an event never enrolls anyone inline.
import type { Db } from "../db/client";
import type { Env } from "../ground/env";
import { newId, seededId } from "../ground/ids";
import { Memo } from "../ground/memo";
import type { SystemEvent } from "../ground/queues";
import { sendInSlices } from "../ground/retry";
import { outboundEvent, subscriptionsOf, wants } from "../webhooks";
import { insertEvents } from "./events-store";

export async function recordSystemEvents(
  env: Env,
  db: Db,
  list: SystemEvent[],
  memo = new Memo(),
  now = Date.now(),
) {
  if (list.length === 0) {
    return;
  }
  const wanted = await Promise.all(
    list.map(async (e) => wants(await subscriptionsOf(db, e.orgId, memo), e.name)),
  );
  const published = await Promise.all(
    list
      .filter((_, i) => wanted[i])
      .map(async (e) => ({
        kind: "publish" as const,
        orgId: e.orgId,
        event: await outboundEvent(e.name, { contactId: e.contactId, ...e.data }, e.key),
        trace: e.trace,
      })),
  );
  await sendInSlices(env.WEBHOOK_QUEUE, published);
  await insertEvents(
    db,
    await Promise.all(
      list.map(async (e) => {
        // A retried recording of the same event (same key) is not stored twice: with its time
        // known, by an id derived from both (no client id, one index entry fewer to write);
        // else by the key as its client id.
        const seeded = e.key !== undefined && e.at !== undefined;
        return {
          id: seeded ? await seededId("evt", e.at as number, e.key as string) : newId("evt", now),
          orgId: e.orgId,
          contactId: e.contactId,
          name: e.name,
          data: e.data,
          occurredAt: e.at ?? now,
          receivedAt: now,
          clientId: seeded ? null : (e.key ?? null),
        };
      }),
    ),
  );
  // One trace for the job when its events share one (each event keeps its own).
  const traces = new Set(list.map((e) => e.trace));
  await env.EVENT_QUEUE.send({
    kind: "system",
    events: list,
    trace: traces.size === 1 ? list[0].trace : undefined,
  });
}

/** One system event; see recordSystemEvents. */
export function recordSystemEvent(env: Env, db: Db, e: SystemEvent, memo?: Memo) {
  return recordSystemEvents(env, db, [e], memo);
}
