import { describe, expect, it } from "vitest";
import { type MailboxBook, type MailboxLimits, nextSlot } from "../../src/engine/governance";
import { addDelay, inSendWindow, nextLocalTime, nextWindowOpen } from "../../src/engine/schedule";
import { localParts, zonedTime } from "../../src/engine/timezones";

const iso = (ms: number) => new Date(ms).toISOString();
const weekdays = ["mon", "tue", "wed", "thu", "fri"] as const;

describe("local time arithmetic", () => {
  it("finds the instant of a wall-clock time in New York on both sides of DST", () => {
    expect(iso(zonedTime("America/New_York", 2026, 3, 7, 9, 0))).toBe("2026-03-07T14:00:00.000Z"); // EST
    expect(iso(zonedTime("America/New_York", 2026, 3, 9, 9, 0))).toBe("2026-03-09T13:00:00.000Z"); // EDT
    expect(iso(zonedTime("America/New_York", 2026, 11, 2, 9, 0))).toBe("2026-11-02T14:00:00.000Z"); // EST again
  });

  it("resolves a time skipped by spring-forward to the moment after the gap", () => {
    // 2026-03-08 02:30 does not exist in New York (02:00 → 03:00).
    expect(iso(zonedTime("America/New_York", 2026, 3, 8, 2, 30))).toBe("2026-03-08T07:00:00.000Z");
  });

  it("resolves an ambiguous fall-back time to its first occurrence", () => {
    // 2026-11-01 01:30 happens twice in New York; the first is EDT (UTC-4).
    expect(iso(zonedTime("America/New_York", 2026, 11, 1, 1, 30))).toBe("2026-11-01T05:30:00.000Z");
  });

  it("handles London's changes", () => {
    expect(iso(zonedTime("Europe/London", 2026, 3, 28, 9, 0))).toBe("2026-03-28T09:00:00.000Z"); // GMT
    expect(iso(zonedTime("Europe/London", 2026, 3, 30, 9, 0))).toBe("2026-03-30T08:00:00.000Z"); // BST
    expect(iso(zonedTime("Europe/London", 2026, 10, 26, 9, 0))).toBe("2026-10-26T09:00:00.000Z");
  });
});

describe("delays", () => {
  it("keeps the local time for day delays across spring-forward", () => {
    const start = Date.parse("2026-03-07T14:00:00Z"); // 09:00 EST on Saturday
    const next = addDelay(start, 2, "days", "America/New_York");
    expect(iso(next)).toBe("2026-03-09T13:00:00.000Z"); // 09:00 EDT on Monday
  });

  it("keeps the local time for week delays across London's fall-back", () => {
    const start = Date.parse("2026-10-20T08:00:00Z"); // 09:00 BST
    expect(iso(addDelay(start, 1, "weeks", "Europe/London"))).toBe("2026-10-27T09:00:00.000Z"); // 09:00 GMT
  });

  it("adds exact durations for seconds, minutes and hours", () => {
    const start = Date.parse("2026-03-08T06:30:00Z");
    expect(addDelay(start, 90, "seconds", "America/New_York") - start).toBe(90_000);
    expect(addDelay(start, 45, "minutes", "America/New_York") - start).toBe(2_700_000);
    expect(addDelay(start, 2, "hours", "America/New_York") - start).toBe(7_200_000);
    // 2026-03-08 is New York's spring-forward: exact durations ignore the wall clock.
    expect(addDelay(start, 150, "minutes", "America/New_York") - start).toBe(9_000_000);
  });

  it("untilLocalTime picks the next 09:00 strictly after now, honouring allowed days", () => {
    const fridayEvening = Date.parse("2026-03-06T23:00:00Z"); // Fri 18:00 EST
    expect(iso(nextLocalTime(fridayEvening, "America/New_York", "09:00"))).toBe(
      "2026-03-07T14:00:00.000Z",
    );
    expect(iso(nextLocalTime(fridayEvening, "America/New_York", "09:00", [...weekdays]))).toBe(
      "2026-03-09T13:00:00.000Z",
    );
  });

  it("untilLocalTime with a day count waits that many local days first", () => {
    const mondayNoon = Date.parse("2026-10-19T11:00:00Z"); // 12:00 BST
    expect(iso(nextLocalTime(mondayNoon, "Europe/London", "09:00", undefined, 7))).toBe(
      "2026-10-26T09:00:00.000Z",
    );
  });
});

