// Sending governance at its edges: the policy schemas, quiet hours that do not wrap, the ISO
// week at a year's turn, when a full cap reopens, what governSend decides and says, consent
// by topic, the warm-up allowance and the mailbox book's pruning.
import { describe, expect, it } from "vitest";
import {
  allowance,
  Cap,
  capReopens,
  capWindows,
  consentRefusal,
  governSend,
  type MailboxBook,
  nextSlot,
  QuietHours,
  quietHoursEnd,
} from "../../src/engine/governance";
import type { QuietHoursWindow } from "../../src/engine/types";

const at = (s: string) => Date.parse(s);
const iso = (ms: number) => new Date(ms).toISOString();
const issues = (r: {
  success: boolean;
  error?: { issues: { message: string; path: PropertyKey[] }[] };
}) => (r.success ? [] : (r.error?.issues ?? []).map((i) => `${i.path.join(".")}: ${i.message}`));

describe("the policy schemas", () => {
  it("take a cap per day, per week or both, as whole numbers in range", () => {
    expect(Cap.safeParse({ perDay: 0 }).success).toBe(true);
    expect(Cap.safeParse({ perWeek: 10_000 }).success).toBe(true);
    expect(Cap.safeParse({ perDay: 1000, perWeek: 1 }).success).toBe(true);
    expect(issues(Cap.safeParse({}))).toEqual([": Give perDay, perWeek or both"]);
    for (const bad of [{ perDay: -1 }, { perDay: 1001 }, { perDay: 1.5 }, { perWeek: 10_001 }]) {
      expect(Cap.safeParse(bad).success).toBe(false);
    }
    expect(Cap.safeParse({ perDay: 1, perMonth: 3 }).success).toBe(false);
  });

  it("take quiet hours as distinct 24 h HH:MM times, every day unless told", () => {
    expect(QuietHours.parse({ start: "22:00", end: "07:00" })).toEqual({
      days: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
      start: "22:00",
      end: "07:00",
    });
    expect(QuietHours.safeParse({ start: "00:00", end: "23:59", days: ["mon"] }).success).toBe(
      true,
    );
    expect(issues(QuietHours.safeParse({ start: "09:00", end: "09:00" }))).toEqual([
      "end: start and end must differ",
    ]);
    expect(issues(QuietHours.safeParse({ start: "24:00", end: "07:00" }))).toEqual([
      "start: Use HH:MM (24 h)",
    ]);
    for (const t of ["9:00", "09:60", "19:5", "x09:00", "09:00x", "30:00"]) {
      expect(QuietHours.safeParse({ start: t, end: "07:00" }).success).toBe(false);
    }
    expect(QuietHours.safeParse({ start: "20:00", end: "07:00", days: [] }).success).toBe(false);
  });
});

describe("quietHoursEnd within one day", () => {
  const q: QuietHoursWindow = { days: ["mon"], start: "12:00", end: "14:30" };
  const monday = (hhmm: string) => at(`2026-03-02T${hhmm}:00Z`);

  it("holds from the start minute until the end, on the listed days only", () => {
    expect(quietHoursEnd(monday("11:59"), "UTC", q)).toBe(monday("11:59"));
    expect(iso(quietHoursEnd(monday("12:00"), "UTC", q))).toBe("2026-03-02T14:30:00.000Z");
    expect(iso(quietHoursEnd(monday("14:29"), "UTC", q))).toBe("2026-03-02T14:30:00.000Z");
    expect(quietHoursEnd(monday("14:30"), "UTC", q)).toBe(monday("14:30"));
    const tuesday = at("2026-03-03T13:00:00Z");
    expect(quietHoursEnd(tuesday, "UTC", q)).toBe(tuesday);
  });

  it("for a wrapping window, holds until the end minute of the next morning", () => {
    const night: QuietHoursWindow = { days: ["mon"], start: "22:00", end: "07:15" };
    expect(iso(quietHoursEnd(at("2026-03-03T07:14:00Z"), "UTC", night))).toBe(
      "2026-03-03T07:15:00.000Z",
    );
    const past = at("2026-03-03T07:15:00Z");
    expect(quietHoursEnd(past, "UTC", night)).toBe(past);
    const before = at("2026-03-02T21:59:00Z");
    expect(quietHoursEnd(before, "UTC", night)).toBe(before);
  });
});

