// Time zones at their edges: which names are accepted, weekdays, and wall-clock times that
// happen twice or never — in zones whose changes are not a whole hour or not at 02:00.
import { describe, expect, it } from "vitest";
import { capReopens, nextSlot } from "../../src/engine/governance";
import {
  addLocalDays,
  isTimeZone,
  localParts,
  parseHhMm,
  zonedTime,
} from "../../src/engine/timezones";

const iso = (ms: number) => new Date(ms).toISOString();
const local = (ms: number, tz: string) => {
  const p = localParts(ms, tz);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${p.year}-${pad(p.month)}-${pad(p.day)} ${pad(p.hour)}:${pad(p.minute)}`;
};

describe("isTimeZone", () => {
  it.each([
    "UTC",
    "America/New_York",
    "America/Argentina/Buenos_Aires",
    "America/Port-au-Prince",
    "Etc/GMT+5",
    "Etc/GMT-14",
  ])("accepts the IANA name %s", (tz) => {
    expect(isTimeZone(tz)).toBe(true);
    expect(isTimeZone(tz)).toBe(true);
  });

  it.each(["", "Not/AZone", "Europe/Paris/", "Europe/Paris x", "1Europe/Paris"])(
    "refuses %j, which Intl does not know",
    (tz) => {
      expect(isTimeZone(tz)).toBe(false);
    },
  );

  it.each(["+05:00", "EST5EDT", "GMT0"])(
    "refuses %s: Intl reads it, but it is an offset or a legacy POSIX name, not an IANA area/location",
    (tz) => {
      expect(isTimeZone(tz)).toBe(false);
    },
  );
});

describe("localParts", () => {
  it("names each weekday, Sunday 0 to Saturday 6", () => {
    const sunday = Date.parse("2026-03-01T12:00:00Z");
    const days = Array.from(
      { length: 7 },
      (_, i) => localParts(sunday + i * 86_400_000, "UTC").weekday,
    );
    expect(days).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it("reads the zone's wall clock, seconds included", () => {
    expect(localParts(Date.parse("2026-03-01T23:59:58Z"), "Asia/Kathmandu")).toEqual({
      year: 2026,
      month: 3,
      day: 2,
      hour: 5,
      minute: 44,
      second: 58,
      weekday: 1,
    });
  });
});

describe("zonedTime where the clock jumps", () => {
  it("takes the first of a time that happens twice, east of UTC too", () => {
    // Paris, 2026-10-25: 02:30 CEST (00:30 UTC), then 02:30 CET (01:30 UTC).
    expect(iso(zonedTime("Europe/Paris", 2026, 10, 25, 2, 30))).toBe("2026-10-25T00:30:00.000Z");
    // Lord Howe turns back half an hour (02:00 +11 → 01:30 +10:30): 01:45 at +11 first.
    expect(iso(zonedTime("Australia/Lord_Howe", 2026, 4, 5, 1, 45))).toBe(
      "2026-04-04T14:45:00.000Z",
    );
  });

  it("resolves a skipped time to the moment after the gap, for gaps of any length and start", () => {
    expect(iso(zonedTime("Europe/Paris", 2026, 3, 29, 2, 30))).toBe("2026-03-29T01:00:00.000Z");
    // Lord Howe skips 02:00–02:30 (+10:30 → +11); Chatham skips 02:45–03:45.
    expect(iso(zonedTime("Australia/Lord_Howe", 2026, 10, 4, 2, 15))).toBe(
      "2026-10-03T15:30:00.000Z",
    );
    expect(iso(zonedTime("Pacific/Chatham", 2026, 9, 27, 3, 0))).toBe("2026-09-26T14:00:00.000Z");
  });

  it("resolves a gap at midnight to 01:00 that day, not to 23:xx the day before", () => {
    // Santiago, Havana and Asunción move 00:00 → 01:00.
    for (const [tz, y, m, d] of [
      ["America/Santiago", 2026, 9, 6],
      ["America/Havana", 2026, 3, 8],
      ["America/Asuncion", 2024, 10, 6],
    ] as const) {
      expect(local(zonedTime(tz, y, m, d, 0, 0), tz)).toBe(
        `${y}-${String(m).padStart(2, "0")}-0${d} 01:00`,
      );
      expect(local(zonedTime(tz, y, m, d, 0, 30), tz)).toBe(
        `${y}-${String(m).padStart(2, "0")}-0${d} 01:00`,
      );
    }
  });

  it("resolves a day that never happened (Samoa, 30 December 2011) to the start of the next", () => {
    expect(iso(zonedTime("Pacific/Apia", 2011, 12, 30, 12, 0))).toBe("2011-12-30T10:00:00.000Z");
    expect(local(zonedTime("Pacific/Apia", 2011, 12, 31, 12, 0), "Pacific/Apia")).toBe(
      "2011-12-31 12:00",
    );
  });

  it("lets a full day cap reopen at Santiago's missing midnight, and a mailbox find its next slot", () => {
    const tz = "America/Santiago";
    const saturdayNoon = Date.parse("2026-09-05T16:00:00Z");
    expect(local(capReopens(saturdayNoon, tz, "day"), tz)).toBe("2026-09-06 01:00");
    const full = { last: saturdayNoon, days: { "2026-09-05": 1 }, firstDay: "2026-09-05" };
    const slot = nextSlot(full, { perDay: 1, timezone: tz }, "k", saturdayNoon);
    expect(local(slot.at, tz)).toBe("2026-09-06 01:00");
  });
});

describe("addLocalDays and parseHhMm", () => {
  it("rolls months and years and names the weekday", () => {
    expect(addLocalDays(2026, 12, 31, 1)).toEqual({ year: 2027, month: 1, day: 1, weekday: 5 });
    expect(addLocalDays(2028, 2, 28, 1)).toEqual({ year: 2028, month: 2, day: 29, weekday: 2 });
    expect(addLocalDays(2026, 3, 1, -1)).toEqual({ year: 2026, month: 2, day: 28, weekday: 6 });
  });

  it("reads HH:MM", () => {
    expect(parseHhMm("07:05")).toEqual({ hour: 7, minute: 5 });
  });
});
