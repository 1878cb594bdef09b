// Provider event ids already applied, per connection (a redelivered provider webhook is
// ignored; one tenant's event ids never shadow another's).
import type { Db } from "./client";
import { inboundEvents } from "./schema";

export async function markInboundSeen(
  db: Db,
  connectionId: string,
  eventId: string,
  now = Date.now(),
) {
  const r = await db
    .insert(inboundEvents)
    .values({ connectionId, eventId, receivedAt: now })
    .onConflictDoNothing()
    .returning({ id: inboundEvents.eventId })
    .all();
  return r.length === 1;
}