describe("send windows", () => {
  const window = { days: [...weekdays], start: "09:00", end: "17:00" };

  it("is open inside business hours and closed outside", () => {
    expect(inSendWindow(Date.parse("2026-03-09T14:00:00Z"), "America/New_York", window)).toBe(true); // Mon 10:00 EDT
    expect(inSendWindow(Date.parse("2026-03-09T22:00:00Z"), "America/New_York", window)).toBe(
      false,
    ); // Mon 18:00
    expect(inSendWindow(Date.parse("2026-03-08T15:00:00Z"), "America/New_York", window)).toBe(
      false,
    ); // Sunday
  });

  it("opens next at 09:00 local on the next allowed day, across DST", () => {
    const saturday = Date.parse("2026-03-07T15:00:00Z"); // Sat 10:00 EST
    expect(iso(nextWindowOpen(saturday, "America/New_York", window))).toBe(
      "2026-03-09T13:00:00.000Z",
    ); // Mon 09:00 EDT
    const londonFriday = Date.parse("2026-10-23T17:00:00Z"); // Fri 18:00 BST
    expect(iso(nextWindowOpen(londonFriday, "Europe/London", window))).toBe(
      "2026-10-26T09:00:00.000Z",
    ); // Mon 09:00 GMT
  });

  it("returns now when already open", () => {
    const now = Date.parse("2026-03-09T14:00:00Z");
    expect(nextWindowOpen(now, "America/New_York", window)).toBe(now);
  });

  it("reads local parts in the zone", () => {
    expect(localParts(Date.parse("2026-03-09T13:00:00Z"), "America/New_York")).toMatchObject({
      hour: 9,
      minute: 0,
      weekday: 1,
    });
  });
});

describe("mailbox slots (nextSlot)", () => {
  const start = Date.parse("2026-11-26T22:00:00Z");
  const take = (limits: MailboxLimits, n: number, now = start) => {
    let book: MailboxBook = { last: null, days: {}, firstDay: null };
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const r = nextSlot(book, limits, `k${i}`, now);
      book = r.book;
      out.push(r.at);
    }
    return out.map((t) => new Date(t).toISOString());
  };

  it("spaces slots by the minimum gap and rolls to the next local midnight at perDay", () => {
    expect(take({ perDay: 3, minGapSeconds: 60, timezone: "UTC" }, 7)).toEqual([
      "2026-11-26T22:00:00.000Z",
      "2026-11-26T22:01:00.000Z",
      "2026-11-26T22:02:00.000Z",
      "2026-11-27T00:00:00.000Z",
      "2026-11-27T00:01:00.000Z",
      "2026-11-27T00:02:00.000Z",
      "2026-11-28T00:00:00.000Z",
    ]);
    // Days are the connection's: in New York it is still the 26th until 05:00 UTC.
    expect(take({ perDay: 2, timezone: "America/New_York" }, 3)[2]).toBe(
      "2026-11-27T05:00:00.000Z",
    );
  });

  it("adds up to jitterSeconds, the same for the same send, and ramps a warm-up", () => {
    const jittered = take({ minGapSeconds: 10, jitterSeconds: 20 }, 5).map((t) => Date.parse(t));
    const gaps = jittered.slice(1).map((t, i) => (t - jittered[i]) / 1000);
    expect(gaps.every((g) => g >= 10 && g < 30)).toBe(true);
    expect(take({ minGapSeconds: 10, jitterSeconds: 20 }, 5)).toEqual(
      jittered.map((t) => new Date(t).toISOString()),
    );
    // Warm-up 2 a day, +1 a day: 2 on day 0, 3 on day 1, 4 on day 2 (perDay 100 never binds).
    const days = take({ perDay: 100, warmup: { startPerDay: 2, increasePerDay: 1 } }, 9).map((t) =>
      t.slice(0, 10),
    );
    expect(days).toEqual([
      "2026-11-26",
      "2026-11-26",
      "2026-11-27",
      "2026-11-27",
      "2026-11-27",
      "2026-11-28",
      "2026-11-28",
      "2026-11-28",
      "2026-11-28",
    ]);
  });
});
