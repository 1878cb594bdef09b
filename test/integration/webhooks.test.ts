import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it, vi } from "vitest";
import { refuseUrl } from "../../src/security/ssrf";
import { runWatchdog } from "../../src/watchdog";
import { activeWorkflow, call, expectError, newOrg, poll, testLog } from "../helpers/api";
import { DB } from "../helpers/db";
import { drained, expireWait, settle } from "../helpers/enrollments";
import { captureQueue, consume } from "../helpers/queues";

afterEach(() => vi.restoreAllMocks());

interface Captured {
  url: string;
  headers: Record<string, string>;
  body: string;
  redirect: RequestInit["redirect"];
}

const hookUrl = () => `https://hooks.acme.test/${crypto.randomUUID()}`;

/**
 * Stands in for one customer endpoint: records each request to `url` and answers from
 * `answer`. Other URLs (stray retries of earlier tests' deliveries) get a 200, unrecorded.
 */
function endpoint(
  url: string,
  answer: (n: number, c: Captured) => Response = () => new Response("ok"),
) {
  const hits: Captured[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(
    async (input: RequestInfo | URL, init?: RequestInit) => {
      const req = new Request(input, init);
      if (req.url !== url) {
        return new Response("ok");
      }
      const c: Captured = {
        url: req.url,
        headers: Object.fromEntries(req.headers),
        body: await req.text(),
        redirect: init?.redirect,
      };
      hits.push(c);
      return answer(hits.length, c);
    },
  );
  return hits;
}

async function subscribe(key: string, events: string[] = ["*"], url = hookUrl()) {
  const res = await call("POST", "/v1/webhooks", { key, body: { url, events } });
  if (res.status !== 201) {
    throw new Error(res.text);
  }
  return { ...(res.json as { id: string; secret: string }), url };
}

const deliveries = async (key: string, id: string) =>
  (await call("GET", `/v1/webhooks/${id}/deliveries`, { key })).json.data;

describe("webhook subscriptions", () => {
  it("shows the secret once and never again", async () => {
    const { key } = await newOrg();
    const w = await subscribe(key);
    expect(w.secret).toMatch(/^whsec_[A-Za-z0-9+/=]{40,}$/);
    const got = await call("GET", `/v1/webhooks/${w.id}`, { key });
    expect(JSON.stringify(got.json)).not.toContain(w.secret.slice(6));
    expect(JSON.stringify((await call("GET", "/v1/webhooks", { key })).json)).not.toContain(
      w.secret.slice(6),
    );
  });

  it("refuses unknown event types", async () => {
    const { key } = await newOrg();
    expectError(
      await call("POST", "/v1/webhooks", {
        key,
        body: { url: "https://hooks.acme.test/x", events: ["email.teleported"] },
      }),
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
    "https://localhost./x",
    "https://metadata.google.internal./x",
    "https://LOCALHOST/x",
    "https://2130706433/x",
    "https://0x7f.0.0.1/x",
    "https://[::7f00:1]/x",
    "https://[::ffff:0:7f00:1]/x",
    "https://[::ffff:8.8.8.8]/x",
    "https://[64:ff9b::808:808]/x",
    "https://[2002:7f00:1::1]/x",
    "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x",
    "https://[fec0::1]/x",
    "https://[ff02::1]/x",
    "https://nas.home.arpa/x",
  ])("refuses %s in production", async (url) => {
    const { key } = await newOrg();
    expectError(
      await call("POST", "/v1/webhooks", { key, body: { url, events: ["*"] } }),
      422,
      "validation_failed",
    );
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
    await DB.prepare("UPDATE webhooks SET url = 'https://169.254.169.254/x' WHERE id = ?")
      .bind(w.id)
      .run();
    const hits = endpoint("https://169.254.169.254/x");
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
      expectError(
        await call(method, path, {
          key: b.key,
          body: method === "PATCH" ? { active: false } : undefined,
        }),
        404,
        "not_found",
      );
    }
    // A's subscription is untouched by B's attempts.
    const mine = await call("GET", `/v1/webhooks/${w.id}`, { key: a.key });
    expect(mine.json).toMatchObject({ id: w.id, active: true, url: w.url });
    expect(await deliveries(a.key, w.id)).toEqual([]);
  });
});

describe("webhook delivery", () => {
  it("signs per Standard Webhooks so the standardwebhooks library verifies it", async () => {
    const { key } = await newOrg();
    const w = await subscribe(key);
    const hits = endpoint(w.url);
    const res = await call("POST", `/v1/webhooks/${w.id}/test`, { key });
    expect(res.status).toBe(202);
    await poll(
      async () => hits.length,
      (n) => n === 1,
    );
    const h = hits[0];
    expect(h.redirect).toBe("manual");
    const payload = new Webhook(w.secret).verify(h.body, h.headers) as {
      id: string;
      type: string;
      data: { webhookId: string };
    };
    expect(payload).toMatchObject({ type: "webhook.test", data: { webhookId: w.id } });
    expect(h.headers["webhook-id"]).toBe(payload.id);
    expect(h.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/=]+$/);
    const d = await poll(
      () => deliveries(key, w.id),
      (d) => d[0]?.status === "succeeded",
    );
    expect(d[0]).toMatchObject({
      id: res.json.deliveryId,
      eventType: "webhook.test",
      lastStatusCode: 200,
    });
    expect(d[0].attempts[0]).toMatchObject({ attempt: 1, statusCode: 200, error: null });
  });

  it("signs with both secrets for a day after a rotation, then with the new one only", async () => {
    const { key } = await newOrg();
    const w = await subscribe(key);
    const rotated = (await call("POST", `/v1/webhooks/${w.id}/rotate-secret`, { key })).json;
    expect(rotated.secret).not.toBe(w.secret);
    const hits = endpoint(w.url);
    await call("POST", `/v1/webhooks/${w.id}/test`, { key });
    await poll(
      async () => hits.length,
      (n) => n === 1,
    );
    expect(hits[0].headers["webhook-signature"].split(" ")).toHaveLength(2);
    expect(() => new Webhook(w.secret).verify(hits[0].body, hits[0].headers)).not.toThrow();
    expect(() => new Webhook(rotated.secret).verify(hits[0].body, hits[0].headers)).not.toThrow();
    // The day is over: the old secret no longer signs.
    await DB.prepare("UPDATE webhooks SET previous_secret_expires_at = ? WHERE id = ?")
      .bind(Date.now() - 1000, w.id)
      .run();
    await call("POST", `/v1/webhooks/${w.id}/test`, { key });
    await poll(
      async () => hits.length,
      (n) => n === 2,
    );
    expect(hits[1].headers["webhook-signature"].split(" ")).toHaveLength(1);
    expect(() => new Webhook(rotated.secret).verify(hits[1].body, hits[1].headers)).not.toThrow();
    expect(() => new Webhook(w.secret).verify(hits[1].body, hits[1].headers)).toThrow();
  });

  it("retries with the same webhook-id until a 2xx", async () => {
    const { key } = await newOrg();
    const w = await subscribe(key);
    const hits = endpoint(w.url, (n) =>
      n < 3 ? new Response("no", { status: 500 }) : new Response(null, { status: 204 }),
    );
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
    endpoint(
      w.url,
      () => new Response(null, { status: 301, headers: { location: "https://elsewhere.test/" } }),
    );
    await call("POST", `/v1/webhooks/${w.id}/test`, { key });
    const d = await poll(
      () => deliveries(key, w.id),
      (d) => d[0]?.attempts.length >= 1,
    );
    expect(d[0].attempts[0]).toMatchObject({
      statusCode: 301,
      error: expect.stringContaining("Redirect"),
    });
  });

  it("disables the endpoint on 410 Gone", async () => {
    const { key } = await newOrg();
    const w = await subscribe(key);
    endpoint(w.url, () => new Response("gone", { status: 410 }));
    await call("POST", `/v1/webhooks/${w.id}/test`, { key });
    await poll(
      () => deliveries(key, w.id),
      (d) => d[0]?.status === "failed",
    );
    const got = (await call("GET", `/v1/webhooks/${w.id}`, { key })).json;
    expect(got).toMatchObject({ active: false, disabledReason: expect.stringContaining("410") });
  });

  it("records failure and dead-letters after the last retry", async () => {
    const { key, orgId } = await newOrg();
    const w = await subscribe(key);
    endpoint(w.url, () => new Response("down", { status: 503 }));
    const dlq = vi.spyOn(env.WEBHOOK_DLQ, "send");
    const sent = await call("POST", `/v1/webhooks/${w.id}/test`, { key });
    const { deliveryId } = sent.json;
    const d = await poll(
      () => deliveries(key, w.id),
      (d) => d[0]?.status === "failed",
      20_000,
    );
    expect(d[0].attempts).toHaveLength(4); // WEBHOOK_RETRY_SCHEDULE in tests: 0,1,1,1
    expect(d[0].nextAttemptAt).toBeNull();
    await poll(
      async () => dlq.mock.calls.length,
      (n) => n === 1,
    );
    // The job as queued, traced by the request that asked for the test delivery.
    expect(dlq.mock.calls[0][0]).toEqual({
      kind: "deliver",
      orgId,
      deliveryId,
      trace: sent.headers.get("x-request-id"),
    });
  });

  it("the webhook dead-letter consumer records a delivery whose queue retries ran out as failed", async () => {
    const { key } = await newOrg();
    const w = await subscribe(key);
    const lost = captureQueue<{ kind: string }>("WEBHOOK_QUEUE", (b) => b.kind === "deliver");
    const { deliveryId } = (await call("POST", `/v1/webhooks/${w.id}/test`, { key })).json;
    lost.restore();
    expect((await deliveries(key, w.id))[0]).toMatchObject({ id: deliveryId, status: "pending" });
    expect((await consume("nudge-webhook-dlq", lost.captured)).delayOf(0)).toBeNull();
    expect((await deliveries(key, w.id))[0]).toMatchObject({
      id: deliveryId,
      status: "failed",
      nextAttemptAt: null,
    });
  });

  it("the watchdog re-queues a delivery whose queue job was lost", async () => {
    const { key } = await newOrg();
    const w = await subscribe(key);
    const lost = captureQueue<{ kind: string }>("WEBHOOK_QUEUE", (b) => b.kind === "deliver");
    const { deliveryId } = (await call("POST", `/v1/webhooks/${w.id}/test`, { key })).json;
    lost.restore();
    expect(lost.captured).toHaveLength(1);
    const hits = endpoint(w.url);
    await DB.prepare("UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ?")
      .bind(Date.now() - 120_000, deliveryId)
      .run();
    const report = await runWatchdog(env, testLog);
    expect(report.requeued.deliveries).toBeGreaterThanOrEqual(1);
    const d = await poll(
      () => deliveries(key, w.id),
      (d) => d[0]?.status === "succeeded",
    );
    expect(d[0].attempts).toHaveLength(1);
    expect(hits).toHaveLength(1);
  });

  it("disables an endpoint that has been failing for more than 5 days; re-enabling clears the failure clock", async () => {
    const { key } = await newOrg();
    const w = await subscribe(key);
    await DB.prepare("UPDATE webhooks SET failing_since = ? WHERE id = ?")
      .bind(Date.now() - 6 * 86_400_000, w.id)
      .run();
    endpoint(w.url, () => new Response("down", { status: 500 }));
    await call("POST", `/v1/webhooks/${w.id}/test`, { key });
    await poll(
      async () => (await call("GET", `/v1/webhooks/${w.id}`, { key })).json,
      (x) => x.active === false,
    );
    const back = await call("PATCH", `/v1/webhooks/${w.id}`, { key, body: { active: true } });
    expect(back.json).toMatchObject({ active: true, disabledReason: null });
    const clock = async () =>
      (
        await DB.prepare("SELECT failing_since FROM webhooks WHERE id = ?")
          .bind(w.id)
          .first<{ failing_since: number | null }>()
      )?.failing_since;
    expect(await clock()).toBeNull();
    // A new failure starts a new clock instead of disabling the endpoint again at once.
    const before = Date.now();
    const { deliveryId } = (await call("POST", `/v1/webhooks/${w.id}/test`, { key })).json;
    await poll(
      () => deliveries(key, w.id),
      (d) => d.find((x: { id: string }) => x.id === deliveryId)?.attempts.length >= 1,
    );
    expect(await clock()).toBeGreaterThanOrEqual(before);
    expect((await call("GET", `/v1/webhooks/${w.id}`, { key })).json.active).toBe(true);
  });

  it("emits each event type once, at the moment it happens, in a full journey", async () => {
    const { key } = await newOrg();
    const w = await subscribe(key);
    const hits = endpoint(w.url);
    const flow = await activeWorkflow(key, [
      { id: "m", type: "send_email", config: { subject: "Hi", html: "<p>x</p>" } },
      { id: "d", type: "delay", config: { amount: 1, unit: "hours" } },
      { id: "l", type: "log", config: { message: "done" } },
    ]);
    const e = (
      await call("POST", "/v1/enrollments", {
        key,
        body: { workflowId: flow.id, contact: { email: "journey@x.co" } },
      })
    ).json;
    const delivered = async () =>
      (await deliveries(key, w.id)).map((d: { eventType: string; eventId: string }) => d);
    const types = (list: { eventType: string }[]) => list.map((d) => d.eventType).sort();
    // Until the delay: the contact, the enrollment, its first step and the email — nothing of the end yet.
    await settle(key, e.id);
    await drained(e.id);
    const first = await poll(delivered, (d) =>
      d.some((x: { eventType: string }) => x.eventType === "email.sent"),
    );
    expect(types(first)).toEqual([
      "contact.created",
      "email.sent",
      "enrollment.created",
      "enrollment.step_completed",
    ]);
    // The hour passes: the delay and the log step complete, then the enrollment.
    await expireWait(e.id);
    await drained(e.id);
    const all = await delivered();
    expect(types(all)).toEqual([
      "contact.created",
      "email.sent",
      "enrollment.completed",
      "enrollment.created",
      "enrollment.step_completed",
      "enrollment.step_completed",
      "enrollment.step_completed",
    ]);
    expect(new Set(all.map((d: { eventId: string }) => d.eventId)).size).toBe(all.length);
    const received = await poll(
      async () =>
        hits.map((h) => JSON.parse(h.body) as { type: string; data: Record<string, unknown> }),
      (r) => r.length === all.length,
    );
    for (const h of hits) {
      expect(() => new Webhook(w.secret).verify(h.body, h.headers)).not.toThrow();
    }
    expect(
      received.filter((p) => p.type === "enrollment.step_completed").map((p) => p.data.stepId),
    ).toEqual(["m", "d", "l"]);
    expect(received.find((p) => p.type === "enrollment.completed")?.data).toMatchObject({
      enrollmentId: e.id,
      workflowId: flow.id,
      status: "completed",
    });
  });

  it("only sends the subscribed types, and nothing to another org", async () => {
    const a = await newOrg("A");
    const b = await newOrg("B");
    const wa = await subscribe(a.key, ["contact.created"]);
    const wb = await subscribe(b.key, ["*"]);
    const hits = endpoint(wa.url);
    const first = (await call("POST", "/v1/contacts", { key: a.key, body: { email: "only@x.co" } }))
      .json;
    await call("PATCH", `/v1/contacts/${first.id}`, { key: a.key, body: { firstName: "O" } });
    // A later subscribed event: once it has arrived, the update published before it has been processed too.
    await call("POST", "/v1/contacts", { key: a.key, body: { email: "sentinel@x.co" } });
    await poll(
      async () => hits.length,
      (n) => n === 2,
    );
    expect(hits.map((h) => JSON.parse(h.body).type)).toEqual([
      "contact.created",
      "contact.created",
    ]);
    expect((await deliveries(a.key, wa.id)).map((d: { eventType: string }) => d.eventType)).toEqual(
      ["contact.created", "contact.created"],
    );
    expect(await deliveries(b.key, wb.id)).toEqual([]);
  });

  it("calls the webhook step's endpoint with its templated request, once per visit, retrying failures", async () => {
    const { key } = await newOrg();
    const url = hookUrl();
    const calls = captureQueue<{ kind: string }>("WEBHOOK_QUEUE", (b) => b.kind === "call");
    const flow = await activeWorkflow(key, [
      {
        id: "hook",
        type: "webhook",
        config: {
          url: `${url}?plan={{ contact.data.plan }}`,
          method: "PUT",
          headers: { "x-token": "{{ vars.token }}" },
          body: { email: "{{ contact.email }}", fixed: 1 },
        },
      },
    ]);
    const e = (
      await call("POST", "/v1/enrollments", {
        key,
        body: {
          workflowId: flow.id,
          contact: { email: "step@x.co", data: { plan: "pro" } },
          variables: { token: "t-1" },
        },
      })
    ).json;
    await poll(
      async () => calls.captured.length,
      (n) => n === 1,
    );
    calls.restore();
    const hits = endpoint(`${url}?plan=pro`, (n) =>
      n === 1 ? new Response("busy", { status: 503 }) : new Response(null, { status: 204 }),
    );
    const first = await consume("nudge-webhook", calls.captured, 1);
    expect(first.delayOf(0)).toBe(10); // 2^attempt × 5 s
    expect((await consume("nudge-webhook", calls.captured, 2)).delayOf(0)).toBeNull();
    expect(hits).toHaveLength(2);
    for (const h of hits) {
      expect(h.redirect).toBe("manual");
      expect(h.headers).toMatchObject({
        "x-token": "t-1",
        "idempotency-key": `${e.id}:hook:1`,
        "content-type": "application/json",
      });
      expect(JSON.parse(h.body)).toEqual({ email: "step@x.co", fixed: 1 });
    }
    await drained(e.id);
  });

  it("refuses a webhook step's call at send time when its URL points inside", async () => {
    const { key } = await newOrg();
    const inside = "https://10.0.0.7/steal?who=ssrf%40x.co";
    const hits = endpoint(inside);
    const flow = await activeWorkflow(key, [
      {
        id: "hook",
        type: "webhook",
        config: { url: "https://10.0.0.7/steal?who={{ contact.email | url_encode }}" },
      },
    ]);
    const e = (
      await call("POST", "/v1/enrollments", {
        key,
        body: { workflowId: flow.id, contact: { email: "ssrf@x.co" } },
      })
    ).json;
    expect((await settle(key, e.id)).status).toBe("completed");
    await drained(e.id); // the consumer took the call up and confirmed it
    expect(hits).toEqual([]);
  });
});
