// Drive enrollment objects from tests: fire alarms now, read their state.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { EnrollmentDO } from "../../src/enrollments/object/enrollment";
import { call, poll } from "./api";

export const stubOf = (id: string) => env.ENROLLMENT.get(env.ENROLLMENT.idFromName(id));

/** Fires the enrollment's alarm now (if one is set); returns whether one ran. */
export const fireAlarm = (id: string) => runDurableObjectAlarm(stubOf(id));

export async function enrollment(key: string, id: string) {
  return (await call("GET", `/v1/enrollments/${id}`, { key })).json;
}

/** Fires alarms until the enrollment is no longer `running`. */
export async function settle(key: string, id: string) {
  return poll(
    async () => {
      await fireAlarm(id);
      return enrollment(key, id);
    },
    (e) => e.status !== "running",
  );
}

/** Moves the enrollment's current wait into the past (time travel for delays), then fires its alarm. */
export async function expireWait(id: string) {
  await runInDurableObject(stubOf(id), async (_instance: EnrollmentDO, state) => {
    const s = state.storage.kv.get<{ wait: { until: number } | null }>("state");
    if (s?.wait) {
      s.wait.until = Date.now() - 1;
      state.storage.kv.put("state", s);
    }
  });
  return fireAlarm(id);
}

/** Keys of the effects the object has handed to queues and no consumer has confirmed yet. */
export const pendingEffects = (id: string) =>
  runInDurableObject(stubOf(id), async (_i: EnrollmentDO, state) =>
    state.storage.sql
      .exec<{ key: string }>("SELECT key FROM pending_effects")
      .toArray()
      .map((r) => r.key),
  );

/** Waits until every effect of the enrollment has been taken up by its consumer (the queues drained of its jobs). */
export const drained = (id: string) =>
  poll(
    () => pendingEffects(id),
    (keys) => keys.length === 0,
  );
