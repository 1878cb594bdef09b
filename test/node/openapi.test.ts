import SwaggerParser from "@apidevtools/swagger-parser";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app";

describe("the OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document with every served route and its error responses", async () => {
    const app = buildApp();
    const res = await app.request("https://nudge.test/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    expect(doc.openapi).toBe("3.1.0");
    await SwaggerParser.validate(structuredClone(doc) as never);

    // Every route the app serves is documented (compare Hono's router with the document).
    const served = new Set(
      app.routes
        .filter((r) => r.method !== "ALL" && !["/openapi.json", "/docs", "/docs/skills.md", "/health", "/v1/health"].includes(r.path))
        .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, "{$1}")}`),
    );
    const documented = new Set(Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`)));
    expect([...served].filter((r) => !documented.has(r))).toEqual([]);
    expect(served.size).toBeGreaterThan(50);
    // Authenticated routes document their errors.
    expect(doc.paths["/v1/contacts"].post.responses["422"]).toBeDefined();
    expect(doc.paths["/v1/enrollments"].post.responses["409"]).toBeDefined();
  });
});
