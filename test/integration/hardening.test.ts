// Hardening (#13): what a hostile tenant or stranger could do, refused with a clear 4xx.
import { createExecutionContext, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { checkEncryptionKeys, decrypt, encrypt } from "../../src/security/credentials";
import { checkSigningKeys } from "../../src/security/tokens";
import { ADMIN_TOKEN, activeWorkflow, call, expectError, newOrg, poll } from "../helpers/api";
import { DB } from "../helpers/db";
import { enrollment, expireWait, settle, stubOf } from "../helpers/enrollments";

afterEach(() => vi.restoreAllMocks());

const nest = (depth: number): unknown => {
  let c: unknown = { field: "contact.data.plan", operator: "exists" };
  for (let i = 1; i < depth; i++) {
    c = { all: [c] };
  }
  return c;
};

describe("workflows that cannot run away", () => {
  it("refuses conditions nested deeper than 32 levels, in transitions and in condition steps", async () => {
    const { key } = await newOrg();
    const withTransition = (depth: number) =>
      call("POST", "/v1/workflows", {
        key,
        body: {
          name: "Deep",
          steps: [
            { id: "a", type: "log", config: { message: "a" } },
            { id: "b", type: "log", config: { message: "b" } },
          ],
          transitions: [{ from: "a", to: "b", condition: nest(depth) }],
        },
      });
    expect((await withTransition(32)).status).toBe(201);
    const deep = await withTransition(33);
    expectError(deep, 422, "validation_failed");
    expect(deep.json.details[0].message).toMatch(/at most 32 levels/);
    const step = await call("POST", "/v1/workflows", {
      key,
      body: { name: "Deep step", steps: [{ type: "condition", config: nest(40) }] },
    });
    expectError(step, 422, "invalid_graph");
    expect(step.json.message).toMatch(/at most 32 levels/);
    // Far deeper than any stack: still a clear 422.
    expectError(await withTransition(20_000), 422, "validation_failed");
  });

  it("ends an enrollment that has executed 1,000 steps as failed, step_limit_exceeded", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(
      key,
      [
        { id: "poll", type: "log", config: { message: "checking" } },
        { id: "wait", type: "delay", config: { amount: 1, unit: "minutes" } },
      ],
      {
        transitions: [
          { from: "poll", to: "wait" },
          { from: "wait", to: "poll" },
        ],
      },
    );
    const e = (
      await call("POST", "/v1/enrollments", {
        key,
        body: { workflowId: w.id, contact: { email: "loop@x.co" } },
      })
    ).json;
    expect((await settle(key, e.id)).status).toBe("waiting");
    // 499 more minutes of polling, told by the count the object keeps.
    await runInDurableObject(stubOf(e.id), async (_i, state) => {
      const s = state.storage.kv.get<{ stepsRun: number }>("state");
      if (s) {
        state.storage.kv.put("state", { ...s, stepsRun: 999 });
      }
    });
    await expireWait(e.id);
    const failed = await poll(
      () => enrollment(key, e.id),
      (x) => x.status === "failed",
    );
    expect(failed.error).toEqual({
      code: "step_limit_exceeded",
      message: "The enrollment ran more than 1,000 steps",
    });
    expect(failed.timeline.at(-1)).toMatchObject({
      status: "failed",
      message: "The enrollment ran more than 1,000 steps",
    });
  });

  it("refuses update_contact keys a JSON path cannot hold, and stores path-like keys exactly", async () => {
    const { key } = await newOrg();
    const bad = await call("POST", "/v1/workflows", {
      key,
      body: { name: "Q", steps: [{ type: "update_contact", config: { data: { 'a"b': 1 } } }] },
    });
    expectError(bad, 422, "invalid_graph");
    expect(bad.json.details[0].path).toMatch(/^steps\.0\.config\.data/);
    const data = { "a.b": 1, "c[0]": "x", $d: true, "e f": null, ü: "ok" };
    const w = await activeWorkflow(key, [{ id: "u", type: "update_contact", config: { data } }]);
    const e = (
      await call("POST", "/v1/enrollments", {
        key,
        body: { workflowId: w.id, contact: { email: "keys@x.co", data: { keep: 1 } } },
      })
    ).json;
    expect((await settle(key, e.id)).status).toBe("completed");
    const c = await poll(
      async () => (await call("GET", `/v1/contacts/${e.contactId}`, { key })).json,
      (c) => "a.b" in c.data,
    );
    expect(c.data).toEqual({ keep: 1, ...data });
  });

  it("merges a key a path cannot quote (saved before such keys were refused) without failing the enrollment", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [
      { id: "u", type: "update_contact", config: { data: { plain: "p" } } },
    ]);
    // A workflow saved by an older version, with a key holding a quote.
    const steps = JSON.stringify([
      { id: "u", type: "update_contact", config: { data: { plain: "p", 'say "hi"': "hello" } } },
    ]);
    await DB.prepare("UPDATE workflows SET steps = ? WHERE id = ?").bind(steps, w.id).run();
    await DB.prepare(
      "UPDATE workflow_versions SET definition = json_set(definition, '$.steps', json(?)) WHERE workflow_id = ?",
    )
      .bind(steps, w.id)
      .run();
    const e = (
      await call("POST", "/v1/enrollments", {
        key,
        body: { workflowId: w.id, contact: { email: "legacy@x.co" } },
      })
    ).json;
    expect((await settle(key, e.id)).status).toBe("completed");
    const c = await poll(
      async () => (await call("GET", `/v1/contacts/${e.contactId}`, { key })).json,
      (c) => "plain" in c.data,
    );
    expect(c.data).toEqual({ plain: "p", 'say "hi"': "hello" });
  });
});

