// The cron watchdog: enrollments overdue by more than a minute are poked (their object
// re-arms a lost alarm), and reservations whose start never landed are started from D1.
import { database } from "./db/client";
import { overdueEnrollments } from "./db/enrollments";
import { purgeExpiredKeys } from "./db/idempotency";
import { enrollmentStub, startPayloadFromD1 } from "./enrollments";
import type { Env } from "./env";

const GRACE_MS = 60_000;
const BATCH = 500;

export async function runWatchdog(env: Env, now = Date.now()) {
  const db = database(env.DB);
  const overdue = await overdueEnrollments(db, now, GRACE_MS, BATCH);
  const outcomes: Record<string, number> = {};
  for (let i = 0; i < overdue.length; i += 25) {
    await Promise.all(
      overdue.slice(i, i + 25).map(async (row) => {
        const stub = enrollmentStub(env, row.id);
        let result = await stub.poke();
        if (result === "not_started") {
          const payload = await startPayloadFromD1(db, row);
          if (payload) {
            await stub.start(payload);
            result = "rearmed";
          }
        }
        outcomes[result] = (outcomes[result] ?? 0) + 1;
      }),
    );
  }
  await purgeExpiredKeys(db, now);
  if (overdue.length > 0) console.log(JSON.stringify({ level: "info", msg: "watchdog", overdue: overdue.length, outcomes }));
  return { overdue: overdue.length, outcomes };
}
