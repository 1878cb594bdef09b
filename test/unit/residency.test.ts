// Data residency's Durable Object side: ids minted for an org kept in a region carry its mark,
// and an object named by such an id is asked for in that region's jurisdiction.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/ground/env";
import { ID_SHAPE, markRegion, newId, regionOfId, seededId } from "../../src/ground/ids";
import { inJurisdiction, objectNamed } from "../../src/ground/objects";

describe("region marks on ids", () => {
  it("leaves the ids of orgs without a region as they were: Crockford base32, never marked", () => {
    for (let i = 0; i < 2_000; i++) {
      const id = newId("enr");
      expect(id).toMatch(/^enr_[0-9A-HJKMNP-TV-Z]{26}$/);
      expect(regionOfId(id)).toBeNull();
    }
  });

  it("ends an id minted for a region in its mark, keeping the shape and the time order", () => {
    const now = Date.UTC(2026, 11, 3);
    const eu = newId("enr", now, "eu");
    const us = newId("cxn", now, "fedramp");
    expect(eu).toMatch(ID_SHAPE);
    expect(eu.endsWith("EU")).toBe(true);
    expect(regionOfId(eu)).toBe("eu");
    expect(regionOfId(us)).toBe("fedramp");
    expect(eu.slice(4, 14)).toBe(newId("enr", now).slice(4, 14));
    expect(newId("enr", now + 1, "eu") > eu).toBe(true);
    // Names that end in an id (an agent gate's `agent:agt_…`) carry its region too.
    expect(regionOfId(`agent:${newId("agt", now, "eu")}`)).toBe("eu");
    expect(regionOfId(`agent:${newId("agt", now)}`)).toBeNull();
  });

  it("marks idempotently, and seeded ids stay stable per seed with or without a region", async () => {
    const id = newId("enr", Date.now(), "eu");
    expect(markRegion(id, "eu")).toBe(id);
    expect(markRegion(id, null)).toBe(id);
    const now = Date.now();
    const plain = await seededId("enr", now, "evt_1:wf_1");
    expect(await seededId("enr", now, "evt_1:wf_1")).toBe(plain);
    expect(regionOfId(plain)).toBeNull();
    const eu = await seededId("enr", now, "evt_1:wf_1", "eu");
    expect(eu).toBe(markRegion(plain, "eu"));
    expect(await seededId("enr", now, "evt_1:wf_1", "eu")).toBe(eu);
  });
});

/** A namespace that records which jurisdiction each object was asked for in. */
function recordingNamespace() {
  const asked: { jurisdiction: string | null; name: string }[] = [];
  const make = (jurisdiction: string | null): DurableObjectNamespace => {
    const ns = {
      jurisdiction: (j: string) => make(j),
      idFromName: (name: string) => ({ name, jurisdiction }) as unknown as DurableObjectId,
      get: (id: DurableObjectId) => {
        const { name } = id as unknown as { name: string };
        asked.push({ jurisdiction, name });
        return {} as DurableObjectStub;
      },
    };
    return ns as unknown as DurableObjectNamespace;
  };
  return { ns: make(null), asked };
}

const production = { ENVIRONMENT: "production" } as Env;
const local = { ENVIRONMENT: "test" } as Env;

describe("objects in their jurisdiction", () => {
  it("asks for a marked id's object in its region's jurisdiction, a plain one's in none", () => {
    const { ns, asked } = recordingNamespace();
    const eu = newId("enr", Date.now(), "eu");
    const plain = newId("enr");
    const gate = `template:${newId("atp", Date.now(), "fedramp")}`;
    objectNamed(production, ns, eu);
    objectNamed(production, ns, plain);
    objectNamed(production, ns, gate);
    expect(asked).toEqual([
      { jurisdiction: "eu", name: eu },
      { jurisdiction: null, name: plain },
      { jurisdiction: "fedramp", name: gate },
    ]);
  });

  it("local workerd cannot place objects in a jurisdiction: outside production they stay local", () => {
    // The real binding: workerd refuses jurisdiction() ("not implemented in workerd").
    const real = env.ENROLLMENT as unknown as DurableObjectNamespace;
    expect(() => real.jurisdiction("eu")).toThrow(/not implemented in workerd/);
    expect(inJurisdiction(local, real, "eu")).toBe(real);
    expect(inJurisdiction(local, real, null)).toBe(real);
    // In production a runtime that cannot honour the region fails rather than ignore it.
    expect(() => inJurisdiction(production, real, "eu")).toThrow(/not implemented in workerd/);
    expect(inJurisdiction(production, real, null)).toBe(real);
  });
});
