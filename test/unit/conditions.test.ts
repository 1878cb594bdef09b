import { describe, expect, it } from "vitest";
import { evaluate } from "../../src/engine/conditions";
import { chooseVariant } from "../../src/engine/split";

const scope = {
  contact: {
    email: "ada@example.com",
    data: {
      plan: "pro",
      score: 42,
      tags: ["vip", "beta"],
      signup: "2026-01-10T00:00:00Z",
      empty: "",
    },
  },
  vars: { hook: "Series A", limit: "10" },
  event: { amount: 99.5, nested: { ok: true } },
};

describe("conditions", () => {
  it.each([
    [{ field: "contact.data.plan", operator: "equals", value: "pro" }, true],
    [{ field: "contact.data.plan", operator: "equals", value: "free" }, false],
    [{ field: "contact.data.score", operator: "equals", value: "42" }, true],
    [{ field: "contact.data.plan", operator: "not_equals", value: "free" }, true],
    [{ field: "contact.email", operator: "contains", value: "EXAMPLE" }, true],
    [{ field: "contact.data.tags", operator: "contains", value: "vip" }, true],
    [{ field: "contact.data.tags", operator: "contains", value: "gold" }, false],
    [{ field: "contact.data.score", operator: "gt", value: 41 }, true],
    [{ field: "contact.data.score", operator: "gt", value: 42 }, false],
    [{ field: "contact.data.score", operator: "gte", value: 42 }, true],
    [{ field: "contact.data.score", operator: "lt", value: 50 }, true],
    [{ field: "contact.data.score", operator: "lte", value: 41 }, false],
    [{ field: "vars.limit", operator: "gt", value: 9 }, true],
    [{ field: "contact.data.signup", operator: "lt", value: "2026-02-01T00:00:00Z" }, true],
    [{ field: "event.amount", operator: "gte", value: 99.5 }, true],
    [{ field: "event.nested.ok", operator: "equals", value: true }, true],
    [{ field: "contact.data.plan", operator: "exists" }, true],
    [{ field: "contact.data.missing", operator: "exists" }, false],
    [{ field: "contact.data.empty", operator: "not_exists" }, true],
    [{ field: "contact.data.missing.deeper", operator: "not_exists" }, true],
    [{ field: "contact.data.plan", operator: "in", value: ["pro", "team"] }, true],
    [{ field: "contact.data.plan", operator: "in", value: ["free"] }, false],
  ] as const)("%j → %s", (cond, expected) => {
    expect(evaluate(cond as never, scope)).toBe(expected);
  });

  it("combines with all and any", () => {
    const pro = { field: "contact.data.plan", operator: "equals", value: "pro" } as const;
    const free = { field: "contact.data.plan", operator: "equals", value: "free" } as const;
    expect(
      evaluate({ all: [pro, { any: [free, { field: "vars.hook", operator: "exists" }] }] }, scope),
    ).toBe(true);
    expect(evaluate({ all: [pro, free] }, scope)).toBe(false);
    expect(evaluate({ any: [free, pro] }, scope)).toBe(true);
  });
});

describe("split", () => {
  it("is deterministic per enrollment and within ±2% of the weights over 10,000 ids", () => {
    const variants = [
      { key: "a", weight: 50 },
      { key: "b", weight: 30 },
      { key: "c", weight: 20 },
    ];
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 10_000; i++) {
      const id = `enr_01JD${i.toString(36).toUpperCase().padStart(22, "0")}`;
      const v = chooseVariant(id, "split1", variants);
      expect(chooseVariant(id, "split1", variants)).toBe(v);
      counts[v]++;
    }
    expect(Math.abs(counts.a / 10_000 - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(counts.b / 10_000 - 0.3)).toBeLessThan(0.02);
    expect(Math.abs(counts.c / 10_000 - 0.2)).toBeLessThan(0.02);
  });
});
