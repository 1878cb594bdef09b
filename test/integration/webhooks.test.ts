import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it, vi } from "vitest";
import { refuseUrl } from "../../src/delivery/ssrf";
import { activeWorkflow, call, expectError, newOrg, poll } from "../helpers/api";
import { settle } from "../helpers/enrollments";

afterEach(() => vi.restoreAllMocks());

interface Captured {
  url: string;
  headers: Record<string, string>;
  body: string;
  redirect: RequestInit["redirect"];
}

/** Stands in for the customer's endpoint: records each delivery and answers from `answer`. */
function endpoint(answer: (n: number, c: Captured) => Response = () => new Response("ok")) {
  const hits: Captured[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    const c: Captured = { url: req.url, headers: Object.fromEntries(req.headers), body: await req.text(), redirect: init?.redirect };
    hits.push(c);
    return answer(hits.length, c);
  });
  return hits;
}

async function subscribe(key: string, events: string[] = ["*"], url = "https://hooks.acme.test/nudge") {
  const res = await call("POST", "/v1/webhooks", { key, body: { url, events } });
  if (res.status !== 201) throw new Error(res.text);
  return res.json as { id: string; secret: string };
}

const deliveries = async (key: string, id: string) => (await call("GET", `/v1/webhooks/${id}/deliveries`, { key })).json.data;

describe("webhook subscriptions", () => {
  it("shows the secret once and never again", async () => {
    const { key } = await newOrg();
    const w = await subscribe(key);
    expect(w.secret).toMatch(/^whsec_[A-Za-z0-9+/=]{40,}$/);
    const got = await call("GET", `/v1/webhooks/${w.id}`, { key });
    expect(JSON.stringify(got.json)).not.toContain(w.secret.slice(6));
    expect(JSON.stringify((await call("GET", "/v1/webhooks", { key })).json)).not.toContain(w.secret.slice(6));
  });

  it("refuses unknown event types", async () => {
    const { key } = await newOrg();
    expectError(
      await call("POST", "/v1/webhooks", { key, body: { url: "https://hooks.acme.test/x", events: ["email.teleported"] } }),
      422,
      "validation_failed",
    );
  });

  it.each([
    "http://hooks.acme.test/x",
    "https://127.0.0.1/x",
    "https://10.1.2.3/x",
    "https://172.16.0.1/x",
    "https://192.168.1.1/x",
    "https://169.254.169.254/latest/meta-data",
    "https://100.64.0.1/x",
    "https://0.0.0.0/x",
    "https://[::1]/x",
    "https://[fd12::1]/x",
    "https://[fe80::1]/x",
    "https://[::ffff:127.0.0.1]/x",
    "https://localhost/x",
    "https://printer.local/x",
    "https://intranet/x",
    "https://user:pw@hooks.acme.test/x",
  ])("refuses %s in production", async (url) => {
    const { key } = await newOrg();
    expectError(await call("POST", "/v1/webhooks", { key, body: { url, events: ["*"] } }), 422, "validation_failed");
  });

  it("allows public https hosts, and http://localhost only in local development", () => {
    const prod = { ...env, ENVIRONMENT: "production" };
    const dev = { ...env, ENVIRONMENT: "development" };
    expect(refuseUrl(prod, "https://hooks.acme.test/x")).toBeNull();
    expect(refuseUrl(prod, "https://8.8.8.8/x")).toBeNull();
    expect(refuseUrl(prod, "http://localhost:9000/x")).not.toBeNull();
    expect(refuseUrl(dev, "http://localhost:9000/x")).toBeNull();
    expect(refuseUrl(dev, "http://127.0.0.1:9000/x")).toBeNull();
    expect(refuseUrl(dev, "http://10.0.0.1/x")).not.toBeNull();
  });

  it("refuses at send time too (a row changed behind the API)", async () => {
    const { key } = await newOrg();
    const w = await subscribe(key);
    await env.DB.prepare("UPDATE webhooks SET url = 'https://169.254.169.254/x' WHERE id = ?").bind(w.id).run();
    const hits = endpoint();
    await call("POST", `/v1/webhooks/${w.id}/test`, { key });
    const d = await poll(
      () => deliveries(key, w.id),
      (d) => d[0]?.attempts.length >= 1,
    );
    expect(d[0].attempts[0].error).toMatch(/Refused/);
    expect(hits).toHaveLength(0);
  });

  it("serves the catalog with a JSON Schema per event type", async () => {
    const { key } = await newOrg();
    const res = await call("GET", "/v1/webhooks/catalog", { key });
    const types = res.json.map((t: { type: string }) => t.type);
    for (const t of [
      "enrollment.created",
      "enrollment.completed",
      "enrollment.failed",
      "enrollment.cancelled",
      "enrollment.step_completed",
      "email.sent",
      "email.delivered",
      "email.opened",
      "email.clicked",
      "email.bounced",
      "email.complained",
      "contact.created",
      "contact.updated",
      "contact.unsubscribed",
      "webhook.test",
    ]) {
      expect(types).toContain(t);
    }
    expect(res.json[0].schema.properties.data).toBeDefined();
  });

  it("keeps subscriptions to their org", async () => {
    const a = await newOrg("A");
    const b = await newOrg("B");
    const w = await subscribe(a.key);
    for (const [method, path] of [
      ["GET", `/v1/webhooks/${w.id}`],
      ["PATCH", `/v1/webhooks/${w.id}`],
      ["DELETE", `/v1/webhooks/${w.id}`],
      ["POST", `/v1/webhooks/${w.id}/rotate-secret`],
      ["POST", `/v1/webhooks/${w.id}/test`],
      ["GET", `/v1/webhooks/${w.id}/deliveries`],
    ]) {
      expectError(await call(method, path, { key: b.key, body: method === "PATCH" ? { active: false } : undefined }), 404, "not_found");
    }
  });
});

