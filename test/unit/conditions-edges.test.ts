// Conditions at their edges: what counts as a number, a date or neither, equality across
// types, and each comparison at its boundary. A wrong branch here sends contacts down the
// wrong path of a workflow.
import { describe, expect, it } from "vitest";
import { evaluate } from "../../src/engine/conditions";
import type { Condition } from "../../src/engine/types";

const scope = {
  contact: {
    email: "ada@example.com",
    data: {
      plan: "pro",
      score: 42,
      blank: " ",
      empty: "",
      nil: null,
      yes: true,
      tags: ["vip", "beta"],
      signup: "2026-01-10T00:00:00Z",
    },
  },
  vars: {},
  event: { nested: { ok: true, n: 1 } },
};
const check = (field: string, operator: string, value?: unknown) =>
  evaluate({ field, operator, value } as Condition, scope);

describe("field paths", () => {
  it("do not read properties of strings or through null", () => {
    expect(check("contact.email.length", "not_exists")).toBe(true);
    expect(check("contact.data.nil.x", "not_exists")).toBe(true);
    expect(check("contact.data.tags.0", "equals", "vip")).toBe(true);
  });
});

describe("exists and not_exists", () => {
  it("count null and the empty string as missing, and nothing else", () => {
    expect(check("contact.data.nil", "exists")).toBe(false);
    expect(check("contact.data.empty", "exists")).toBe(false);
    expect(check("contact.data.blank", "exists")).toBe(true);
    expect(check("contact.data.nil", "not_exists")).toBe(true);
    expect(check("contact.data.plan", "not_exists")).toBe(false);
    expect(check("contact.data.score", "not_exists")).toBe(false);
  });
});

describe("numbers", () => {
  it("compare each operator at its boundary", () => {
    expect(check("contact.data.score", "gt", 41.9)).toBe(true);
    expect(check("contact.data.score", "gte", 42)).toBe(true);
    expect(check("contact.data.score", "gte", 41)).toBe(true);
    expect(check("contact.data.score", "gte", 43)).toBe(false);
    expect(check("contact.data.score", "lt", 42)).toBe(false);
    expect(check("contact.data.score", "lt", 43)).toBe(true);
    expect(check("contact.data.score", "lte", 42)).toBe(true);
    expect(check("contact.data.score", "lte", 43)).toBe(true);
    expect(check("contact.data.score", "lte", 41)).toBe(false);
  });

  it("read numeric strings on either side as numbers, not as text", () => {
    // As text "100" < "42"; as numbers it is the other way round.
    expect(check("contact.data.score", "lt", "100")).toBe(true);
    expect(check("vars.none", "lt", "100")).toBe(false);
    expect(check("contact.data.score", "equals", "42.0")).toBe(true);
    expect(check("contact.data.score", "equals", "43")).toBe(false);
    expect(check("contact.data.score", "not_equals", "43")).toBe(true);
  });

  it("never read blanks, null or booleans as 0 or 1", () => {
    expect(check("contact.data.blank", "gte", 0)).toBe(false);
    expect(check("contact.data.blank", "lte", 0)).toBe(false);
    expect(check("contact.data.nil", "lte", 0)).toBe(false);
    expect(check("contact.data.nil", "gte", 0)).toBe(false);
    expect(check("contact.data.yes", "gte", 1)).toBe(false);
    expect(check("contact.data.score", "gte", " ")).toBe(false);
    expect(check("contact.data.score", "gte", null)).toBe(false);
    expect(check("contact.data.score", "lte", true)).toBe(false);
    expect(check("contact.data.score", "gte", "abc")).toBe(false);
    expect(check("contact.data.score", "lte", "abc")).toBe(false);
  });
});

