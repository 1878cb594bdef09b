// The engine speaks plain zod and the routes document its schemas. Zod copies `.openapi()` onto
// a schema only as it is built, so an engine loaded before @hono/zod-openapi has schemas without
// it: the routes must document them whatever loads first (the Worker's import order is not
// designed around this).
import { describe, expect, it } from "vitest";
import { Cap, MailboxLimits } from "../../src/engine/governance";

describe("engine schemas documented at the routes", () => {
  it("builds the document when the engine loads before the OpenAPI library", async () => {
    // The order under test: these engine schemas were built before zod was extended.
    expect((Cap as unknown as { openapi?: unknown }).openapi).toBeUndefined();
    expect((MailboxLimits as unknown as { openapi?: unknown }).openapi).toBeUndefined();
    const { buildApp } = await import("../../src/app");
    const res = await buildApp().request("https://nudge.test/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { components: { schemas: Record<string, unknown> } };
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(["MailboxLimits", "FrequencyCap"]),
    );
  });
});