describe("request bodies", () => {
  it("refuses JSON nested deeper than 100 levels with 422, wherever it is", async () => {
    const { key } = await newOrg();
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) {
      deep = [deep];
    }
    const res = await call("POST", "/v1/workflows", {
      key,
      body: {
        name: "D",
        steps: [{ type: "webhook", config: { url: "https://x.test/", body: deep } }],
      },
    });
    expectError(res, 422, "validation_failed");
    expect(res.json.message).toMatch(/deeper than 100 levels/);
    let ok: unknown = "leaf";
    for (let i = 0; i < 95; i++) {
      ok = { n: ok };
    }
    expect(
      (await call("POST", "/v1/contacts", { key, body: { email: "deep@x.co", data: { ok } } }))
        .status,
    ).toBe(201);
    // Brackets inside strings are text, not nesting.
    expect(
      (
        await call("POST", "/v1/contacts", {
          key,
          body: { email: "text@x.co", data: { s: "[".repeat(1000) } },
        })
      ).status,
    ).toBe(201);
  });
});

describe("one outbound policy for provider connections too", () => {
  it.each([
    [
      {
        provider: "ses",
        credentials: { accessKeyId: "a", secretAccessKey: "b", region: "eu-west-1.evil.example" },
      },
      "credentials.region",
    ],
    [
      {
        provider: "ses",
        credentials: { accessKeyId: "a", secretAccessKey: "b", region: "us-east-1/x" },
      },
      "credentials.region",
    ],
    [
      { provider: "smtp", credentials: { host: "169.254.169.254", port: "25" } },
      "credentials.host",
    ],
    [{ provider: "smtp", credentials: { host: "localhost", port: "25" } }, "credentials.host"],
    [{ provider: "smtp", credentials: { host: "127.1", port: "25" } }, "credentials.host"],
    [{ provider: "smtp", credentials: { host: "fd00::1", port: "25" } }, "credentials.host"],
    [
      { provider: "smtp", credentials: { host: "relay.internal.", port: "25" } },
      "credentials.host",
    ],
    [
      { provider: "smtp", credentials: { host: "smtp.example.com", port: "99999" } },
      "credentials.host",
    ],
  ])("refuses %j", async (body, path) => {
    const { key } = await newOrg();
    const res = await call("POST", "/v1/connections", { key, body });
    expectError(res, 422, "validation_failed");
    expect(res.json.details.map((d: { path: string }) => d.path)).toContain(path);
  });

  it("accepts public relays and real regions", async () => {
    const { key } = await newOrg();
    expect(
      (
        await call("POST", "/v1/connections", {
          key,
          body: {
            provider: "smtp",
            key: "s",
            credentials: { host: "smtp.example.com", port: "587" },
          },
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await call("POST", "/v1/connections", {
          key,
          body: {
            provider: "ses",
            key: "a",
            credentials: { accessKeyId: "a", secretAccessKey: "b", region: "us-gov-west-1" },
          },
        })
      ).status,
    ).toBe(201);
  });
});

describe("templates with limits, everywhere they render", () => {
  const runaway = "{% for i in (1..100000000) %}x{% endfor %}";

  it("answers a preview that goes past a limit with 422", async () => {
    const { key } = await newOrg();
    const t = (
      await call("POST", "/v1/templates", {
        key,
        body: { name: "T", subject: "s", html: `<p>${runaway}</p>` },
      })
    ).json;
    const res = await call("POST", `/v1/templates/${t.id}/preview`, { key, body: {} });
    expectError(res, 422, "validation_failed");
    expect(res.json.message).toMatch(/went past a limit/);
    expectError(
      await call("POST", "/v1/templates", {
        key,
        body: { name: "T", subject: "s", html: '{% include "x" %}' },
      }),
      422,
      "validation_failed",
    );
  });

  it("answers a dry run whose template goes past a limit with 422, naming the step", async () => {
    const { key } = await newOrg();
    const w = (
      await call("POST", "/v1/workflows", {
        key,
        body: { name: "R", steps: [{ id: "spin", type: "log", config: { message: runaway } }] },
      })
    ).json;
    const res = await call("POST", `/v1/workflows/${w.id}/test`, { key, body: {} });
    expectError(res, 422, "validation_failed");
    expect(res.json.details[0]).toMatchObject({
      path: "steps.spin",
      message: expect.stringMatching(/went past a limit/),
    });
  });

  it("fails a live enrollment whose template goes past a limit, with template_limit_exceeded", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [
      { id: "spin", type: "log", config: { message: runaway } },
    ]);
    const e = (
      await call("POST", "/v1/enrollments", {
        key,
        body: { workflowId: w.id, contact: { email: "spin@x.co" } },
      })
    ).json;
    const done = await settle(key, e.id);
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({
      code: "template_limit_exceeded",
      message: expect.stringMatching(/went past a limit/),
    });
  });
});

