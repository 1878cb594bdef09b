import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { routeQueue } from "../../src/ground/queues";
import { ADMIN_TOKEN, call, expectError, newOrg } from "../helpers/api";
import { DB } from "../helpers/db";
import { consume } from "../helpers/queues";

describe("health, bootstrap and account", () => {
  it("answers health without auth, with a request id", async () => {
    const res = await call("GET", "/health");
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: "ok" });
    expect(res.headers.get("x-request-id")).toMatch(/^req_/);
    expect((await call("GET", "/v1/health")).json).toEqual({ status: "ok" });
  });

  it("creates an org with the admin token and its key reads the account", async () => {
    const { key, orgId } = await newOrg("Acme");
    const res = await call("GET", "/v1/account", { key });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ id: orgId, name: "Acme" });
    expect(res.json.createdAt).toMatch(/Z$/);
  });

  it("hides the admin route (404) when ADMIN_TOKEN is not configured", async () => {
    const { createExecutionContext } = await import("cloudflare:test");
    const worker = (await import("../../src")).default;
    const req = new Request("https://nudge.test/v1/admin/orgs", {
      method: "POST",
      headers: { authorization: "Bearer anything", "content-type": "application/json" },
      body: '{"name":"x"}',
    });
    const res = await worker.fetch(
      req as Parameters<typeof worker.fetch>[0],
      { ...env, ADMIN_TOKEN: undefined },
      createExecutionContext(),
    );
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toBe("not_found");
  });

  it("refuses a wrong or missing admin token", async () => {
    expectError(
      await call("POST", "/v1/admin/orgs", {
        headers: { authorization: "Bearer nope" },
        body: { name: "x" },
      }),
      401,
      "unauthorized",
    );
    expectError(await call("POST", "/v1/admin/orgs", { body: { name: "x" } }), 401, "unauthorized");
  });
});

describe("error model", () => {
  it("answers an unknown route with a JSON 404", async () => {
    const { key } = await newOrg();
    const res = await call("GET", "/v1/nope", { key });
    expectError(res, 404, "not_found");
    expect(res.headers.get("x-request-id")).toBeTruthy();
    expectError(await call("GET", "/nope"), 404, "not_found");
  });

  it("turns zod failures into validation_failed with details", async () => {
    const { key } = await newOrg();
    const res = await call("POST", "/v1/api-keys", { key, body: { name: "", expiresInDays: "x" } });
    expectError(res, 422, "validation_failed");
    expect(res.json.details.map((d: { path: string }) => d.path).sort()).toEqual([
      "expiresInDays",
      "name",
    ]);
  });

  it("answers malformed JSON with 400 invalid_json", async () => {
    const { key } = await newOrg();
    expectError(
      await call("POST", "/v1/api-keys", {
        key,
        raw: '{"name": ',
        headers: { "content-type": "application/json" },
      }),
      400,
      "invalid_json",
    );
  });

  it("answers a non-JSON body with 415", async () => {
    const { key } = await newOrg();
    expectError(
      await call("POST", "/v1/api-keys", {
        key,
        raw: "name=x",
        headers: { "content-type": "application/x-www-form-urlencoded" },
      }),
      415,
      "unsupported_media_type",
    );
  });

  it("answers a body over 1 MiB with 413", async () => {
    const { key } = await newOrg();
    const big = JSON.stringify({ name: "x".repeat(1024 * 1024 + 10) });
    expectError(
      await call("POST", "/v1/api-keys", {
        key,
        raw: big,
        headers: { "content-type": "application/json" },
      }),
      413,
      "payload_too_large",
    );
  });
});

