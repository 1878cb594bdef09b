// The unauthenticated edge under abuse: repeated hits counted once, racing consumers, rate limits
// per token, per IP and per connection, expired links.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src";
import { signToken } from "../../src/security/tokens";
import { call, expectError, newOrg, poll } from "../helpers/api";
import { DB } from "../helpers/db";
import { message, sentAgo, sentEmail } from "../helpers/edge";
import { drained } from "../helpers/enrollments";
import { consume } from "../helpers/queues";

afterEach(() => vi.restoreAllMocks());

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
    await DB.prepare("UPDATE messages SET last_opened_at = ? WHERE id = ?")
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

  it("spends a connection's webhook budget only on requests that pass its signature check", async () => {
    const { key } = await newOrg();
    const conn = (
      await call("POST", "/v1/connections", {
        key,
        body: {
          provider: "postmark",
          key: "pm-junk",
          credentials: { serverToken: "t", webhookUsername: "u", webhookPassword: "p" },
        },
      })
    ).json;
    const post = (authorization?: string) =>
      call("POST", `/inbound/postmark/${conn.id}`, {
        raw: JSON.stringify({ RecordType: "Delivery", ID: "d-1", MessageID: "pm-none" }),
        headers: {
          "content-type": "application/json",
          ...(authorization ? { authorization } : {}),
        },
      });
    // More unsigned junk than the connection's whole budget (20 a minute in tests)…
    for (let i = 0; i < 25; i++) {
      expect([401, 429]).toContain((await post()).status);
    }
    // …and the provider's signed webhook still goes through.
    const signed = await post(`Basic ${btoa("u:p")}`);
    expect(signed.status).toBe(200);
    expect(signed.json).toEqual({ received: 1, applied: 0 });
  });

  it("limits requests for unknown connections per IP, then refuses that IP before any lookup", async () => {
    const from = (ip: string) => ({
      raw: "{}",
      headers: { "content-type": "application/json", "cf-connecting-ip": ip },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      statuses.push(
        (await call("POST", `/inbound/postmark/cxn_random${i}`, from("198.51.100.44"))).status,
      );
    }
    expect(statuses.slice(0, 5)).toEqual([404, 404, 404, 404, 404]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    const limited = await call("POST", "/inbound/postmark/cxn_random9", from("198.51.100.44"));
    expectError(limited, 429, "rate_limited");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    // Another address is not affected.
    expect(
      (await call("POST", "/inbound/postmark/cxn_random0", from("198.51.100.45"))).status,
    ).toBe(404);
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