describe("webhook delivery", () => {
  it("signs per Standard Webhooks so the standardwebhooks library verifies it", async () => {
    const { key } = await newOrg();
    const w = await subscribe(key);
    const hits = endpoint();
    const res = await call("POST", `/v1/webhooks/${w.id}/test`, { key });
    expect(res.status).toBe(202);
    await poll(
      async () => hits.length,
      (n) => n === 1,
    );
    const h = hits[0];
    expect(h.redirect).toBe("manual");
    const payload = new Webhook(w.secret).verify(h.body, h.headers) as { id: string; type: string; data: { webhookId: string } };
    expect(payload).toMatchObject({ type: "webhook.test", data: { webhookId: w.id } });
    expect(h.headers["webhook-id"]).toBe(payload.id);
    expect(h.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/=]+$/);
    const d = await poll(
      () => deliveries(key, w.id),
      (d) => d[0]?.status === "succeeded",
    );
    expect(d[0]).toMatchObject({ id: res.json.deliveryId, eventType: "webhook.test", lastStatusCode: 200 });
    expect(d[0].attempts[0]).toMatchObject({ attempt: 1, statusCode: 200, error: null });
  });

  it("signs with both secrets for a day after a rotation", async () => {
    const { key } = await newOrg();
    const w = await subscribe(key);
    const rotated = (await call("POST", `/v1/webhooks/${w.id}/rotate-secret`, { key })).json;
    expect(rotated.secret).not.toBe(w.secret);
    const hits = endpoint();
    await call("POST", `/v1/webhooks/${w.id}/test`, { key });
    await poll(
      async () => hits.length,
      (n) => n === 1,
    );
    expect(hits[0].headers["webhook-signature"].split(" ")).toHaveLength(2);
    expect(() => new Webhook(w.secret).verify(hits[0].body, hits[0].headers)).not.toThrow();
    expect(() => new Webhook(rotated.secret).verify(hits[0].body, hits[0].headers)).not.toThrow();
  });

  it("retries with the same webhook-id until a 2xx", async () => {
    const { key } = await newOrg();
    const w = await subscribe(key);
    const hits = endpoint((n) => (n < 3 ? new Response("no", { status: 500 }) : new Response(null, { status: 204 })));
    await call("POST", `/v1/webhooks/${w.id}/test`, { key });
    const d = await poll(
      () => deliveries(key, w.id),
      (d) => d[0]?.status === "succeeded",
      20_000,
    );
    expect(d[0].attempts.map((a: { statusCode: number }) => a.statusCode)).toEqual([500, 500, 204]);
    expect(d[0].attempts[0].nextAttemptAt).toMatch(/Z$/);
    expect(new Set(hits.map((h) => h.headers["webhook-id"])).size).toBe(1);
  });

  it("treats a redirect as a failure and does not follow it", async () => {
    const { key } = await newOrg();
    const w = await subscribe(key);
    endpoint(() => new Response(null, { status: 301, headers: { location: "https://elsewhere.test/" } }));
    await call("POST", `/v1/webhooks/${w.id}/test`, { key });
    const d = await poll(
      () => deliveries(key, w.id),
      (d) => d[0]?.attempts.length >= 1,
    );
    expect(d[0].attempts[0]).toMatchObject({ statusCode: 301, error: expect.stringContaining("Redirect") });
  });

  it("disables the endpoint on 410 Gone", async () => {
    const { key } = await newOrg();
    const w = await subscribe(key);
    endpoint(() => new Response("gone", { status: 410 }));
    await call("POST", `/v1/webhooks/${w.id}/test`, { key });
    await poll(
      () => deliveries(key, w.id),
      (d) => d[0]?.status === "failed",
    );
    const got = (await call("GET", `/v1/webhooks/${w.id}`, { key })).json;
    expect(got).toMatchObject({ active: false, disabledReason: expect.stringContaining("410") });
  });

  it("records failure and dead-letters after the last retry", async () => {
    const { key } = await newOrg();
    const w = await subscribe(key);
    endpoint(() => new Response("down", { status: 503 }));
    await call("POST", `/v1/webhooks/${w.id}/test`, { key });
    const d = await poll(
      () => deliveries(key, w.id),
      (d) => d[0]?.status === "failed",
      20_000,
    );
    expect(d[0].attempts).toHaveLength(4); // WEBHOOK_RETRY_SCHEDULE in tests: 0,1,1,1
    expect(d[0].nextAttemptAt).toBeNull();
  });

  it("disables an endpoint that has been failing for more than 5 days", async () => {
    const { key } = await newOrg();
    const w = await subscribe(key);
    await env.DB.prepare("UPDATE webhooks SET failing_since = ? WHERE id = ?")
      .bind(Date.now() - 6 * 86_400_000, w.id)
      .run();
    endpoint(() => new Response("down", { status: 500 }));
    await call("POST", `/v1/webhooks/${w.id}/test`, { key });
    await poll(
      async () => (await call("GET", `/v1/webhooks/${w.id}`, { key })).json,
      (x) => x.active === false,
    );
    // Re-enabling clears the failure clock.
    const back = await call("PATCH", `/v1/webhooks/${w.id}`, { key, body: { active: true } });
    expect(back.json).toMatchObject({ active: true, disabledReason: null });
  });

  it("emits each event type once, at the moment it happens, in a full journey", async () => {
    const { key } = await newOrg();
    const w = await subscribe(key);
    const hits = endpoint();
    const flow = await activeWorkflow(key, [{ id: "m", type: "send_email", config: { subject: "Hi", html: "<p>x</p>" } }]);
    const e = (await call("POST", "/v1/enrollments", { key, body: { workflowId: flow.id, contact: { email: "journey@x.co" } } })).json;
    await settle(key, e.id);
    const wanted = ["contact.created", "enrollment.created", "enrollment.step_completed", "enrollment.completed", "email.sent"];
    // Only this test's endpoint: retries of earlier tests' deliveries may still arrive.
    const mine = () =>
      hits.filter((h) => {
        try {
          new Webhook(w.secret).verify(h.body, h.headers);
          return true;
        } catch {
          return false;
        }
      });
    await poll(
      async () => mine().map((h) => (JSON.parse(h.body) as { type: string }).type),
      (types) => wanted.every((t) => types.includes(t)),
      15_000,
    );
    await new Promise((r) => setTimeout(r, 500));
    const types = mine()
      .map((h) => (JSON.parse(h.body) as { type: string }).type)
      .sort();
    expect(types).toEqual([...wanted].sort());
    const completed = mine()
      .map((h) => JSON.parse(h.body))
      .find((p) => p.type === "enrollment.completed");
    expect(completed.data).toMatchObject({ enrollmentId: e.id, workflowId: flow.id, status: "completed" });
  });

  it("only sends the subscribed types, and nothing to another org", async () => {
    const a = await newOrg("A");
    const b = await newOrg("B");
    await subscribe(a.key, ["contact.created"]);
    await subscribe(b.key, ["*"], "https://hooks.b.test/x");
    const hits = endpoint();
    await call("POST", "/v1/contacts", { key: a.key, body: { email: "only@x.co" } });
    await call("PATCH", `/v1/contacts/${(await call("GET", "/v1/contacts", { key: a.key })).json.data[0].id}`, { key: a.key, body: { firstName: "O" } });
    await poll(
      async () => hits.length,
      (n) => n >= 1,
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(hits.map((h) => h.url)).toEqual(["https://hooks.acme.test/nudge"]);
    expect(JSON.parse(hits[0].body).type).toBe("contact.created");
  });
});