describe("auth", () => {
  it("refuses missing, malformed and unknown keys", async () => {
    expectError(await call("GET", "/v1/account"), 401, "unauthorized");
    expectError(await call("GET", "/v1/account", { key: "nope" }), 401, "unauthorized");
    expectError(
      await call("GET", "/v1/account", { key: `nk_live_${"a".repeat(32)}` }),
      401,
      "unauthorized",
    );
  });

  it("stops a revoked key at once and lists keys without secrets", async () => {
    const { key } = await newOrg();
    const created = await call("POST", "/v1/api-keys", { key, body: { name: "second" } });
    expect(created.status).toBe(201);
    expect(created.json.key).toMatch(/^nk_live_.{32,}$/);
    expect(created.json.lastFour).toBe(created.json.key.slice(-4));
    expect((await call("GET", "/v1/account", { key: created.json.key })).status).toBe(200);
    const list = await call("GET", "/v1/api-keys", { key });
    expect(list.json.data).toHaveLength(2);
    expect(JSON.stringify(list.json)).not.toContain(created.json.key);
    const revoked = await call("POST", `/v1/api-keys/${created.json.id}/revoke`, { key });
    expect(revoked.status).toBe(200);
    expect(revoked.json.revokedAt).toBeTruthy();
    expectError(await call("GET", "/v1/account", { key: created.json.key }), 401, "unauthorized");
  });

  it("refuses an expired key", async () => {
    const { key } = await newOrg();
    const created = await call("POST", "/v1/api-keys", {
      key,
      body: { name: "short", expiresInDays: 1 },
    });
    await DB.prepare("UPDATE api_keys SET expires_at = ? WHERE id = ?")
      .bind(Date.now() - 1000, created.json.id)
      .run();
    const res = await call("GET", "/v1/account", { key: created.json.key });
    expectError(res, 401, "unauthorized");
    expect(res.json.message).toMatch(/expired/);
  });

  it("hides another org's key behind a 404", async () => {
    const a = await newOrg("A");
    const b = await newOrg("B");
    const created = await call("POST", "/v1/api-keys", { key: a.key, body: { name: "a2" } });
    expectError(
      await call("GET", `/v1/api-keys/${created.json.id}`, { key: b.key }),
      404,
      "not_found",
    );
    expectError(
      await call("POST", `/v1/api-keys/${created.json.id}/revoke`, { key: b.key }),
      404,
      "not_found",
    );
    expect(
      (await call("GET", `/v1/api-keys/${created.json.id}`, { key: a.key })).json,
    ).toMatchObject({ id: created.json.id, revokedAt: null });
    expect((await call("GET", "/v1/account", { key: created.json.key })).status).toBe(200);
  });

  it("reports usage per key, exactly", async () => {
    const { key } = await newOrg();
    for (let i = 0; i < 3; i++) {
      await call("GET", "/v1/account", { key });
    }
    const second = (await call("POST", "/v1/api-keys", { key, body: { name: "second" } })).json;
    for (let i = 0; i < 2; i++) {
      await call("GET", "/v1/account", { key: second.key });
    }
    const usage = await call("GET", "/v1/api-keys/usage", { key });
    expect(usage.status).toBe(200);
    const by = Object.fromEntries(
      usage.json.data.map((u: { id: string; requests24h: number }) => [u.id, u.requests24h]),
    );
    const first = (await call("GET", "/v1/api-keys", { key: second.key })).json.data.find(
      (k: { name: string }) => k.name === "Default",
    ).id;
    // 3 reads, the key creation and the usage read itself; the second key's 2 reads.
    expect(by).toEqual({ [first]: 5, [second.id]: 2 });
    expect(usage.json.data.every((u: { lastUsedAt: string }) => /Z$/.test(u.lastUsedAt))).toBe(
      true,
    );
  });

  it("counts usage over the last 24 whole hours only", async () => {
    const { key } = await newOrg();
    const keyId = (await call("GET", "/v1/api-keys", { key })).json.data[0].id;
    const hour = Math.floor(Date.now() / 3_600_000);
    for (const [h, n] of [
      [hour - 23, 7],
      [hour - 24, 100],
      [hour - 30, 1000],
    ]) {
      await DB.prepare(
        "INSERT INTO api_key_usage (key_id, hour, requests, last_used_at) VALUES (?, ?, ?, ?)",
      )
        .bind(keyId, h, n, h * 3_600_000)
        .run();
    }
    const usage = await call("GET", "/v1/api-keys/usage", { key });
    expect(usage.json.data[0]).toMatchObject({ id: keyId, requests24h: 7 + 2 }); // the list call and this one
  });
});

