// Drive enrollment objects from tests: fire alarms now, read their state.
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
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