describe("capWindows and capReopens", () => {
  it("name the local day and ISO week, padded, with the week's Thursday deciding the year", () => {
    expect(capWindows(at("2026-03-02T12:00:00Z"), "UTC")).toEqual({
      day: "2026-03-02",
      week: "2026-W10",
    });
    expect(capWindows(at("2027-01-01T12:00:00Z"), "UTC")).toEqual({
      day: "2027-01-01",
      week: "2026-W53",
    });
    expect(capWindows(at("2026-12-28T12:00:00Z"), "UTC")).toEqual({
      day: "2026-12-28",
      week: "2026-W53",
    });
    expect(capWindows(at("2026-01-01T12:00:00Z"), "UTC")).toEqual({
      day: "2026-01-01",
      week: "2026-W01",
    });
    expect(capWindows(at("2025-12-29T12:00:00Z"), "UTC")).toEqual({
      day: "2025-12-29",
      week: "2026-W01",
    });
    expect(capWindows(at("2026-01-04T23:00:00Z"), "UTC").week).toBe("2026-W01");
    expect(capWindows(at("2026-01-05T00:00:00Z"), "UTC").week).toBe("2026-W02");
  });

  it("reopen a day cap at the next local midnight and a week cap on the next local Monday", () => {
    const ny = "America/New_York";
    const mondayNoon = at("2026-03-02T17:00:00Z");
    expect(iso(capReopens(mondayNoon, ny, "day"))).toBe("2026-03-03T05:00:00.000Z");
    expect(iso(capReopens(mondayNoon, ny, "week"))).toBe("2026-03-09T04:00:00.000Z");
    const sundayNoon = at("2026-03-01T17:00:00Z");
    expect(iso(capReopens(sundayNoon, ny, "week"))).toBe("2026-03-02T05:00:00.000Z");
  });
});

describe("governSend", () => {
  const quiet: QuietHoursWindow = { days: ["mon"], start: "12:00", end: "14:00" };
  const ctx = (now: number, blocked: Record<string, number> = {}, onCap?: "defer" | "skip") => ({
    key: "email.marketing",
    now,
    state: { timezone: "UTC" },
    step: { id: "s1" },
    def: { onCap },
    opts: { sending: { quietHours: quiet, blocked } },
  });
  const inside = at("2026-03-02T13:00:00Z");
  const outside = at("2026-03-02T15:00:00Z");
  const reopens = at("2026-03-03T00:00:00Z");

  it("lets transactional sends through, quiet hours and caps notwithstanding", () => {
    expect(
      governSend(ctx(inside, { "email.marketing": reopens }), "email", "transactional", false),
    ).toBeNull();
  });

  it("holds a marketing send until the quiet hours end, unless the channel has its own window", () => {
    expect(governSend(ctx(inside), "email", "marketing", false)).toEqual({
      kind: "wait",
      wait: { kind: "window", stepId: "s1", until: at("2026-03-02T14:00:00Z") },
      message:
        "Inside the org's quiet hours; the marketing email waits until 2026-03-02T14:00:00.000Z",
    });
    expect(governSend(ctx(inside), "sms", "marketing", false)?.message).toBe(
      "Inside the org's quiet hours; the marketing SMS waits until 2026-03-02T14:00:00.000Z",
    );
    expect(governSend(ctx(inside), "email", "marketing", true)).toBeNull();
    expect(governSend(ctx(outside), "email", "marketing", false)).toBeNull();
    expect(governSend({ ...ctx(inside), opts: {} }, "email", "marketing", false)).toBeNull();
  });

  it("defers a capped send until the cap reopens, or skips it when the workflow says so", () => {
    const blocked = { "email.marketing": reopens };
    expect(governSend(ctx(outside, blocked), "email", "marketing", false)).toEqual({
      kind: "wait",
      wait: { kind: "window", stepId: "s1", until: reopens },
      message:
        "Deferred by the org's frequency cap on marketing email; waiting until 2026-03-03T00:00:00.000Z",
    });
    expect(governSend(ctx(outside, blocked, "skip"), "sms", "marketing", false)).toEqual({
      kind: "outcome",
      outcome: "capped",
      message: "Not sent: the contact reached the org's frequency cap on marketing SMS",
    });
    expect(
      governSend(ctx(outside, { "sms.marketing": reopens }), "email", "marketing", false),
    ).toBeNull();
    // Quiet hours come first: inside them the cap is not consulted yet.
    expect(governSend(ctx(inside, blocked, "skip"), "email", "marketing", false)?.kind).toBe(
      "wait",
    );
  });
});

