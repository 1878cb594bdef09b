// Quiet hours that wrap midnight belong to the day they start on, in the contact's zone: a send
// just after midnight is governed by last night's window, and counted in the local day it goes.
import { describe, expect, it } from "vitest";
import { advance, initialState } from "../../src/engine/advance";
import { capWindows, quietHoursEnd } from "../../src/engine/governance";
import type { WorkflowDefinition } from "../../src/engine/types";

const NY = "America/New_York"; // UTC-5 in December
const at = (iso: string) => Date.parse(iso);
/** Friday nights only: 21:00 Friday until 08:00 Saturday, New York time. */
const FRIDAY_NIGHT = { days: ["fri" as const], start: "21:00", end: "08:00" };

describe("quietHoursEnd() with a window that wraps midnight", () => {
  it("just after midnight on Saturday is still Friday's window: it ends at 08:00 Saturday", () => {
    // Sat 2026-12-05 00:30 in New York (05:30 UTC).
    expect(
      new Date(quietHoursEnd(at("2026-12-05T05:30:00Z"), NY, FRIDAY_NIGHT)).toISOString(),
    ).toBe("2026-12-05T13:00:00.000Z");
    // And up to the minute before it ends.
    expect(
      new Date(quietHoursEnd(at("2026-12-05T12:59:00Z"), NY, FRIDAY_NIGHT)).toISOString(),
    ).toBe("2026-12-05T13:00:00.000Z");
  });

  it("just after midnight on Friday is Thursday's night, which is not quiet: the send goes now", () => {
    const now = at("2026-12-04T05:30:00Z"); // Fri 00:30 in New York
    expect(quietHoursEnd(now, NY, FRIDAY_NIGHT)).toBe(now);
  });

  it("Friday from 21:00 is quiet until 08:00 Saturday; Saturday at 21:00 is not quiet", () => {
    expect(
      new Date(quietHoursEnd(at("2026-12-05T02:00:00Z"), NY, FRIDAY_NIGHT)).toISOString(),
    ).toBe("2026-12-05T13:00:00.000Z"); // Fri 21:00 New York
    const saturdayNight = at("2026-12-06T02:30:00Z"); // Sat 21:30 New York
    expect(quietHoursEnd(saturdayNight, NY, FRIDAY_NIGHT)).toBe(saturdayNight);
    const sundayMorning = at("2026-12-06T06:00:00Z"); // Sun 01:00 New York: Saturday's night
    expect(quietHoursEnd(sundayMorning, NY, FRIDAY_NIGHT)).toBe(sundayMorning);
  });

  it("decides by the contact's zone, not UTC's day", () => {
    // 2026-12-05T05:30Z is Saturday 00:30 in New York but Friday 21:30 in Los Angeles:
    // both inside Friday's window, each ending at its own local 08:00 Saturday.
    const now = at("2026-12-05T05:30:00Z");
    expect(new Date(quietHoursEnd(now, "America/Los_Angeles", FRIDAY_NIGHT)).toISOString()).toBe(
      "2026-12-05T16:00:00.000Z",
    );
    // Saturday 14:30 in Tokyo: outside any Friday-night window there.
    expect(quietHoursEnd(now, "Asia/Tokyo", FRIDAY_NIGHT)).toBe(now);
  });
});

describe("capWindows(): the day a send just after midnight counts in", () => {
  it("is the contact's local day and ISO week, not UTC's", () => {
    // Mon 2026-12-07 00:30 in Tokyo is still Sunday (ISO week 49) in UTC.
    expect(capWindows(at("2026-12-06T15:30:00Z"), "Asia/Tokyo")).toEqual({
      day: "2026-12-07",
      week: "2026-W50",
    });
    // Sat 00:30 in New York is already Saturday in UTC too; Fri 23:30 there is Saturday in UTC.
    expect(capWindows(at("2026-12-05T05:30:00Z"), NY).day).toBe("2026-12-05");
    expect(capWindows(at("2026-12-05T04:30:00Z"), NY).day).toBe("2026-12-04");
  });
});

describe("a marketing email under wrapping quiet hours, through advance()", () => {
  const def: WorkflowDefinition = {
    id: "wf_1",
    name: "Promo",
    version: 1,
    steps: [{ id: "m", type: "send_email", config: { subject: "Sale", html: "<p>Sale</p>" } }],
    transitions: [],
  };
  const state = initialState(
    {
      id: "enr_1",
      orgId: "org_1",
      workflowId: "wf_1",
      contactId: "con_1",
      contact: { email: "ada@example.com", subscribed: true, suppressed: null, data: {} },
      vars: {},
      event: {},
      timezone: NY,
      bypassSendWindow: false,
    },
    null,
  );
  const sending = { quietHours: FRIDAY_NIGHT, blocked: {} };

  it("waits at 00:30 Saturday until Friday's window ends, then sends", () => {
    const r = advance(def, state, { type: "start" }, at("2026-12-05T05:30:00Z"), { sending });
    expect(r.effects.filter((e) => e.type === "send_email")).toEqual([]);
    expect(r.state.wait).toMatchObject({ kind: "window", until: at("2026-12-05T13:00:00Z") });
    const later = advance(def, r.state, { type: "wake" }, at("2026-12-05T13:00:00Z"), { sending });
    expect(later.effects.filter((e) => e.type === "send_email")).toHaveLength(1);
  });

  it("sends at once at 00:30 Friday (Thursday's night is not quiet)", () => {
    const r = advance(def, state, { type: "start" }, at("2026-12-04T05:30:00Z"), { sending });
    expect(r.state.wait).toBeNull();
    expect(r.effects.filter((e) => e.type === "send_email")).toHaveLength(1);
  });
});
