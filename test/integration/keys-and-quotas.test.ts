import { afterEach, describe, expect, it, vi } from "vitest";
import { ADMIN_TOKEN, activeWorkflow, call, expectError, newOrg } from "../helpers/api";
import { DB } from "../helpers/db";

afterEach(() => vi.restoreAllMocks());

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

describe("key scopes", () => {
  it("lets a send key add contacts, track events and enroll, and nothing that manages the org", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [{ id: "l", type: "log", config: { message: "hi" } }]);
    const minted = await call("POST", "/v1/api-keys", {
      key,
      body: { name: "signup service", scope: "send" },
    });
    expect(minted.status).toBe(201);
    expect(minted.json.scope).toBe("send");
    const send = minted.json.key as string;
    expect(
      (await call("POST", "/v1/contacts", { key: send, body: { email: "s@x.co" } })).status,
    ).toBe(201);
    expect(
      (
        await call("POST", "/v1/events", {
          key: send,
          body: { name: "signed_up", email: "s@x.co" },
        })
      ).status,
    ).toBe(202);
    expect(
      (
        await call("POST", "/v1/enrollments", {
          key: send,
          body: { workflowId: w.id, contact: { email: "s@x.co" } },
        })
      ).status,
    ).toBe(201);
    expect((await call("GET", `/v1/workflows/${w.id}`, { key: send })).status).toBe(200);
    for (const [method, path, body] of [
      ["POST", "/v1/api-keys", { name: "wider" }],
      ["GET", "/v1/api-keys", undefined],
      ["POST", "/v1/webhooks", { url: "https://hooks.example.com/x", events: ["*"] }],
      ["POST", "/v1/connections", { provider: "postmark", credentials: { serverToken: "t" } }],
      ["POST", "/v1/workflows", { name: "Mine" }],
      ["PATCH", `/v1/workflows/${w.id}`, { name: "Renamed" }],
    ] as const) {
      const res = await call(method, path, { key: send, body });
      expectError(res, 403, "forbidden");
    }
    expect((await call("GET", `/v1/workflows/${w.id}`, { key })).json.name).not.toBe("Renamed");
  });

  it("keys are full by default; a key cannot mint one that outlives it", async () => {
    const { key } = await newOrg();
    const full = (await call("POST", "/v1/api-keys", { key, body: { name: "ci" } })).json;
    expect(full.scope).toBe("full");
    expect(full.expiresAt).toBeNull();
    const shortLived = (
      await call("POST", "/v1/api-keys", { key, body: { name: "temp", expiresInDays: 10 } })
    ).json;
    const longer = await call("POST", "/v1/api-keys", {
      key: shortLived.key,
      body: { name: "child", expiresInDays: 30 },
    });
    expectError(longer, 403, "forbidden");
    expect(longer.json.message).toMatch(/outlive/);
    const inherits = await call("POST", "/v1/api-keys", {
      key: shortLived.key,
      body: { name: "child" },
    });
    expect(inherits.status).toBe(201);
    expect(inherits.json.expiresAt).toBe(shortLived.expiresAt);
    const shorter = await call("POST", "/v1/api-keys", {
      key: shortLived.key,
      body: { name: "child", expiresInDays: 5, scope: "send" },
    });
    expect(shorter.status).toBe(201);
    expect(Date.parse(shorter.json.expiresAt)).toBeLessThan(Date.parse(shortLived.expiresAt));
    expectError(
      await call("POST", "/v1/api-keys", { key, body: { name: "x", scope: "admin" } }),
      422,
      "validation_failed",
    );
  });

  it("rate-limits an org across its keys: minting keys does not multiply the budget", {
    timeout: 120_000,
  }, async () => {
    // Test limits: 400 a minute per key, 600 per org (vitest.config.ts).
    const { key } = await newOrg();
    const second = (await call("POST", "/v1/api-keys", { key, body: { name: "two" } })).json.key;
    // The limiter counts in fixed one-minute windows: begin early in one, so 800 requests cannot
    // straddle two windows (400 in each, never limited).
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 40_000) {
      await new Promise((r) => setTimeout(r, 61_000 - intoMinute));
    }
    let limited: Awaited<ReturnType<typeof call>> | undefined;
    let served = 0;
    for (let i = 0; i < 800 && !limited; i++) {
      const res = await call("GET", "/v1/account", { key: i % 2 === 0 ? key : second });
      if (res.status === 429) {
        limited = res;
      } else {
        served++;
      }
    }
    expect(limited).toBeDefined();
    expectError(limited as Awaited<ReturnType<typeof call>>, 429, "rate_limited");
    expect(limited?.json.message).toMatch(/organisation/);
    expect(served).toBeLessThan(800);
    expect(served).toBeGreaterThanOrEqual(590);
  });

  it("refuses an address after repeated failed authentications, before any D1 lookup", async () => {
    const { key } = await newOrg();
    const ip = { "cf-connecting-ip": "192.0.2.77" };
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      statuses.push(
        (await call("GET", "/v1/account", { key: `nk_live_${"x".repeat(40)}${i}`, headers: ip }))
          .status,
      );
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.at(-1)).toBe(429);
    const prepare = vi.spyOn(DB, "prepare");
    const blocked = await call("GET", "/v1/account", { key, headers: ip });
    expectError(blocked, 429, "rate_limited");
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(prepare).not.toHaveBeenCalled();
    prepare.mockRestore();
    // Another address, and requests without one, are not affected.
    expect(
      (await call("GET", "/v1/account", { key, headers: { "cf-connecting-ip": "192.0.2.78" } }))
        .status,
    ).toBe(200);
  });
});

