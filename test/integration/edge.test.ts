import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src";
import { signToken } from "../../src/security/tokens";
import { runWatchdog } from "../../src/watchdog";
import {
  activeWorkflow,
  call,
  expectError,
  newOrg,
  poll,
  svixSigner,
  testLog,
} from "../helpers/api";
import { certificatePem, rawToDer } from "../helpers/der";
import { drained, enrollment, settle } from "../helpers/enrollments";
import { consume } from "../helpers/queues";

afterEach(() => vi.restoreAllMocks());

const b64 = (buf: ArrayBuffer | Uint8Array) => btoa(String.fromCharCode(...new Uint8Array(buf)));

/** Sends an email through the outbox for a fresh contact and returns its tracking links. */
async function sentEmail(opts: { steps?: unknown[] } = {}) {
  const { key, orgId } = await newOrg();
  const w = await activeWorkflow(
    key,
    opts.steps ?? [
      {
        id: "m",
        type: "send_email",
        config: {
          subject: "Hi",
          html: '<p><a href="https://acme.test/pricing?a=1">Pricing</a></p>',
        },
      },
      { id: "w", type: "wait_for_event", config: { eventName: "email.opened", timeout: 86400 } },
    ],
  );
  const e = (
    await call("POST", "/v1/enrollments", {
      key,
      body: { workflowId: w.id, contact: { email: `edge${Math.random()}@x.co` } },
    })
  ).json;
  await settle(key, e.id);
  const out = await poll(
    async () => (await call("GET", "/v1/outbox", { key })).json.data,
    (d) => d.length === 1,
  );
  const html: string = out[0].html;
  const pixel = /src="https:\/\/nudge\.test(\/t\/o\/[^"]+)"/.exec(html)?.[1] as string;
  const click = /href="https:\/\/nudge\.test(\/t\/c\/[^"]+)"/.exec(html)?.[1] as string;
  const unsubscribe = /<https:\/\/nudge\.test(\/t\/u\/[^>]+)>/.exec(
    out[0].headers["List-Unsubscribe"],
  )?.[1] as string;
  const messageId: string = out[0].messageId;
  return {
    key,
    orgId,
    enrollmentId: e.id as string,
    contactId: e.contactId as string,
    pixel,
    click,
    unsubscribe,
    messageId,
  };
}

const message = async (key: string, id: string) =>
  (await call("GET", `/v1/messages/${id}`, { key })).json;
/** Moves a message's send time back, so a click is not "within seconds of sending". */
const sentAgo = (ms: number, id: string) =>
  env.DB.prepare("UPDATE messages SET sent_at = ? WHERE id = ?")
    .bind(Date.now() - ms, id)
    .run();

function tamper(token: string) {
  const [kid, body, sig] = token.split(".");
  const payload = JSON.parse(atob(body.replace(/-/g, "+").replace(/_/g, "/")));
  payload.u = "https://evil.test/";
  const forged = btoa(JSON.stringify(payload))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
  return `${kid}.${forged}.${sig}`;
}