describe("secrets stay secret at rest", () => {
  it("keeps no plaintext secret in the idempotency table, and a replay still shows it", async () => {
    const { key } = await newOrg();
    const idem = (k: string) => ({ "idempotency-key": k });
    const apiKey = await call("POST", "/v1/api-keys", {
      key,
      body: { name: "k" },
      headers: idem("s-1"),
    });
    const hook = await call("POST", "/v1/webhooks", {
      key,
      body: { url: "https://hooks.acme.test/s", events: ["*"] },
      headers: idem("s-2"),
    });
    const rotated = await call("POST", `/v1/webhooks/${hook.json.id}/rotate-secret`, {
      key,
      headers: idem("s-3"),
    });
    const org = await call("POST", "/v1/admin/orgs", {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...idem(`s-4-${crypto.randomUUID()}`) },
      body: { name: "Sec" },
    });
    for (const r of [apiKey, hook, rotated, org]) {
      expect(r.status).toBeLessThan(300);
    }
    const rows = (
      await DB.prepare("SELECT response_body FROM idempotency_keys").all<{
        response_body: string;
      }>()
    ).results;
    const stored = rows.map((r) => r.response_body).join("\n");
    expect(stored).not.toMatch(/nk_live_|whsec_/);
    for (const secret of [
      apiKey.json.key,
      hook.json.secret,
      rotated.json.secret,
      org.json.apiKey.key,
    ]) {
      expect(stored).not.toContain(secret);
    }
    const replay = await call("POST", "/v1/api-keys", {
      key,
      body: { name: "k" },
      headers: idem("s-1"),
    });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.json.key).toBe(apiKey.json.key);
  });

  it("hashes the query string with the request: the same key on another query is a different request", async () => {
    const { key } = await newOrg();
    const a = await activeWorkflow(key, [{ type: "delay", config: { amount: 1, unit: "days" } }]);
    const b = await activeWorkflow(key, [{ type: "delay", config: { amount: 1, unit: "days" } }]);
    const csv = (workflowId: string) =>
      call("POST", `/v1/imports?workflowId=${workflowId}`, {
        key,
        raw: "email\nq@x.co\n",
        headers: { "content-type": "text/csv", "idempotency-key": "csv-1" },
      });
    expect((await csv(a.id)).status).toBe(202);
    expectError(await csv(b.id), 422, "idempotency_key_reused");
  });

  it("rotates encryption keys: the first listed encrypts, every listed key decrypts", async () => {
    const where = { orgId: "org_1", table: "connections", rowId: "cxn_1" };
    const old = `k1:${btoa("o".repeat(32))}`;
    const next = `k2:${btoa("n".repeat(32))}`;
    const sealedOld = await encrypt({ ...env, ENCRYPTION_KEYS: old }, "secret", where);
    const rotated = { ...env, ENCRYPTION_KEYS: `${next},${old}` };
    expect(await decrypt(rotated, sealedOld, where)).toBe("secret");
    const sealedNew = await encrypt(rotated, "secret", where);
    expect(sealedNew.split(".")[1]).toBe("k2");
    await expect(decrypt({ ...env, ENCRYPTION_KEYS: old }, sealedNew, where)).rejects.toThrow(
      /no longer lists/,
    );
  });

  it.each([
    [
      { TOKEN_SIGNING_KEYS: "k1:short" },
      /TOKEN_SIGNING_KEYS secret "k1" must be at least 32 bytes/,
    ],
    [
      { TOKEN_SIGNING_KEYS: "bad kid!:0123456789abcdef0123456789abcdef" },
      /TOKEN_SIGNING_KEYS entry 1 must be kid:secret/,
    ],
    [{ TOKEN_SIGNING_KEYS: "no-colon-here" }, /TOKEN_SIGNING_KEYS entry 1 must be kid:secret/],
    [
      { ENCRYPTION_KEYS: `k1:${btoa("x".repeat(16))}` },
      /ENCRYPTION_KEYS key "k1" must be 32 bytes \(it is 16\)/,
    ],
    [{ ENCRYPTION_KEYS: "k1:%%%" }, /ENCRYPTION_KEYS key "k1" is not base64/],
  ])("refuses a weak or malformed key at first use: %j", async (vars, message) => {
    const bad = { ...env, ...vars };
    await expect(
      (async () => {
        checkSigningKeys(bad);
        checkEncryptionKeys(bad);
      })(),
    ).rejects.toThrow(message);
  });

  it("answers a clear configuration error instead of using a weak signing key", async () => {
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request("https://nudge.test/t/o/k1.e30.AAAA"),
      { ...env, TOKEN_SIGNING_KEYS: "k1:weak" },
      ctx,
    );
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({
      error: "configuration_error",
      message: expect.stringMatching(/at least 32 bytes/),
    });
  });
});