describe("queues", () => {
  it.each([
    ["nudge-messages", "message", false],
    ["nudge-messages-0", "message", false],
    ["nudge-messages-17", "message", false],
    ["nudge-messages-dlq", "message", true],
    ["nudge-messages-3-dlq", "message", true],
    ["nudge-messages-dlq-3", "message", true],
    // The message queue's name before the rename, so a deployment can drain what it still holds.
    ["nudge-email", "message", false],
    ["nudge-email-0", "message", false],
    ["nudge-email-17", "message", false],
    ["nudge-email-dlq", "message", true],
    ["nudge-email-3-dlq", "message", true],
    ["nudge-email-dlq-3", "message", true],
    ["nudge-webhook-2", "webhook", false],
    ["nudge-webhook-dlq", "webhook", true],
    ["nudge-event", "event", false],
    ["nudge-event-12-staging", "event", false],
    ["nudge-event-dlq-production", "event", true],
  ])("routes %s to the %s consumer (dead letters: %s)", (name, kind, deadLetter) => {
    expect(routeQueue(name)).toEqual({ kind, deadLetter });
  });

  it.each([
    "nudge-mail",
    "nudge-message",
    "other-email",
    "nudge-email-x",
    "nudge-email-dlq-dlq",
    "nudge-messages-x",
  ])("knows no consumer for %s", (name) => {
    expect(routeQueue(name)).toBeNull();
  });

  it("processes a sharded queue's batch instead of retrying it", async () => {
    const { orgId } = await newOrg();
    const r = await consume("nudge-event-3", [
      { kind: "import", orgId, importId: "imp_gone", chunk: 0 },
    ]);
    expect(r.delayOf(0)).toBeNull();
    expect(r.retryBatch.retry).toBe(false);
    const unknown = await consume("nudge-mystery", [
      { kind: "import", orgId, importId: "imp_gone", chunk: 0 },
    ]);
    expect(unknown.retryBatch.retry).toBe(true);
  });
});

describe("idempotency", () => {
  it("replays an identical request and refuses a different body", async () => {
    const { key } = await newOrg();
    const headers = { "idempotency-key": '"abc-1"' };
    const first = await call("POST", "/v1/api-keys", { key, headers, body: { name: "k" } });
    expect(first.status).toBe(201);
    const again = await call("POST", "/v1/api-keys", {
      key,
      headers: { "idempotency-key": "abc-1" },
      body: { name: "k" },
    });
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.json.id).toBe(first.json.id);
    expectError(
      await call("POST", "/v1/api-keys", { key, headers, body: { name: "other" } }),
      422,
      "idempotency_key_reused",
    );
    const list = await call("GET", "/v1/api-keys", { key });
    expect(list.json.data).toHaveLength(2);
  });

  it("creates exactly one resource for 20 concurrent identical requests", async () => {
    const { key } = await newOrg();
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        call("POST", "/v1/api-keys", {
          key,
          headers: { "idempotency-key": "race-1" },
          body: { name: "race" },
        }),
      ),
    );
    const created = results.filter(
      (r) => r.status === 201 && r.headers.get("idempotent-replayed") !== "true",
    );
    expect(created).toHaveLength(1);
    for (const r of results) {
      if (r.status === 201) {
        expect(r.json.id).toBe(created[0].json.id);
      } else {
        expectError(r, 409, "idempotency_key_in_use");
      }
    }
    const list = await call("GET", "/v1/api-keys", { key });
    expect(list.json.data.filter((k: { name: string }) => k.name === "race")).toHaveLength(1);
  });

  it("keys are scoped per org", async () => {
    const a = await newOrg("A");
    const b = await newOrg("B");
    const ra = await call("POST", "/v1/api-keys", {
      key: a.key,
      headers: { "idempotency-key": "same" },
      body: { name: "k" },
    });
    const rb = await call("POST", "/v1/api-keys", {
      key: b.key,
      headers: { "idempotency-key": "same" },
      body: { name: "k" },
    });
    expect(rb.headers.get("idempotent-replayed")).toBeNull();
    expect(rb.json.id).not.toBe(ra.json.id);
  });

  it("replays an admin POST too (admin keys share one scope)", async () => {
    const headers = {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      "idempotency-key": `admin-${crypto.randomUUID()}`,
    };
    const first = await call("POST", "/v1/admin/orgs", { headers, body: { name: "Once" } });
    const again = await call("POST", "/v1/admin/orgs", { headers, body: { name: "Once" } });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.json.org.id).toBe(first.json.org.id);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
  });

  it("rejects an over-long key", async () => {
    const { key } = await newOrg();
    expectError(
      await call("POST", "/v1/api-keys", {
        key,
        headers: { "idempotency-key": "x".repeat(256) },
        body: { name: "k" },
      }),
      422,
      "validation_failed",
    );
  });
});