describe("tracking pixel and click redirect", () => {
  it("answers a good pixel with a no-store GIF and a good click with a 302", async () => {
    const s = await sentEmail();
    const px = await call("GET", s.pixel);
    expect(px.status).toBe(200);
    expect(px.headers.get("content-type")).toBe("image/gif");
    expect(px.headers.get("cache-control")).toContain("no-store");
    await sentAgo(60_000, s.messageId);
    const click = await call("GET", s.click, {
      headers: { "user-agent": "Mozilla/5.0 (Macintosh) AppleWebKit/605 Safari/605" },
    });
    expect(click.status).toBe(302);
    expect(click.headers.get("location")).toBe("https://acme.test/pricing?a=1");
  });

  it("never redirects on an altered, foreign-key or wrong-kind token", async () => {
    const s = await sentEmail();
    const token = s.click.split("/").pop() as string;
    expectError(await call("GET", `/t/c/${tamper(token)}`), 404, "not_found");
    const foreign = await signToken(
      { ...env, TOKEN_SIGNING_KEYS: "k1:some-other-secret-0123456789abcdefghij" },
      { k: "c", g: s.orgId, m: s.messageId, l: 0, u: "https://evil.test/" },
    );
    const r = await call("GET", `/t/c/${foreign}`);
    expectError(r, 404, "not_found");
    expect(r.headers.get("location")).toBeNull();
    expectError(await call("GET", `/t/c/${s.pixel.split("/").pop()}`), 404, "not_found");
    expectError(await call("GET", "/t/c/garbage"), 404, "not_found");
    expectError(
      await call("GET", `/t/o/${tamper(s.pixel.split("/").pop() as string)}`),
      404,
      "not_found",
    );
  });

  it("verifies tokens signed with an older key still listed (rotation)", async () => {
    const s = await sentEmail();
    const old = await signToken(
      { ...env, TOKEN_SIGNING_KEYS: "k0:test-signing-secret-zero-0123456789abcdef" },
      { k: "c", g: s.orgId, m: s.messageId, l: 0, u: "https://acme.test/old" },
    );
    const r = await call("GET", `/t/c/${old}`);
    expect(r.status).toBe(302);
    expect(r.headers.get("location")).toBe("https://acme.test/old");
  });

  it("touches no database before answering", async () => {
    const s = await sentEmail();
    const forbidden = new Proxy({} as D1Database, {
      get() {
        throw new Error("D1 was used on the edge path");
      },
    });
    for (const path of [s.pixel, s.click]) {
      const ctx = createExecutionContext();
      const res = await worker.fetch(
        new Request(`https://nudge.test${path}`, { redirect: "manual" }),
        { ...env, DB: forbidden },
        ctx,
      );
      expect([200, 302]).toContain(res.status);
      await waitOnExecutionContext(ctx);
    }
  });

  it("counts a human open, resumes the enrollment waiting for email.opened, and flags machine opens apart", async () => {
    const s = await sentEmail();
    await call("GET", s.pixel, { headers: { "user-agent": "Mozilla/5.0" } }); // Apple Mail Privacy Protection
    await call("HEAD", s.pixel, {
      headers: { "user-agent": "Mozilla/5.0 (Windows NT 10.0) Chrome/120" },
    });
    await poll(
      () => message(s.key, s.messageId),
      (m) => m.machineOpens === 2,
    );
    expect((await enrollment(s.key, s.enrollmentId)).status).toBe("waiting");
    await call("GET", s.pixel, {
      headers: { "user-agent": "Mozilla/5.0 (Windows NT 10.0) Thunderbird/115" },
    });
    const m = await poll(
      () => message(s.key, s.messageId),
      (m) => m.opens === 1,
    );
    expect(m.machineOpens).toBe(2);
    const e = await poll(
      () => enrollment(s.key, s.enrollmentId),
      (e) => e.status === "completed",
    );
    expect(
      e.timeline.some((l: { message: string }) => l.message.includes('"email.opened" received')),
    ).toBe(true);
  });

  it("flags a click within seconds of sending as a machine click, and counts a later one", async () => {
    const s = await sentEmail();
    await sentAgo(0, s.messageId); // sent just now: a click in the next 5 s is a scanner's
    await call("GET", s.click, { headers: { "user-agent": "Mozilla/5.0 (Macintosh) Safari/605" } });
    await poll(
      () => message(s.key, s.messageId),
      (m) => m.machineClicks === 1,
    );
    await call("GET", s.click, { headers: { "user-agent": "Proofpoint URL Defense" } });
    await poll(
      () => message(s.key, s.messageId),
      (m) => m.machineClicks === 2,
    );
    await sentAgo(60_000, s.messageId);
    await call("GET", s.click, { headers: { "user-agent": "Mozilla/5.0 (Macintosh) Safari/605" } });
    const m = await poll(
      () => message(s.key, s.messageId),
      (m) => m.clicks === 1,
    );
    expect(m.machineClicks).toBe(2);
    const events = await poll(
      async () =>
        (await call("GET", `/v1/contacts/${s.contactId}/events`, { key: s.key })).json.data,
      (d) => d.some((e: { name: string }) => e.name === "email.clicked"),
    );
    expect(events.find((e: { name: string }) => e.name === "email.clicked").data.url).toBe(
      "https://acme.test/pricing?a=1",
    );
    const stats = (
      await call(
        "GET",
        `/v1/workflows/${(await enrollment(s.key, s.enrollmentId)).workflowId}/stats`,
        { key: s.key },
      )
    ).json;
    expect(stats.steps[0].email).toMatchObject({ clicked: 1, machineClicked: 2 });
  });
});

