import SwaggerParser from "@apidevtools/swagger-parser";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app";

interface Operation {
  security?: Record<string, unknown>[];
  parameters?: { in: string; name: string }[];
  requestBody?: { content: Record<string, unknown> };
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
}

async function documentOf() {
  const app = buildApp();
  const res = await app.request("https://nudge.test/openapi.json");
  expect(res.status).toBe(200);
  return {
    app,
    doc: (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, Operation>>;
    },
  };
}

/** The statuses every operation of a kind must document. */
function requiredErrors(path: string, op: Operation): number[] {
  const schemes = (op.security ?? []).flatMap((s) => Object.keys(s));
  const out = new Set<number>();
  const add = (...statuses: number[]) => {
    for (const s of statuses) {
      out.add(s);
    }
  };
  if (schemes.includes("bearerAuth")) {
    add(401, 429, 500);
  }
  if (schemes.includes("adminToken")) {
    add(401, 404, 500);
  }
  if (schemes.length > 0 && path.includes("{")) {
    add(404);
  }
  if (schemes.length > 0 && (op.parameters ?? []).some((p) => p.in === "query")) {
    add(422);
  }
  if (op.requestBody?.content["application/json"]) {
    add(400, 413, 415, 422);
  }
  if (path.startsWith("/t/") || path.startsWith("/inbound/")) {
    out.add(404);
  }
  return [...out].sort();
}

describe("the OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document listing every route the app serves", async () => {
    const { app, doc } = await documentOf();
    expect(doc.openapi).toBe("3.1.0");
    await SwaggerParser.validate(structuredClone(doc) as never);
    // Every route the app serves is documented (compare Hono's router with the document).
    const served = new Set(
      app.routes
        // ALL: middleware, and POST /mcp (a JSON-RPC endpoint, described in the brief and llms.txt).
        .filter((r) => r.method !== "ALL")
        .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, "{$1}")}`),
    );
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`)),
    );
    expect([...served].filter((r) => !documented.has(r))).toEqual([]);
    expect(served.size).toBeGreaterThan(50);
  });

  it("names every operation (a unique verbNoun operationId), summarises and tags it", async () => {
    const { doc } = await documentOf();
    const ops = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({
        where: `${method.toUpperCase()} ${path}`,
        ...(op as { operationId?: string; summary?: string; tags?: string[] }),
      })),
    );
    const ids = ops.map((o) => o.operationId);
    expect(
      ops.filter((o) => !o.operationId?.match(/^[a-z]+[A-Z]\w*$/)).map((o) => o.where),
    ).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    // Every JSON request body carries an example (checked against its schema at declaration).
    const bodies = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).flatMap(([method, op]) => {
        const media = op.requestBody?.content["application/json"] as
          | { example?: unknown }
          | undefined;
        return media ? [{ where: `${method.toUpperCase()} ${path}`, example: media.example }] : [];
      }),
    );
    expect(bodies.filter((b) => b.example === undefined).map((b) => b.where)).toEqual([]);
    expect(ops.filter((o) => !o.summary?.trim()).map((o) => o.where)).toEqual([]);
    expect(ops.filter((o) => !o.tags?.length).map((o) => o.where)).toEqual([]);
    const byPath = (method: string, path: string) =>
      ops.find((o) => o.where === `${method} ${path}`)?.operationId;
    expect({
      list: byPath("GET", "/v1/enrollments"),
      create: byPath("POST", "/v1/enrollments"),
      get: byPath("GET", "/v1/enrollments/{id}"),
      bulk: byPath("POST", "/v1/enrollments/bulk"),
      logs: byPath("GET", "/v1/enrollments/{id}/logs"),
      cancel: byPath("POST", "/v1/enrollments/{id}/cancel"),
      remove: byPath("DELETE", "/v1/enrollments/{id}"),
    }).toEqual({
      list: "listEnrollments",
      create: "createEnrollment",
      get: "getEnrollment",
      bulk: "bulkEnroll",
      logs: "listEnrollmentLogs",
      cancel: "cancelEnrollment",
      remove: "deleteEnrollment",
    });
  });

  it("documents, for every operation, the errors it can answer, each in the one error shape", async () => {
    const { doc } = await documentOf();
    const missing: string[] = [];
    const misshapen: string[] = [];
    let operations = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        operations++;
        for (const status of requiredErrors(path, op)) {
          if (!op.responses[String(status)]) {
            missing.push(`${method.toUpperCase()} ${path} ${status}`);
          }
        }
        for (const [status, response] of Object.entries(op.responses)) {
          if (Number(status) < 400) {
            continue;
          }
          if (
            response.content?.["application/json"]?.schema?.$ref !== "#/components/schemas/Error"
          ) {
            misshapen.push(`${method.toUpperCase()} ${path} ${status}`);
          }
        }
      }
    }
    expect(operations).toBeGreaterThan(60);
    expect(missing).toEqual([]);
    expect(misshapen).toEqual([]);
  });
});