describe("rate limit", () => {
  it("answers 429 rate_limited with Retry-After past the per-key limit", {
    timeout: 60_000,
  }, async () => {
    const { key } = await newOrg();
    let limited: Awaited<ReturnType<typeof call>> | undefined;
    // The limiter counts in fixed 60 s windows (400 per window in tests): 900 requests fill one
    // window even when they straddle a window boundary.
    for (let i = 0; i < 900 && !limited; i++) {
      const res = await call("GET", "/v1/account", { key });
      if (res.status === 429) {
        limited = res;
      }
    }
    expect(limited).toBeDefined();
    expectError(limited as Awaited<ReturnType<typeof call>>, 429, "rate_limited");
    expect(Number(limited?.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});

describe("documentation", () => {
  it("serves the OpenAPI 3.1 document over HTTP (validated in test/node)", async () => {
    const res = await call("GET", "/openapi.json");
    expect(res.status).toBe(200);
    expect(res.json.openapi).toBe("3.1.0");
    const paths = Object.keys(res.json.paths);
    for (const p of [
      "/v1/admin/orgs",
      "/v1/account",
      "/v1/api-keys",
      "/v1/api-keys/usage",
      "/v1/api-keys/{id}/revoke",
      "/v1/contacts",
      "/v1/contacts/{id}/events",
      "/v1/events",
      "/v1/templates/{id}/preview",
      "/v1/workflows/step-types",
      "/v1/workflows/{id}/test",
      "/v1/enrollments/bulk",
      "/v1/workflows/{id}/enrollments/cancel-all",
      "/v1/imports",
      "/v1/outbox",
      "/v1/messages/{id}",
      "/v1/connections/{id}",
      "/v1/webhooks/{id}/rotate-secret",
      "/v1/webhooks/catalog",
      "/t/c/{token}",
      "/inbound/{provider}/{connectionId}",
    ]) {
      expect(paths).toContain(p);
    }
    expect(res.json.paths["/v1/contacts"].post.responses["422"]).toBeDefined();
  });

  it("serves the interactive reference and the agent brief", async () => {
    const docs = await call("GET", "/docs");
    expect(docs.status).toBe(200);
    expect(docs.text).toContain("/openapi-v1.json");
    // Its script comes from this Worker, not a CDN: the page works offline.
    expect(docs.text).toContain('src="/docs/scalar.js"');
    expect(docs.text).not.toMatch(/cdn\.jsdelivr|unpkg\.com/);
    const skills = await call("GET", "/docs/skills.md");
    expect(skills.status).toBe(200);
    expect(skills.headers.get("content-type")).toContain("text/markdown");
  });
});