describe("one-click unsubscribe", () => {
  it("shows a confirmation page on GET and changes nothing", async () => {
    const s = await sentEmail();
    const queued = vi.spyOn(env.EVENT_QUEUE, "send");
    const batched = vi.spyOn(env.EVENT_QUEUE, "sendBatch");
    const ctx = createExecutionContext();
    const page = await worker.fetch(new Request(`https://nudge.test${s.unsubscribe}`), env, ctx);
    await waitOnExecutionContext(ctx); // everything the request started has finished
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain('method="post"');
    expect(queued).not.toHaveBeenCalled();
    expect(batched).not.toHaveBeenCalled();
    expect((await call("GET", `/v1/contacts/${s.contactId}`, { key: s.key })).json.subscribed).toBe(
      true,
    );
  });

  it.each([
    [
      "form-encoded",
      () => ({
        raw: "List-Unsubscribe=One-Click",
        headers: { "content-type": "application/x-www-form-urlencoded" },
      }),
    ],
    [
      "multipart",
      () => {
        const form = new FormData();
        form.set("List-Unsubscribe", "One-Click");
        return { raw: form };
      },
    ],
  ])(
    "unsubscribes on POST (%s), idempotently, and no further email is sent",
    async (_name, body) => {
      const s = await sentEmail({
        steps: [
          { id: "m", type: "send_email", config: { subject: "Hi", html: "<p>x</p>" } },
          { id: "w", type: "wait_for_event", config: { eventName: "go", timeout: 86400 } },
          { id: "again", type: "send_email", config: { subject: "Again", html: "<p>x</p>" } },
        ],
      });
      const res = await call("POST", s.unsubscribe, body());
      expect(res.status).toBe(200);
      expect(res.headers.get("location")).toBeNull();
      expect((await call("POST", s.unsubscribe, body())).status).toBe(200);
      const c = await poll(
        async () => (await call("GET", `/v1/contacts/${s.contactId}`, { key: s.key })).json,
        (c) => c.subscribed === false,
      );
      expect(c.unsubscribedAt).toMatch(/Z$/);
      const events = await poll(
        async () =>
          (await call("GET", `/v1/contacts/${s.contactId}/events`, { key: s.key })).json.data,
        (d) => d.some((e: { name: string }) => e.name === "contact.unsubscribed"),
      );
      expect(
        events.filter((e: { name: string }) => e.name === "contact.unsubscribed"),
      ).toHaveLength(1);
      // The journey goes on to its next email step: it is skipped, and nothing is sent.
      expect(
        (
          await call("POST", "/v1/events?wait=true", {
            key: s.key,
            body: { name: "go", contactId: s.contactId },
          })
        ).json.resumed,
      ).toEqual([s.enrollmentId]);
      const done = await settle(s.key, s.enrollmentId);
      expect(done.status).toBe("completed");
      expect(
        done.timeline.find(
          (l: { stepId: string; status: string }) => l.stepId === "again" && l.status !== "started",
        ),
      ).toMatchObject({
        status: "skipped",
        outcome: "suppressed",
      });
      await drained(s.enrollmentId);
      expect(
        (await call("GET", `/v1/messages?contactId=${s.contactId}`, { key: s.key })).json.data.map(
          (m: { stepId: string }) => m.stepId,
        ),
      ).toEqual(["m"]);
      expect((await call("GET", "/v1/outbox", { key: s.key })).json.data).toHaveLength(1);
    },
  );

  it("refuses a forged unsubscribe token", async () => {
    const s = await sentEmail();
    const forged = await signToken(
      { ...env, TOKEN_SIGNING_KEYS: "k1:not-ours-0123456789abcdefghijklmnopqr" },
      { k: "u", g: s.orgId, m: s.messageId, c: s.contactId },
    );
    expectError(
      await call("POST", `/t/u/${forged}`, {
        raw: "List-Unsubscribe=One-Click",
        headers: { "content-type": "application/x-www-form-urlencoded" },
      }),
      404,
      "not_found",
    );
  });
});