describe("text and dates", () => {
  it("compares text alphabetically", () => {
    expect(check("contact.data.plan", "gt", "abc")).toBe(true);
    expect(check("contact.data.plan", "lt", "abc")).toBe(false);
    expect(check("contact.data.plan", "lt", "zzz")).toBe(true);
    expect(check("contact.data.signup", "lt", "zzz")).toBe(true);
  });

  it("compares ISO dates as instants, whatever their offsets", () => {
    // 01:00 at +02:00 on the 10th is 23:00 UTC on the 9th: earlier, though it sorts later as text.
    expect(check("contact.data.signup", "gt", "2026-01-10T01:00:00+02:00")).toBe(true);
    expect(check("contact.data.signup", "lt", "2026-01-10T01:00:00+02:00")).toBe(false);
    expect(check("contact.data.signup", "equals", "2026-01-10T00:00:00.000Z")).toBe(true);
    expect(check("contact.data.signup", "equals", "2026-01-10T02:00:00+02:00")).toBe(true);
  });

  it("compares as text what is not a whole yyyy-mm-dd date, even when Date.parse reads it", () => {
    const at = (value: string) => ({ ...scope, vars: { value } });
    const gt = (a: string, b: string) =>
      evaluate({ field: "vars.value", operator: "gt", value: b }, at(a));
    // Each pair sorts one way as text and the other way as dates.
    expect(gt("Apr 1 2026", "Mar 1 2025")).toBe(false);
    expect(gt("9-01-05", "2026-01-05")).toBe(true);
    expect(gt("2026-01-05", "9-01-05")).toBe(false);
    expect(gt("abcd-01-05", "2026-01-05")).toBe(true);
    expect(gt("2026-01-05", "abcd-01-05")).toBe(false);
    expect(gt("2026-1-05", "2026-01-06")).toBe(true);
    expect(gt("2026-01-06", "2026-1-05")).toBe(false);
    expect(gt("2026-01-5", "2026-01-06")).toBe(true);
    expect(gt("2026-01-06", "2026-01-5")).toBe(false);
    // Text that holds a date but is not one compares as text on either side.
    expect(gt("ref 2026-01-05", "2026-01-04")).toBe(true);
    expect(gt("2026-01-04", "ref 2026-01-05")).toBe(false);
  });

  it("does not compare a list or an object with text", () => {
    expect(check("contact.data.tags", "gt", "a")).toBe(false);
    expect(check("contact.data.plan", "gt", ["a"])).toBe(false);
    expect(check("event.nested", "lt", "z")).toBe(false);
  });
});

describe("equality across types", () => {
  it("matches a boolean with its text, both ways", () => {
    expect(check("contact.data.yes", "equals", "true")).toBe(true);
    expect(check("contact.data.yes", "equals", "false")).toBe(false);
    expect(
      evaluate(
        { field: "vars.flag", operator: "equals", value: false },
        { ...scope, vars: { flag: "false" } },
      ),
    ).toBe(true);
  });

  it("compares lists and objects by value, in order", () => {
    expect(check("contact.data.tags", "equals", ["vip", "beta"])).toBe(true);
    expect(check("contact.data.tags", "equals", ["beta", "vip"])).toBe(false);
    expect(check("event.nested", "equals", { ok: true, n: 1 })).toBe(true);
    expect(check("event.nested", "equals", { ok: true, n: 2 })).toBe(false);
  });

  it("does not match text with a list or an object holding it", () => {
    expect(check("contact.data.plan", "equals", ["pro"])).toBe(false);
    expect(check("contact.data.tags", "equals", "vip,beta")).toBe(false);
    expect(check("contact.data.nil", "equals", {})).toBe(false);
    expect(check("contact.data.plan", "not_equals", ["pro"])).toBe(true);
  });
});

describe("contains and in", () => {
  it("finds text case-insensitively, list members by equality, and nothing in other values", () => {
    expect(check("contact.email", "contains", "zzz")).toBe(false);
    expect(check("contact.email", "contains", 5)).toBe(false);
    expect(check("contact.data.score", "contains", 4)).toBe(false);
    expect(check("contact.data.nil", "contains", "x")).toBe(false);
    expect(check("contact.data.tags", "contains", "VIP")).toBe(false);
  });

  it("needs a list to look in", () => {
    expect(check("contact.data.plan", "in", "pro")).toBe(false);
    expect(check("contact.data.score", "in", ["41", "42"])).toBe(true);
  });
});