describe("logs carry ids, never secrets or personal data", () => {
  it("writes no header, query secret, click URL or address to a log line, and none to the timeline", async () => {
    const lines: string[] = [];
    for (const m of ["log", "warn", "error"] as const) {
      vi.spyOn(console, m).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(" "));
      });
    }
    vi.spyOn(globalThis, "fetch").mockImplementation(
      async () => new Response("busy", { status: 503 }),
    );
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [
      {
        id: "hook",
        type: "webhook",
        config: {
          url: "https://hooks.acme.test/in?token=s3cr3t-query&email={{ contact.email }}",
          headers: { authorization: "Bearer s3cr3t-header" },
        },
      },
      { id: "refused", type: "webhook", config: { url: "https://10.1.2.3/in?token=s3cr3t-inner" } },
      {
        id: "m",
        type: "send_email",
        config: {
          subject: "Hi",
          html: '<p><a href="https://landing.test/p?promo=s3cr3t-link">go</a></p>',
        },
      },
    ]);
    const e = (
      await call("POST", "/v1/enrollments", {
        key,
        body: { workflowId: w.id, contact: { email: "private.person@x.co" } },
      })
    ).json;
    const done = await settle(key, e.id);
    const [out] = await poll(
      async () => (await call("GET", "/v1/outbox", { key })).json.data,
      (d) => d.length === 1,
    );
    await DB.prepare("UPDATE messages SET sent_at = ? WHERE id = ?")
      .bind(Date.now() - 60_000, out.messageId)
      .run();
    const click = /href="https:\/\/nudge\.test(\/t\/c\/[^"]+)"/.exec(out.html)?.[1] as string;
    expect(
      (
        await call("GET", click, {
          headers: { "user-agent": "Mozilla/5.0 (Macintosh) Safari/605" },
        })
      ).status,
    ).toBe(302);
    await poll(
      async () => (await call("GET", `/v1/messages/${out.messageId}`, { key })).json.clicks,
      (n) => n === 1,
    );
    vi.restoreAllMocks();
    const secrets = /s3cr3t|private\.person|landing\.test/;
    expect(lines.filter((l) => secrets.test(l))).toEqual([]);
    expect(JSON.stringify(done.timeline)).not.toMatch(/s3cr3t/);
    expect(
      done.timeline.find(
        (l: { stepId: string; status: string }) => l.stepId === "hook" && l.status === "completed",
      ).message,
    ).toBe("Webhook POST https://hooks.acme.test/in queued");
  });
});
