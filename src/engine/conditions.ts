// Condition evaluation over {contact, vars, event} with dotted field paths. Pure.
import type { Condition } from "./types";

export interface ConditionScope {
  contact: Record<string, unknown>;
  vars: Record<string, unknown>;
  event: Record<string, unknown>;
}

export function resolveField(scope: ConditionScope, field: string): unknown {
  const [root, ...rest] = field.split(".");
  let cur: unknown = scope[root as keyof ConditionScope];
  for (const part of rest) {
    if (cur == null || typeof cur !== "object") {
      return undefined;
    }
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function comparable(a: unknown, b: unknown): [number, number] | [string, string] | null {
  const na =
    typeof a === "number"
      ? a
      : typeof a === "string" && a.trim() !== "" && !Number.isNaN(Number(a))
        ? Number(a)
        : null;
  const nb =
    typeof b === "number"
      ? b
      : typeof b === "string" && b.trim() !== "" && !Number.isNaN(Number(b))
        ? Number(b)
        : null;
  if (na !== null && nb !== null) {
    return [na, nb];
  }
  if (typeof a === "string" && typeof b === "string") {
    const da = Date.parse(a);
    const db = Date.parse(b);
    if (
      !Number.isNaN(da) &&
      !Number.isNaN(db) &&
      /\d{4}-\d{2}-\d{2}/.test(a) &&
      /\d{4}-\d{2}-\d{2}/.test(b)
    ) {
      return [da, db];
    }
    return [a, b];
  }
  return null;
}

function equal(a: unknown, b: unknown): boolean {
  if (a === b) {
    return true;
  }
  const c = comparable(a, b);
  if (c && typeof c[0] === "number") {
    return c[0] === c[1];
  }
  if (typeof a === "boolean" || typeof b === "boolean") {
    return String(a) === String(b);
  }
  if (a && b && typeof a === "object" && typeof b === "object") {
    return JSON.stringify(a) === JSON.stringify(b);
  }
  return false;
}

export function evaluate(cond: Condition, scope: ConditionScope): boolean {
  if ("all" in cond) {
    return cond.all.every((c) => evaluate(c, scope));
  }
  if ("any" in cond) {
    return cond.any.some((c) => evaluate(c, scope));
  }
  const actual = resolveField(scope, cond.field);
  const expected = cond.value;
  switch (cond.operator) {
    case "exists":
      return actual !== undefined && actual !== null && actual !== "";
    case "not_exists":
      return actual === undefined || actual === null || actual === "";
    case "equals":
      return equal(actual, expected);
    case "not_equals":
      return !equal(actual, expected);
    case "contains":
      if (typeof actual === "string") {
        return (
          typeof expected === "string" && actual.toLowerCase().includes(expected.toLowerCase())
        );
      }
      if (Array.isArray(actual)) {
        return actual.some((v) => equal(v, expected));
      }
      return false;
    case "in":
      return Array.isArray(expected) && expected.some((v) => equal(actual, v));
    case "gt":
    case "gte":
    case "lt":
    case "lte": {
      const c = comparable(actual, expected);
      if (!c) {
        return false;
      }
      const [x, y] = c as [number | string, number | string];
      if (cond.operator === "gt") {
        return x > y;
      }
      if (cond.operator === "gte") {
        return x >= y;
      }
      if (cond.operator === "lt") {
        return x < y;
      }
      return x <= y;
    }
  }
}