describe("the unauthenticated edge under abuse", () => {
  const human = { "user-agent": "Mozilla/5.0 (Windows NT 10.0) Thunderbird/115" };
  const events = async (s: { key: string; contactId: string }, name: string) =>
    (
      (await call("GET", `/v1/contacts/${s.contactId}/events`, { key: s.key })).json.data as {
        name: string;
      }[]
    ).filter((e) => e.name === name);

  it("counts human opens of a message within 60 s once — one event, one resume — and machine opens each", async () => {
    const s = await sentEmail();
    for (let i = 0; i < 5; i++) {
      expect((await call("GET", s.pixel, { headers: human })).status).toBe(200);
    }
    for (let i = 0; i < 3; i++) {
      await call("GET", s.pixel, { headers: { "user-agent": "Mozilla/5.0" } }); // Apple MPP
    }
    const m = await poll(
      () => message(s.key, s.messageId),
      (m) => m.opens >= 1 && m.machineOpens === 3,
    );
    await poll(
      () => events(s, "email.opened"),
      (e) => e.length >= 1,
    );
    await drained(s.enrollmentId);
    expect(m.opens).toBe(1);
    expect((await message(s.key, s.messageId)).opens).toBe(1);
    expect(await events(s, "email.opened")).toHaveLength(1);
    // A minute later, an open counts again.
    await env.DB.prepare("UPDATE messages SET last_opened_at = ? WHERE id = ?")
      .bind(Date.now() - 61_000, s.messageId)
      .run();
    await call("GET", s.pixel, { headers: human });
    await poll(
      () => message(s.key, s.messageId),
      (m) => m.opens === 2,
    );
    await poll(
      () => events(s, "email.opened"),
      (e) => e.length === 2,
    );
  });

  it("counts clicks of one link within 60 s once, and each link apart", async () => {
    const s = await sentEmail({
      steps: [
        {
          id: "m",
          type: "send_email",
          config: {
            subject: "Hi",
            html: '<p><a href="https://acme.test/a">A</a> <a href="https://acme.test/b">B</a></p>',
          },
        },
      ],
    });
    await sentAgo(60_000, s.messageId);
    const out = (await call("GET", "/v1/outbox", { key: s.key })).json.data[0].html as string;
    const [a, b] = [...out.matchAll(/href="https:\/\/nudge\.test(\/t\/c\/[^"]+)"/g)].map(
      (x) => x[1],
    );
    for (const link of [a, a, a, b, b]) {
      expect((await call("GET", link, { headers: human })).status).toBe(302);
    }
    await poll(
      () => message(s.key, s.messageId),
      (m) => m.clicks === 2,
    );
    const clicked = await poll(
      () => events(s, "email.clicked"),
      (e) => e.length === 2,
    );
    expect(clicked.map((e) => (e as { data?: { url: string } }).data?.url).sort()).toEqual([
      "https://acme.test/a",
      "https://acme.test/b",
    ]);
    await new Promise((r) => setTimeout(r, 500));
    expect((await message(s.key, s.messageId)).clicks).toBe(2);
  });

  it("counts a hit once when two consumer batches race for the same message", async () => {
    const s = await sentEmail();
    const job = (at: number) => ({
      kind: "open",
      id: `evt_race_${at}`,
      orgId: s.orgId,
      messageId: s.messageId,
      at,
      machine: null,
    });
    const now = Date.now();
    await Promise.all([
      consume("nudge-event", [job(now)]),
      consume("nudge-event", [job(now + 1000)]),
      consume("nudge-event", [job(now + 2000)]),
    ]);
    expect((await message(s.key, s.messageId)).opens).toBe(1);
    expect(await events(s, "email.opened")).toHaveLength(1);
  });

  it("answers 429 with Retry-After for a hammered token, and never limits valid tokens per IP", async () => {
    const s = await sentEmail();
    const ip = { ...human, "cf-connecting-ip": "198.51.100.7" };
    let limited: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 120 && !limited; i++) {
      const r = await call("GET", s.pixel, { headers: ip });
      if (r.status === 429) {
        limited = r;
      } else {
        expect(r.status).toBe(200);
      }
    }
    expect(limited).toBeDefined();
    expectError(limited as Awaited<ReturnType<typeof call>>, 429, "rate_limited");
    expect(Number(limited?.headers.get("retry-after"))).toBeGreaterThan(0);
    // Another message's pixel from the same address (an image proxy) still answers.
    const other = await sentEmail();
    expect((await call("GET", other.pixel, { headers: ip })).status).toBe(200);
  });

  it("limits tokens that fail verification per IP, leaving other addresses and valid tokens alone", async () => {
    const s = await sentEmail();
    const from = (ip: string) => ({ headers: { ...human, "cf-connecting-ip": ip } });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      statuses.push((await call("GET", `/t/c/k1.bogus${i}.sig`, from("203.0.113.9"))).status);
    }
    expect(statuses.slice(0, 5)).toEqual([404, 404, 404, 404, 404]);
    expect(statuses.at(-1)).toBe(429);
    expect((await call("GET", "/t/c/k1.bogus.sig", from("203.0.113.10"))).status).toBe(404);
    expect((await call("GET", s.pixel, from("203.0.113.9"))).status).toBe(200);
  });

  it("limits provider webhooks per connection", async () => {
    const { key } = await newOrg();
    const conn = (
      await call("POST", "/v1/connections", {
        key,
        body: {
          provider: "postmark",
          key: "pm-limit",
          credentials: { serverToken: "t", webhookUsername: "u", webhookPassword: "p" },
        },
      })
    ).json;
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) {
      statuses.push(
        (
          await call("POST", `/inbound/postmark/${conn.id}`, {
            raw: "{}",
            headers: { "content-type": "application/json" },
          })
        ).status,
      );
    }
    expect(statuses[0]).toBe(401);
    expect(statuses.at(-1)).toBe(429);
  });

  it("shows an expired click link's destination, escaped, instead of redirecting; an old pixel records nothing", async () => {
    const s = await sentEmail();
    const longAgo = Date.now() - 366 * 86_400_000;
    const url = 'https://acme.test/?q=<b>"x"</b>&r=1';
    const click = await signToken(
      env,
      { k: "c", g: s.orgId, m: s.messageId, l: 0, u: url },
      longAgo,
    );
    const r = await call("GET", `/t/c/${click}`);
    expect(r.status).toBe(200);
    expect(r.headers.get("location")).toBeNull();
    expect(r.headers.get("content-type")).toContain("text/html");
    expect(r.text).toContain("https://acme.test/?q=&lt;b&gt;&quot;x&quot;&lt;/b&gt;&amp;r=1");
    expect(r.text).not.toContain("<b>");
    const queued = vi.spyOn(env.EVENT_QUEUE, "send");
    const batched = vi.spyOn(env.EVENT_QUEUE, "sendBatch");
    const pixel = await signToken(env, { k: "o", g: s.orgId, m: s.messageId }, longAgo);
    const ctx = createExecutionContext();
    const px = await worker.fetch(new Request(`https://nudge.test/t/o/${pixel}`), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(px.status).toBe(200);
    expect(px.headers.get("content-type")).toBe("image/gif");
    expect(queued).not.toHaveBeenCalled();
    expect(batched).not.toHaveBeenCalled();
    // A recent token of the same message still redirects.
    const fresh = await signToken(env, { k: "c", g: s.orgId, m: s.messageId, l: 0, u: url });
    expect((await call("GET", `/t/c/${fresh}`)).headers.get("location")).toBe(url);
  });

  it("unsubscribes on POST only with the List-Unsubscribe=One-Click body", async () => {
    const s = await sentEmail();
    const form = (raw: string) => ({
      raw,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expectError(await call("POST", s.unsubscribe), 400, "bad_request");
    expectError(
      await call("POST", s.unsubscribe, form("List-Unsubscribe=Nope")),
      400,
      "bad_request",
    );
    expectError(
      await call("POST", s.unsubscribe, {
        raw: '{"List-Unsubscribe":"One-Click"}',
        headers: { "content-type": "application/json" },
      }),
      400,
      "bad_request",
    );
    await new Promise((r) => setTimeout(r, 300));
    expect((await call("GET", `/v1/contacts/${s.contactId}`, { key: s.key })).json.subscribed).toBe(
      true,
    );
    expect((await call("POST", s.unsubscribe, form("List-Unsubscribe=One-Click"))).status).toBe(
      200,
    );
    await poll(
      async () => (await call("GET", `/v1/contacts/${s.contactId}`, { key: s.key })).json,
      (c) => c.subscribed === false,
    );
  });
});

describe("inbound provider webhooks", () => {
  it("remembers provider event ids for 30 days against redeliveries, then the watchdog forgets them", async () => {
    const day = 86_400_000;
    await env.DB.prepare(
      "INSERT INTO inbound_events (connection_id, event_id, received_at) VALUES (?, ?, ?), (?, ?, ?)",
    )
      .bind("cxn_prune", "old", Date.now() - 31 * day, "cxn_prune", "recent", Date.now() - 29 * day)
      .run();
    await runWatchdog(env, testLog);
    const left = await env.DB.prepare(
      "SELECT event_id FROM inbound_events WHERE connection_id = 'cxn_prune'",
    ).all<{ event_id: string }>();
    expect(left.results.map((r) => r.event_id)).toEqual(["recent"]);
  });

  async function withProviderMessage(
    provider: string,
    credentials: Record<string, string>,
    providerMessageId: string,
  ) {
    const s = await sentEmail({
      steps: [{ id: "m", type: "send_email", config: { subject: "Hi", html: "<p>x</p>" } }],
    });
    const conn = (
      await call("POST", "/v1/connections", {
        key: s.key,
        body: { provider, key: `in-${provider}`, credentials },
      })
    ).json;
    await env.DB.prepare("UPDATE messages SET provider_message_id = ? WHERE id = ?")
      .bind(providerMessageId, s.messageId)
      .run();
    return { ...s, connectionId: conn.id as string };
  }

  async function expectSuppressed(
    s: { key: string; contactId: string; messageId: string },
    status: "bounced" | "complained",
  ) {
    expect((await message(s.key, s.messageId)).status).toBe(status);
    expect((await call("GET", `/v1/contacts/${s.contactId}`, { key: s.key })).json.suppressed).toBe(
      status,
    );
    const events = (await call("GET", `/v1/contacts/${s.contactId}/events`, { key: s.key })).json
      .data;
    expect(events.filter((e: { name: string }) => e.name === `email.${status}`)).toHaveLength(1);
  }

  it("SendGrid: ECDSA-signed events; a forged signature is 401; a repeat is ignored", async () => {
    const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    const spki = (await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer;
    const s = await withProviderMessage(
      "sendgrid",
      { apiKey: "SG.x", webhookVerificationKey: b64(spki) },
      "sg-msg-1",
    );
    const body = JSON.stringify([
      {
        email: "x@y.z",
        event: "bounce",
        type: "bounce",
        reason: "550 5.1.1 user unknown",
        sg_event_id: "sg-ev-1",
        sg_message_id: "sg-msg-1.filter0001",
        timestamp: 1,
      },
    ]);
    const ts = String(Math.floor(Date.now() / 1000));
    const sig = new Uint8Array(
      await crypto.subtle.sign(
        { name: "ECDSA", hash: "SHA-256" },
        pair.privateKey,
        new TextEncoder().encode(ts + body),
      ),
    );
    const headers = {
      "content-type": "application/json",
      "x-twilio-email-event-webhook-timestamp": ts,
      "x-twilio-email-event-webhook-signature": b64(rawToDer(sig)),
    };
    expectError(
      await call("POST", `/inbound/sendgrid/${s.connectionId}`, {
        raw: body.replace("bounce", "delivered"),
        headers,
      }),
      401,
      "unauthorized",
    );
    const ok = await call("POST", `/inbound/sendgrid/${s.connectionId}`, { raw: body, headers });
    expect(ok.json).toEqual({ received: 1, applied: 1 });
    expect(
      (await call("POST", `/inbound/sendgrid/${s.connectionId}`, { raw: body, headers })).json,
    ).toEqual({ received: 1, applied: 0 });
    await expectSuppressed(s, "bounced");
  });

  it("Resend: Svix-signed events", async () => {
    const signer = await svixSigner();
    const s = await withProviderMessage(
      "resend",
      { apiKey: "re_x", webhookSecret: signer.secret },
      "re-msg-1",
    );
    const body = JSON.stringify({
      type: "email.complained",
      created_at: "2026-11-22T00:00:00Z",
      data: { email_id: "re-msg-1" },
    });
    const headers = await signer.headers("msg_svix_1", body);
    expectError(
      await call("POST", `/inbound/resend/${s.connectionId}`, {
        raw: body,
        headers: { ...headers, "svix-signature": "v1,AAAA" },
      }),
      401,
      "unauthorized",
    );
    expect(
      (await call("POST", `/inbound/resend/${s.connectionId}`, { raw: body, headers })).json,
    ).toEqual({ received: 1, applied: 1 });
    await expectSuppressed(s, "complained");
  });

  it("the same provider event id on two orgs' connections applies to each (dedupe is per connection)", async () => {
    const credentials = { serverToken: "t", webhookUsername: "hook", webhookPassword: "pw-123" };
    const a = await withProviderMessage("postmark", credentials, "pm-shared-a");
    const b = await withProviderMessage("postmark", credentials, "pm-shared-b");
    const post = (s: typeof a, messageId: string) =>
      call("POST", `/inbound/postmark/${s.connectionId}`, {
        raw: JSON.stringify({
          RecordType: "Bounce",
          Type: "HardBounce",
          ID: 7,
          MessageID: messageId,
        }),
        headers: {
          "content-type": "application/json",
          authorization: `Basic ${btoa("hook:pw-123")}`,
        },
      });
    expect((await post(a, "pm-shared-a")).json).toEqual({ received: 1, applied: 1 });
    expect((await post(b, "pm-shared-b")).json).toEqual({ received: 1, applied: 1 });
    await expectSuppressed(a, "bounced");
    await expectSuppressed(b, "bounced");
    // Org b's connection cannot reach org a's message, even by its provider id.
    const c = await withProviderMessage("postmark", credentials, "pm-shared-c");
    expect(
      (
        await call("POST", `/inbound/postmark/${b.connectionId}`, {
          raw: JSON.stringify({
            RecordType: "Bounce",
            Type: "HardBounce",
            ID: 8,
            MessageID: "pm-shared-c",
          }),
          headers: {
            "content-type": "application/json",
            authorization: `Basic ${btoa("hook:pw-123")}`,
          },
        })
      ).json,
    ).toEqual({ received: 1, applied: 0 });
    expect((await message(c.key, c.messageId)).status).toBe("sent");
  });

  it("an inbound body over 1 MiB is 413 before any signature work", async () => {
    const s = await withProviderMessage(
      "postmark",
      { serverToken: "t", webhookUsername: "hook", webhookPassword: "pw-123" },
      "pm-big",
    );
    expectError(
      await call("POST", `/inbound/postmark/${s.connectionId}`, {
        raw: `{"pad":"${"x".repeat(1024 * 1024)}"}`,
        headers: {
          "content-type": "application/json",
          authorization: `Basic ${btoa("hook:pw-123")}`,
        },
      }),
      413,
      "payload_too_large",
    );
  });

  it("Postmark: basic auth", async () => {
    const s = await withProviderMessage(
      "postmark",
      { serverToken: "t", webhookUsername: "hook", webhookPassword: "pw-123" },
      "pm-msg-1",
    );
    const body = JSON.stringify({
      RecordType: "Bounce",
      Type: "HardBounce",
      ID: 42,
      MessageID: "pm-msg-1",
      Description: "The server was unable to deliver your message",
    });
    expectError(
      await call("POST", `/inbound/postmark/${s.connectionId}`, {
        raw: body,
        headers: {
          "content-type": "application/json",
          authorization: `Basic ${btoa("hook:wrong")}`,
        },
      }),
      401,
      "unauthorized",
    );
    const ok = await call("POST", `/inbound/postmark/${s.connectionId}`, {
      raw: body,
      headers: {
        "content-type": "application/json",
        authorization: `Basic ${btoa("hook:pw-123")}`,
      },
    });
    expect(ok.json).toEqual({ received: 1, applied: 1 });
    await expectSuppressed(s, "bounced");
  });

  it("Amazon SES via SNS: certificate-signed, subscription confirmed; other topics, stale messages and topic-less connections refused", async () => {
    const pair = (await crypto.subtle.generateKey(
      {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: "SHA-256",
      },
      true,
      ["sign", "verify"],
    )) as CryptoKeyPair;
    const pem = certificatePem(
      (await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer,
    );
    const topic = "arn:aws:sns:eu-west-1:123456789012:ses-events";
    const s = await withProviderMessage(
      "ses",
      { accessKeyId: "a", secretAccessKey: "b", region: "eu-west-1", topicArn: topic },
      "ses-msg-1",
    );
    const certUrl = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem";
    const confirmed: string[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL) => {
      const url = String(input instanceof Request ? input.url : input);
      if (url === certUrl) {
        return new Response(pem);
      }
      confirmed.push(url);
      return new Response("<ConfirmSubscriptionResponse/>");
    });
    const sign = async (m: Record<string, string>) => {
      const fields =
        m.Type === "Notification"
          ? ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
          : ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"];
      const text = fields
        .filter((f) => m[f] !== undefined)
        .map((f) => `${f}\n${m[f]}\n`)
        .join("");
      const sig = await crypto.subtle.sign(
        "RSASSA-PKCS1-v1_5",
        pair.privateKey,
        new TextEncoder().encode(text),
      );
      return JSON.stringify({
        ...m,
        SignatureVersion: "2",
        Signature: b64(sig),
        SigningCertURL: certUrl,
      });
    };
    const base = { Timestamp: new Date().toISOString(), TopicArn: topic };
    const confirm = await sign({
      ...base,
      Type: "SubscriptionConfirmation",
      MessageId: "sns-0",
      Token: "tok",
      Message: "confirm",
      SubscribeURL: "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=tok",
    });
    expect(
      (
        await call("POST", `/inbound/ses/${s.connectionId}`, {
          raw: confirm,
          headers: { "content-type": "text/plain" },
        })
      ).status,
    ).toBe(200);
    expect(confirmed).toEqual([
      "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=tok",
    ]);
    const notification = {
      notificationType: "Bounce",
      bounce: {
        bounceType: "Permanent",
        bouncedRecipients: [{ diagnosticCode: "smtp; 550 user unknown" }],
      },
      mail: { messageId: "ses-msg-1" },
    };
    const good = await sign({
      ...base,
      Type: "Notification",
      MessageId: "sns-1",
      Message: JSON.stringify(notification),
    });
    const tampered = good.replace("Permanent", "Transient");
    expectError(
      await call("POST", `/inbound/ses/${s.connectionId}`, {
        raw: tampered,
        headers: { "content-type": "text/plain" },
      }),
      401,
      "unauthorized",
    );
    const otherTopic = await sign({
      ...base,
      TopicArn: "arn:aws:sns:eu-west-1:999999999999:evil",
      Type: "Notification",
      MessageId: "sns-2",
      Message: JSON.stringify(notification),
    });
    expectError(
      await call("POST", `/inbound/ses/${s.connectionId}`, {
        raw: otherTopic,
        headers: { "content-type": "text/plain" },
      }),
      403,
      "forbidden",
    );
    const stale = await sign({
      ...base,
      Timestamp: new Date(Date.now() - 2 * 3600_000).toISOString(),
      Type: "Notification",
      MessageId: "sns-3",
      Message: JSON.stringify(notification),
    });
    const staleAnswer = await call("POST", `/inbound/ses/${s.connectionId}`, {
      raw: stale,
      headers: { "content-type": "text/plain" },
    });
    expectError(staleAnswer, 401, "unauthorized");
    expect(staleAnswer.json.message).toMatch(/older than an hour/);
    // A connection without a topicArn accepts no SNS message, however well signed.
    const open = (
      await call("POST", "/v1/connections", {
        key: s.key,
        body: {
          provider: "ses",
          key: "ses-no-topic",
          credentials: { accessKeyId: "a", secretAccessKey: "b", region: "eu-west-1" },
        },
      })
    ).json;
    const noTopic = await call("POST", `/inbound/ses/${open.id}`, {
      raw: good,
      headers: { "content-type": "text/plain" },
    });
    expectError(noTopic, 403, "forbidden");
    expect(noTopic.json.message).toMatch(/topicArn/);
    expect(
      (
        await call("POST", `/inbound/ses/${s.connectionId}`, {
          raw: good,
          headers: { "content-type": "text/plain" },
        })
      ).json,
    ).toEqual({
      received: 1,
      applied: 1,
    });
    await expectSuppressed(s, "bounced");
  });

  it("Mailgun: HMAC-signed events; permanent failures bounce, temporary ones do not, complaints complain", async () => {
    const signingKey = "mg-webhook-signing-key-0123";
    const s = await withProviderMessage(
      "mailgun",
      { apiKey: "mg", domain: "mg.acme.test", webhookSigningKey: signingKey },
      "mg-msg-1",
    );
    const hmacHex = async (content: string) => {
      const key = await crypto.subtle.importKey(
        "raw",
        new TextEncoder().encode(signingKey),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      );
      return [
        ...new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(content))),
      ]
        .map((b) => b.toString(16).padStart(2, "0"))
        .join("");
    };
    const post = async (
      eventData: Record<string, unknown>,
      opts: { timestamp?: number; tamper?: boolean } = {},
    ) => {
      const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
      const token = crypto.randomUUID();
      const signature = await hmacHex(`${timestamp}${token}`);
      const body = JSON.stringify({
        signature: {
          timestamp,
          token,
          // A different first digit (replacing it with "0" alone changes nothing 1 time in 16).
          signature: opts.tamper
            ? `${signature[0] === "0" ? "1" : "0"}${signature.slice(1)}`
            : signature,
        },
        "event-data": eventData,
      });
      return call("POST", `/inbound/mailgun/${s.connectionId}`, {
        raw: body,
        headers: { "content-type": "application/json" },
      });
    };
    const event = (id: string, extra: Record<string, unknown>) => ({
      id,
      message: { headers: { "message-id": "<mg-msg-1>" } },
      ...extra,
    });
    expectError(
      await post(event("mg-ev-0", { event: "failed", severity: "permanent" }), { tamper: true }),
      401,
      "unauthorized",
    );
    expectError(
      await post(event("mg-ev-0", { event: "failed", severity: "permanent" }), {
        timestamp: Math.floor(Date.now() / 1000) - 3600,
      }),
      401,
      "unauthorized",
    );
    expect(
      (
        await post(
          event("mg-ev-1", { event: "failed", severity: "temporary", reason: "greylisted" }),
        )
      ).json,
    ).toEqual({ received: 1, applied: 0 });
    expect((await message(s.key, s.messageId)).status).toBe("sent");
    const bounce = await post(
      event("mg-ev-2", {
        event: "failed",
        severity: "permanent",
        "delivery-status": { description: "550 5.1.1 mailbox unavailable" },
      }),
    );
    expect(bounce.json).toEqual({ received: 1, applied: 1 });
    expect((await post(event("mg-ev-2", { event: "failed", severity: "permanent" }))).json).toEqual(
      { received: 1, applied: 0 },
    ); // a repeat
    await expectSuppressed(s, "bounced");
    expect((await message(s.key, s.messageId)).error).toBe("550 5.1.1 mailbox unavailable");
    const other = await withProviderMessage(
      "mailgun",
      { apiKey: "mg", domain: "mg.acme.test", webhookSigningKey: signingKey },
      "mg-msg-2",
    );
    const complaint = JSON.stringify({
      signature: await (async () => {
        const timestamp = String(Math.floor(Date.now() / 1000));
        const token = "tok-complaint";
        return { timestamp, token, signature: await hmacHex(`${timestamp}${token}`) };
      })(),
      "event-data": {
        id: "mg-ev-3",
        event: "complained",
        "user-variables": { nudge_message_id: other.messageId },
      },
    });
    expect(
      (
        await call("POST", `/inbound/mailgun/${other.connectionId}`, {
          raw: complaint,
          headers: { "content-type": "application/json" },
        })
      ).json,
    ).toEqual({
      received: 1,
      applied: 1,
    });
    await expectSuppressed(other, "complained");
  });

  it("answers 404 for an unknown connection or the wrong provider", async () => {
    const s = await withProviderMessage(
      "postmark",
      { serverToken: "t", webhookUsername: "u", webhookPassword: "p" },
      "pm-x",
    );
    expectError(
      await call("POST", "/inbound/postmark/cxn_nope", {
        raw: "{}",
        headers: { "content-type": "application/json" },
      }),
      404,
      "not_found",
    );
    expectError(
      await call("POST", `/inbound/${"x".repeat(300)}/${s.connectionId}`, {
        raw: "{}",
        headers: { "content-type": "application/json" },
      }),
      404,
      "not_found",
    );
    expectError(
      await call("POST", `/inbound/smtp/${s.connectionId}`, {
        raw: "{}",
        headers: { "content-type": "application/json" },
      }),
      404,
      "not_found",
    );
    expectError(
      await call("POST", `/inbound/resend/${s.connectionId}`, {
        raw: "{}",
        headers: { "content-type": "application/json" },
      }),
      404,
      "not_found",
    );
  });
});
