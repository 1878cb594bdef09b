// The premise of the outbound policy (src/security/ssrf.ts): it judges names by spelling, since a
// deployed Worker reaches no private network except through Workers VPC bindings. Declaring one
// (or a service binding to a Worker that has one) would void that, so it must not slip in
// unnoticed.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");

describe("the Worker's egress", () => {
  it("declares no Workers VPC binding and no service binding, so private networks stay out of reach", () => {
    const toml = readFileSync(join(root, "wrangler.toml"), "utf8");
    const tables = [...toml.matchAll(/^\s*\[\[?\s*([\w.]+)\s*\]\]?/gm)].map((m) => m[1]);
    expect(tables.length).toBeGreaterThan(0);
    expect(tables.filter((t) => /^(vpc_services|vpc_networks|services)\b/.test(t))).toEqual([]);
    expect(toml).not.toMatch(/^\s*(vpc_services|vpc_networks|services)\s*=/m);
  });
});
