// Delays and windows at their edges: fractions of a day, the seconds of a delay's start, a
// local time equal to now, a window's first and last minute, and the phone channels' window.
import { describe, expect, it } from "vitest";
import {
  addDelay,
  callWindowOpen,
  DEFAULT_CALL_WINDOW,
  inSendWindow,
  nextLocalTime,
  nextWindowOpen,
} from "../../src/engine/schedule";
import type { EnrollmentState, SendWindow, WorkflowDefinition } from "../../src/engine/types";

const iso = (ms: number) => new Date(ms).toISOString();
const at = (s: string) => Date.parse(s);
const NY = "America/New_York";

describe("addDelay", () => {
  it("adds fractional days and weeks as exact durations", () => {
    const now = at("2026-03-07T14:00:00Z");
    expect(iso(addDelay(now, 1.5, "days", NY))).toBe("2026-03-09T02:00:00.000Z");
    expect(iso(addDelay(now, 0.5, "weeks", NY))).toBe("2026-03-11T02:00:00.000Z");
  });

  it("keeps the start's seconds and milliseconds on a day delay across DST", () => {
    // 12:00:30.250 EST on Saturday → 12:00:30.250 EDT on Sunday.
    const now = at("2026-03-07T17:00:30.250Z");
    expect(iso(addDelay(now, 1, "days", NY))).toBe("2026-03-08T16:00:30.250Z");
  });
});

describe("nextLocalTime", () => {
  it("is strictly after now: at 09:00 sharp, 09:00 is tomorrow's", () => {
    const nineEst = at("2026-03-02T14:00:00Z"); // Monday 09:00 EST
    expect(iso(nextLocalTime(nineEst, NY, "09:00"))).toBe("2026-03-03T14:00:00.000Z");
    expect(iso(nextLocalTime(nineEst - 1, NY, "09:00"))).toBe("2026-03-02T14:00:00.000Z");
  });

  it("treats an empty day list as every day", () => {
    const sundayNight = at("2026-03-02T02:00:00Z"); // Sunday 21:00 EST
    expect(iso(nextLocalTime(sundayNight, NY, "09:00", []))).toBe("2026-03-02T14:00:00.000Z");
  });

  it("moves whole local days first, then to the first allowed day", () => {
    const mondayNoon = at("2026-03-02T17:00:00Z");
    expect(iso(nextLocalTime(mondayNoon, NY, "08:00", undefined, 1))).toBe(
      "2026-03-03T13:00:00.000Z",
    );
    expect(iso(nextLocalTime(mondayNoon, NY, "08:00", ["mon"], 1))).toBe(
      "2026-03-09T12:00:00.000Z",
    );
  });

  it("names the time and zone when no allowed day exists", () => {
    expect(() => nextLocalTime(0, "UTC", "09:00", ["someday" as never])).toThrow(
      "no local time 09:00 found in UTC",
    );
  });
});

describe("send windows", () => {
  const w: SendWindow = { days: ["mon"], start: "09:30", end: "17:15" };
  const monday = (hhmm: string) => at(`2026-03-02T${hhmm}:00Z`);

  it("open at the start minute and close at the end minute, minutes counted", () => {
    expect(inSendWindow(monday("09:10"), "UTC", w)).toBe(false);
    expect(inSendWindow(monday("09:29"), "UTC", w)).toBe(false);
    expect(inSendWindow(monday("09:30"), "UTC", w)).toBe(true);
    expect(inSendWindow(monday("09:45"), "UTC", w)).toBe(true);
    expect(inSendWindow(monday("17:14"), "UTC", w)).toBe(true);
    expect(inSendWindow(monday("17:15"), "UTC", w)).toBe(false);
    expect(inSendWindow(at("2026-03-03T10:00:00Z"), "UTC", w)).toBe(false);
  });

  it("say when they next open, and fail plainly when they never do", () => {
    expect(iso(nextWindowOpen(monday("17:15"), "UTC", w))).toBe("2026-03-09T09:30:00.000Z");
    expect(iso(nextWindowOpen(monday("09:10"), "UTC", w))).toBe("2026-03-02T09:30:00.000Z");
    expect(() => nextWindowOpen(0, "UTC", { ...w, days: [] })).toThrow("send window never opens");
  });
});

describe("callWindowOpen", () => {
  const state = (bypassCallWindow?: boolean) =>
    ({ timezone: NY, bypassCallWindow }) as unknown as EnrollmentState;
  const def = (callWindow?: SendWindow) => ({ callWindow }) as unknown as WorkflowDefinition;

  it("defaults to 08:00–21:00 local, every day", () => {
    expect(DEFAULT_CALL_WINDOW).toEqual({
      days: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
      start: "08:00",
      end: "21:00",
    });
    const sunday7 = at("2026-03-01T12:00:00Z"); // Sunday 07:00 EST
    expect(iso(callWindowOpen(sunday7, state(), def()))).toBe("2026-03-01T13:00:00.000Z");
    const sunday21 = at("2026-03-02T02:00:00Z"); // Sunday 21:00 EST
    expect(iso(callWindowOpen(sunday21, state(), def()))).toBe("2026-03-02T13:00:00.000Z");
    const sunday20 = at("2026-03-02T01:59:00Z");
    expect(callWindowOpen(sunday20, state(), def())).toBe(sunday20);
  });

  it("uses the workflow's narrower window, and nothing when the enrollment bypasses it", () => {
    const sunday7 = at("2026-03-01T12:00:00Z");
    const weekdays: SendWindow = { days: ["mon"], start: "10:00", end: "12:00" };
    expect(iso(callWindowOpen(sunday7, state(), def(weekdays)))).toBe("2026-03-02T15:00:00.000Z");
    expect(callWindowOpen(sunday7, state(true), def(weekdays))).toBe(sunday7);
  });
});