describe("quotas", () => {
  const setQuotas = (orgId: string, body: unknown) =>
    call("PATCH", `/v1/admin/orgs/${orgId}/quotas`, { headers: admin, body });

  it("shows each quota's count and limit on the account, with documented defaults", async () => {
    const { key } = await newOrg();
    await call("POST", "/v1/contacts", { key, body: { email: "a@x.co" } });
    const account = (await call("GET", "/v1/account", { key })).json;
    expect(account.quotas).toEqual({
      contacts: { used: 1, limit: 1_000_000 },
      workflows: { used: 0, limit: 1000 },
      webhooks: { used: 0, limit: 100 },
      templates: { used: 0, limit: 5000 },
    });
  });

  it("refuses a contact past the org's quota on every way in, and counts erased contacts out", async () => {
    const { key, orgId } = await newOrg();
    const set = await setQuotas(orgId, { contacts: 2 });
    expect(set.status).toBe(200);
    expect(set.json.contacts).toEqual({ used: 0, limit: 2 });
    const w = await activeWorkflow(key, [{ id: "l", type: "log", config: { message: "x" } }]);
    const a = (await call("POST", "/v1/contacts", { key, body: { email: "a@x.co" } })).json;
    await call("POST", "/v1/contacts", { key, body: { email: "b@x.co" } });
    const third = await call("POST", "/v1/contacts", { key, body: { email: "c@x.co" } });
    expectError(third, 403, "quota_exceeded");
    expect(third.json.resource).toBe("contacts");
    // An existing contact can still be updated, and enrolled.
    expect(
      (await call("POST", "/v1/contacts", { key, body: { email: "a@x.co", firstName: "A" } }))
        .status,
    ).toBe(200);
    expectError(
      await call("POST", "/v1/enrollments", {
        key,
        body: { workflowId: w.id, contact: { email: "new@x.co" } },
      }),
      403,
      "quota_exceeded",
    );
    expectError(
      await call("POST", "/v1/events", { key, body: { name: "x", email: "new@x.co" } }),
      403,
      "quota_exceeded",
    );
    expect((await call("DELETE", `/v1/contacts/${a.id}`, { key })).status).toBe(204);
    expect((await call("GET", "/v1/account", { key })).json.quotas.contacts).toEqual({
      used: 1,
      limit: 2,
    });
    expect((await call("POST", "/v1/contacts", { key, body: { email: "c@x.co" } })).status).toBe(
      201,
    );
  });

  it("caps workflows (archived ones do not count), webhooks and templates", async () => {
    const { key, orgId } = await newOrg();
    await setQuotas(orgId, { workflows: 1, webhooks: 1, templates: 1 });
    const w = (await call("POST", "/v1/workflows", { key, body: { name: "One" } })).json;
    expectError(
      await call("POST", "/v1/workflows", { key, body: { name: "Two" } }),
      403,
      "quota_exceeded",
    );
    await call("PATCH", `/v1/workflows/${w.id}`, { key, body: { status: "archived" } });
    expect((await call("POST", "/v1/workflows", { key, body: { name: "Two" } })).status).toBe(201);
    const hook = { url: "https://hooks.example.com/a", events: ["*"] };
    const h = (await call("POST", "/v1/webhooks", { key, body: hook })).json;
    expectError(await call("POST", "/v1/webhooks", { key, body: hook }), 403, "quota_exceeded");
    await call("DELETE", `/v1/webhooks/${h.id}`, { key });
    expect((await call("POST", "/v1/webhooks", { key, body: hook })).status).toBe(201);
    const t = { name: "T", subject: "S", html: "<p>x</p>" };
    expect((await call("POST", "/v1/templates", { key, body: t })).status).toBe(201);
    expectError(await call("POST", "/v1/templates", { key, body: t }), 403, "quota_exceeded");
  });

  it("keeps one tenant's quota away from another's, and the admin route to its token", async () => {
    const a = await newOrg();
    const b = await newOrg();
    await setQuotas(a.orgId, { templates: 0 });
    const t = { name: "T", subject: "S", html: "<p>x</p>" };
    expectError(
      await call("POST", "/v1/templates", { key: a.key, body: t }),
      403,
      "quota_exceeded",
    );
    expect((await call("POST", "/v1/templates", { key: b.key, body: t })).status).toBe(201);
    expectError(await setQuotas("org_nope", { templates: 5 }), 404, "not_found");
    expectError(
      await call("PATCH", `/v1/admin/orgs/${a.orgId}/quotas`, {
        key: a.key,
        body: { templates: 5 },
      }),
      401,
      "unauthorized",
    );
    expectError(await setQuotas(a.orgId, { templates: -1 }), 422, "validation_failed");
  });

  it("refuses event data over 64 KiB, naming the field", async () => {
    const { key } = await newOrg();
    const res = await call("POST", "/v1/events", {
      key,
      body: { name: "big", email: "a@x.co", data: { blob: "x".repeat(64 * 1024) } },
    });
    expectError(res, 422, "validation_failed");
    expect(res.json.details[0].path).toBe("data");
  });
});

