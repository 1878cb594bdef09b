// Provider event ids already applied (a redelivered provider webhook is ignored).
import type { Db } from "./client";
import { inboundEvents } from "./schema";

export async function markInboundSeen(db: Db, provider: string, eventId: string, now = Date.now()) {
  const r = await db
    .insert(inboundEvents)
    .values({ provider, eventId, receivedAt: now })
    .onConflictDoNothing()
    .returning({ id: inboundEvents.eventId })
    .all();
  return r.length === 1;
}