describe("consentRefusal", () => {
  it("refuses everything to a contact awaiting its double opt-in", () => {
    expect(consentRefusal({ consent: "pending" }, "transactional", undefined, undefined)).toBe(
      "the contact has not confirmed its subscription (double opt-in)",
    );
    expect(
      consentRefusal({ consent: "confirmed" }, "transactional", undefined, undefined),
    ).toBeNull();
  });

  it("sends marketing under a topic by the contact's own choice, else the topic's default, else yes", () => {
    const no = 'the contact is not subscribed to topic "news"';
    expect(consentRefusal({ topics: { news: false } }, "marketing", "news", { news: true })).toBe(
      no,
    );
    expect(
      consentRefusal({ topics: { news: true } }, "marketing", "news", { news: false }),
    ).toBeNull();
    expect(consentRefusal({}, "marketing", "news", { news: false })).toBe(no);
    expect(consentRefusal({ topics: {} }, "marketing", "news", { news: true })).toBeNull();
    expect(consentRefusal({}, "marketing", "news", undefined)).toBeNull();
    expect(
      consentRefusal({ topics: { news: false } }, "transactional", "news", undefined),
    ).toBeNull();
    expect(
      consentRefusal({ topics: { news: false } }, "marketing", undefined, undefined),
    ).toBeNull();
    expect(consentRefusal({ topics: { news: false } }, "marketing", "", undefined)).toBeNull();
  });
});

describe("mailbox allowance and book", () => {
  it("is the lower of perDay and the warm-up's day, unlimited when neither is set", () => {
    expect(allowance({}, 3)).toBe(Number.POSITIVE_INFINITY);
    expect(allowance({ perDay: 50 }, 3)).toBe(50);
    expect(allowance({ warmup: { startPerDay: 5, increasePerDay: 2 } }, 3)).toBe(11);
    expect(allowance({ warmup: { startPerDay: 5, increasePerDay: 2 } }, -2)).toBe(5);
    expect(allowance({ perDay: 8, warmup: { startPerDay: 5, increasePerDay: 2 } }, 3)).toBe(8);
  });

  it("keeps a fortnight of days in the book and the warm-up's first day", () => {
    const book: MailboxBook = {
      last: null,
      days: { "2026-03-01": 4, "2026-02-15": 9, "2026-02-14": 9 },
      firstDay: "2026-02-01",
    };
    const r = nextSlot(book, { timezone: "UTC" }, "k", at("2026-03-01T10:00:00Z"));
    expect(r.book).toEqual({
      last: at("2026-03-01T10:00:00Z"),
      days: { "2026-03-01": 5, "2026-02-15": 9 },
      firstDay: "2026-02-01",
    });
  });

  it("counts the warm-up from the book's first day", () => {
    const limits = { warmup: { startPerDay: 1, increasePerDay: 1 } };
    const now = at("2026-03-03T10:00:00Z");
    // Day 2 of the warm-up allows 3: two used, one left.
    const book: MailboxBook = { last: null, days: { "2026-03-03": 2 }, firstDay: "2026-03-01" };
    expect(nextSlot(book, limits, "k", now).at).toBe(now);
    const full: MailboxBook = { ...book, days: { "2026-03-03": 3 } };
    expect(iso(nextSlot(full, limits, "k", now).at)).toBe("2026-03-04T00:00:00.000Z");
  });
});
