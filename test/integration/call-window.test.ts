// A call is placed only inside the call window in the contact's zone: 08:00–21:00 by default,
// or the workflow's narrower `callWindow`. Outside it the step waits for the window to open,
// and the call goes only then. (The other call tests enroll with bypassCallWindow.)
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { EnrollmentDO } from "../../src/enrollments/object/enrollment";
import { activeWorkflow, call, newOrg, poll } from "../helpers/api";
import { fireAlarm, settle, stubOf } from "../helpers/enrollments";

const RING = { id: "ring", type: "call", config: { script: "Hello {{ contact.firstName }}." } };
const ALL_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/** An Etc/GMT zone where the local hour is now `hour` (Etc names the offset with the opposite sign). */
function zoneAtLocalHour(hour: number) {
  let offset = (hour - new Date().getUTCHours() + 24) % 24;
  if (offset > 12) {
    offset -= 24;
  }
  return offset === 0 ? "Etc/GMT" : `Etc/GMT${offset > 0 ? "-" : "+"}${Math.abs(offset)}`;
}

const localTime = (iso: string, zone: string) =>
  new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit" }).format(
    Date.parse(iso),
  );

const calls = async (key: string) =>
  (await call("GET", "/v1/outbox?channel=call", { key })).json.data as {
    to: string;
    text: string;
  }[];

async function enrollAt(key: string, workflowId: string, phone: string, zone: string) {
  const res = await call("POST", "/v1/enrollments", {
    key,
    body: { workflowId, contact: { phone, firstName: "Nina", timezone: zone } },
  });
  expect(res.status, res.text).toBe(201);
  expect(res.json.bypassCallWindow).toBe(false);
  return res.json.id as string;
}

/**
 * Time travel to the window's opening: the step checks the real clock again when it wakes, so
 * the enrollment's zone moves to one where it is now `hour` local, and its wait expires.
 */
async function windowOpens(id: string, hour: number) {
  await runInDurableObject(stubOf(id), async (_i: EnrollmentDO, state) => {
    const s = state.storage.kv.get<{ timezone: string; wait: { until: number } | null }>("state");
    if (!s?.wait) {
      throw new Error("the enrollment is not waiting");
    }
    s.wait.until = Date.now() - 1;
    s.timezone = zoneAtLocalHour(hour);
    state.storage.kv.put("state", s);
  });
  expect(await fireAlarm(id)).toBe(true);
}

describe("the call window", () => {
  it("holds a call at 02:00 local until 08:00, then places it", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [RING]);
    const zone = zoneAtLocalHour(2);
    const id = await enrollAt(key, w.id, "+14155550171", zone);
    const waiting = await settle(key, id);
    expect(waiting).toMatchObject({ status: "waiting", currentStepId: "ring" });
    expect(localTime(waiting.nextRunAt, zone)).toBe("08:00");
    expect(await calls(key)).toEqual([]);

    // The window opens: now the call is placed, and the step waits for its outcome.
    await windowOpens(id, 8);
    const placed = await poll(
      () => calls(key),
      (c) => c.length === 1,
    );
    expect(placed[0]).toMatchObject({ to: "+14155550171", text: "Hello Nina." });
  });

  it("holds a call at 22:00 local (after the window closes) until 08:00 the next day", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [RING]);
    const zone = zoneAtLocalHour(22);
    const id = await enrollAt(key, w.id, "+14155550172", zone);
    const waiting = await settle(key, id);
    expect(waiting.status).toBe("waiting");
    expect(localTime(waiting.nextRunAt, zone)).toBe("08:00");
    expect(Date.parse(waiting.nextRunAt) - Date.now()).toBeGreaterThan(9 * 3_600_000);
    expect(await calls(key)).toEqual([]);
  });

  it("a workflow's callWindow (14:00–16:00) holds a call at 12:00 local until 14:00", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [RING], {
      callWindow: { days: ALL_DAYS, start: "14:00", end: "16:00" },
    });
    const zone = zoneAtLocalHour(12);
    const id = await enrollAt(key, w.id, "+14155550173", zone);
    const waiting = await settle(key, id);
    expect(waiting).toMatchObject({ status: "waiting", currentStepId: "ring" });
    expect(localTime(waiting.nextRunAt, zone)).toBe("14:00");
    expect(await calls(key)).toEqual([]);
    await windowOpens(id, 14);
    expect(
      await poll(
        () => calls(key),
        (c) => c.length === 1,
      ),
    ).toMatchObject([{ to: "+14155550173" }]);
  });

  it("inside the window (12:00 local, default window) the call goes at once", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [RING]);
    const id = await enrollAt(key, w.id, "+14155550174", zoneAtLocalHour(12));
    const ringing = await settle(key, id);
    expect(ringing).toMatchObject({ status: "waiting", currentStepId: "ring" });
    expect(
      await poll(
        () => calls(key),
        (c) => c.length === 1,
      ),
    ).toMatchObject([{ to: "+14155550174" }]);
  });
});