describe("strict request bodies", () => {
  it("names every unknown field, nested ones included", async () => {
    const { key } = await newOrg();
    const contact = await call("POST", "/v1/contacts", {
      key,
      body: { email: "a@x.co", first_name: "Ada", extra: 1 },
    });
    expectError(contact, 422, "validation_failed");
    expect(contact.json.details).toEqual(
      expect.arrayContaining([
        { path: "first_name", message: 'Unknown field "first_name"' },
        { path: "extra", message: 'Unknown field "extra"' },
      ]),
    );
    const w = await activeWorkflow(key, [{ id: "l", type: "log", config: { message: "x" } }]);
    const nested = await call("POST", "/v1/enrollments", {
      key,
      body: { workflowId: w.id, contact: { email: "b@x.co", plan: "pro" } },
    });
    expectError(nested, 422, "validation_failed");
    expect(nested.json.details).toContainEqual({
      path: "contact.plan",
      message: 'Unknown field "plan"',
    });
    const step = await call("POST", "/v1/workflows", {
      key,
      body: {
        name: "W",
        steps: [
          { id: "d", type: "delay", delay: 5, config: { amount: 1, unit: "days", jitter: true } },
        ],
      },
    });
    expectError(step, 422, "validation_failed");
    expect(step.json.details).toContainEqual({
      path: "steps.0.delay",
      message: 'Unknown field "delay"',
    });
    const config = await call("POST", "/v1/workflows", {
      key,
      body: {
        name: "W",
        steps: [{ id: "d", type: "delay", config: { amount: 1, unit: "days", jitter: true } }],
      },
    });
    expectError(config, 422, "validation_failed");
    expect(config.json.details).toContainEqual({
      path: "steps.0.config.jitter",
      message: 'Unknown field "jitter" for a delay step',
    });
    const patchStep = await call("PATCH", `/v1/workflows/${w.id}/steps/l`, {
      key,
      body: { config: { message: "y", colour: "red" } },
    });
    expectError(patchStep, 422, "validation_failed");
    expect(patchStep.json.details[0].path).toBe("config.colour");
  });

  it("accepts the seeds' aliases: a step's templateId and a workflow's enabled", async () => {
    const { key } = await newOrg();
    const t = (
      await call("POST", "/v1/templates", {
        key,
        body: { name: "T", subject: "S", html: "<p>x</p>" },
      })
    ).json;
    const created = await call("POST", "/v1/workflows", {
      key,
      body: {
        name: "Seed",
        enabled: true,
        steps: [{ id: "m", type: "send_email", templateId: t.id }],
      },
    });
    expect(created.status).toBe(201);
    expect(created.json.status).toBe("active");
    expect(created.json.steps[0]).toEqual({
      id: "m",
      type: "send_email",
      config: { templateId: t.id },
    });
    const paused = await call("PATCH", `/v1/workflows/${created.json.id}`, {
      key,
      body: { enabled: false },
    });
    expect(paused.json.status).toBe("paused");
    expectError(
      await call("PATCH", `/v1/workflows/${created.json.id}`, {
        key,
        body: { enabled: true, status: "paused" },
      }),
      422,
      "validation_failed",
    );
    const wrongType = await call("POST", "/v1/workflows", {
      key,
      body: {
        name: "W",
        steps: [{ id: "l", type: "log", templateId: t.id, config: { message: "x" } }],
      },
    });
    expectError(wrongType, 422, "validation_failed");
    expect(wrongType.json.details[0].path).toBe("steps.0.templateId");
  });

  it("validates the bulk wrapper's variables and timezone like the top level", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [{ id: "l", type: "log", config: { message: "x" } }]);
    for (const enrollment of [
      { variables: "not an object" },
      { timezone: "Mars/Olympus_Mons" },
      { variables: { big: "x".repeat(64 * 1024) } },
      { colour: "red" },
    ]) {
      const res = await call("POST", "/v1/enrollments/bulk", {
        key,
        body: { workflowId: w.id, contacts: [{ email: "a@x.co" }], enrollment },
      });
      expectError(res, 422, "validation_failed");
      expect(res.json.details[0].path).toMatch(/^enrollment\./);
    }
    const ok = await call("POST", "/v1/enrollments/bulk", {
      key,
      body: {
        enrollment: { workflowId: w.id, contacts: [{ email: "a@x.co" }], timezone: "Europe/Paris" },
      },
    });
    expect(ok.status).toBe(201);
  });
});

describe("the x-api-key header", () => {
  it("authenticates like Authorization: Bearer, and refuses a wrong key the same way", async () => {
    const { key, orgId } = await newOrg();
    const ok = await call("GET", "/v1/account", { headers: { "x-api-key": key } });
    expect(ok.status).toBe(200);
    expect(ok.json.id ?? ok.json.org?.id).toBe(orgId);
    expectError(
      await call("GET", "/v1/account", { headers: { "x-api-key": `${key.slice(0, -4)}xxxx` } }),
      401,
      "unauthorized",
    );
  });
});
