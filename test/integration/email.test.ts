import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { recordSystemEvent } from "../../src/contacts";
import { database } from "../../src/db/client";
import type { EmailJob } from "../../src/ground/queues";
import { deliverEmail, EMAIL_MAX_ATTEMPTS } from "../../src/messaging/consumers/email";
import { PROVIDERS } from "../../src/providers";
import type { OutgoingEmail } from "../../src/providers/provider";
import { decrypt } from "../../src/security/credentials";
import { activeWorkflow, call, expectError, newOrg, poll, testLog } from "../helpers/api";
import { DB } from "../helpers/db";
import { settle } from "../helpers/enrollments";
import { ctx, email, intercept, json } from "../helpers/providers";
import { captureQueue, consume } from "../helpers/queues";

afterEach(() => vi.restoreAllMocks());

describe("a threaded, text-only follow-up at each provider", () => {
  const thread = {
    "Message-ID": "<msg_01NEXT@acme.test>",
    "In-Reply-To": "<msg_01PREV@acme.test>",
    References: "<msg_01PREV@acme.test>",
  };
  const followUp: OutgoingEmail = {
    ...email,
    subject: "Re: Hello",
    html: null,
    headers: { ...email.headers, ...thread },
  };
  /** The thread headers as each provider's request carries them, and whether it has an HTML part. */
  const cases: [string, Record<string, string>, (r: Request) => Promise<[unknown, boolean]>][] = [
    [
      "resend",
      { apiKey: "k" },
      async (r) => {
        const b = await r.json<Record<string, any>>();
        return [b.headers, "html" in b];
      },
    ],
    [
      "postmark",
      { serverToken: "t" },
      async (r) => {
        const b = await r.json<Record<string, any>>();
        const h = Object.fromEntries(
          (b.Headers as { Name: string; Value: string }[]).map((x) => [x.Name, x.Value]),
        );
        return [h, "HtmlBody" in b];
      },
    ],
    [
      "sendgrid",
      { apiKey: "k" },
      async (r) => {
        const b = await r.json<Record<string, any>>();
        return [b.headers, b.content.some((c: { type: string }) => c.type === "text/html")];
      },
    ],
    [
      "mailgun",
      { apiKey: "k", domain: "mg.acme.test" },
      async (r) => {
        const f = await r.formData();
        const h = Object.fromEntries(
          [...f.entries()]
            .filter(([k]) => k.startsWith("h:"))
            .map(([k, v]) => [k.slice(2), String(v)]),
        );
        return [h, f.has("html")];
      },
    ],
    [
      "ses",
      { accessKeyId: "a", secretAccessKey: "b", region: "eu-west-1" },
      async (r) => {
        const b = await r.json<Record<string, any>>();
        const h = Object.fromEntries(
          (b.Content.Simple.Headers as { Name: string; Value: string }[]).map((x) => [
            x.Name,
            x.Value,
          ]),
        );
        return [h, "Html" in b.Content.Simple.Body];
      },
    ],
  ];
  it.each(cases)("%s", async (name, credentials, read) => {
    const { requests } = intercept(
      name === "sendgrid"
        ? new Response(null, { status: 202 })
        : json({ id: "x", MessageID: "x", MessageId: "x" }),
    );
    await PROVIDERS[name as keyof typeof PROVIDERS].send(followUp, ctx(credentials));
    const [headers, hasHtml] = await read(requests[0]);
    expect(headers).toMatchObject(thread);
    expect(hasHtml).toBe(false);
  });
});

/**
 * A real enrollment whose first step sends an email: the job its object hands to the email
 * queue is captured (not delivered), so each test drives the consumer with it. `prepare`
 * runs first (connections, templates) and returns the step's config.
 */
async function setup(
  prepare: (key: string) => Promise<Record<string, unknown>> | Record<string, unknown> = () => ({
    subject: "Hi",
    html: "<p>x</p>",
  }),
) {
  const { key, orgId } = await newOrg();
  const contact = (
    await call("POST", "/v1/contacts", { key, body: { email: "deliver@x.co", firstName: "Del" } })
  ).json;
  const config = await prepare(key);
  const jobs = captureQueue<EmailJob>("MESSAGE_QUEUE");
  const w = await activeWorkflow(key, [
    { id: "m", type: "send_email", config },
    { id: "d", type: "delay", config: { amount: 1, unit: "days" } },
  ]);
  const e = (
    await call("POST", "/v1/enrollments", {
      key,
      body: { workflowId: w.id, contactId: contact.id, variables: { hook: "Hook value" } },
    })
  ).json;
  await poll(
    async () => jobs.captured.length,
    (n) => n === 1,
  );
  jobs.restore();
  const job = jobs.captured[0];
  expect(job).toMatchObject({
    kind: "send",
    key: `${e.id}:m:1`,
    stepId: "m",
    enrollmentId: e.id,
    contactId: contact.id,
    config,
  });
  return { key, orgId, contact, enrollmentId: e.id as string, job };
}

const messages = async (key: string, enrollmentId: string) =>
  (await call("GET", `/v1/messages?enrollmentId=${enrollmentId}`, { key })).json.data;
const connect = (key: string, body: Record<string, unknown>) =>
  call("POST", "/v1/connections", { key, body });

describe("what a provider's failure leaves behind", () => {
  it("keeps the status and the provider's own reason, never its raw body", async () => {
    intercept(
      new Response("<html><body>Internal stack trace: db=prod-7 password=hunter2</body></html>", {
        status: 500,
        headers: { "content-type": "text/html" },
      }),
    );
    const err = await PROVIDERS.resend.send(email, ctx({ apiKey: "k" })).catch((e) => e);
    expect(err.message).toBe("Resend 500");
    vi.restoreAllMocks();
    intercept(
      json(
        {
          ErrorCode: 300,
          Message: "Invalid <b>To</b>\u0000 address\n\tsee docs".concat(" x".repeat(200)),
        },
        422,
      ),
    );
    const err2 = await PROVIDERS.postmark.send(email, ctx({ serverToken: "t" })).catch((e) => e);
    expect(err2.message).toMatch(/^Postmark 422: 300: Invalid To address see docs x x/);
    expect(err2.message).not.toMatch(/[<>\n\t]/);
    expect(err2.message).not.toContain("\u0000");
    expect(err2.message.length).toBeLessThanOrEqual("Postmark 422: ".length + 200);
  });

  it("never follows a provider's redirect", async () => {
    const { requests } = intercept(
      new Response(null, {
        status: 302,
        headers: { location: "https://169.254.169.254/latest/meta-data" },
      }),
    );
    const err = await PROVIDERS.resend.send(email, ctx({ apiKey: "k" })).catch((e) => e);
    expect(requests).toHaveLength(1);
    expect(err).toMatchObject({
      retryable: false,
      status: 302,
      message: "Resend 302: an unexpected redirect (not followed)",
    });
  });

  it("refuses to send through an SES region or SMTP host the policy refuses, even if stored", async () => {
    const { spy } = intercept(json({ MessageId: "never" }));
    await expect(
      PROVIDERS.ses.send(
        email,
        ctx({ accessKeyId: "a", secretAccessKey: "b", region: "x.evil.example#" }),
      ),
    ).rejects.toMatchObject({ retryable: false });
    await expect(
      PROVIDERS.smtp.send(email, ctx({ host: "10.0.0.5", port: "25" })),
    ).rejects.toMatchObject({ retryable: false, message: expect.stringMatching(/^SMTP: Private/) });
    expect(spy).not.toHaveBeenCalled();
  });
});

describe("the email consumer", () => {
  it("retries a 429 with the delay Retry-After asks for, then sends once and acknowledges", async () => {
    const s = await setup(async (key) => {
      await connect(key, {
        provider: "resend",
        credentials: { apiKey: "re_k" },
        from: "hi@acme.test",
      });
      return { subject: "Hi", html: "<p>x</p>" };
    });
    const { spy } = intercept(
      json({ message: "slow down" }, 429, { "retry-after": "30" }),
      json({ id: "re_ok" }),
    );
    const first = await consume("nudge-messages", [s.job], 1);
    expect(first.delayOf(0)).toBe(30);
    expect((await messages(s.key, s.enrollmentId))[0]).toMatchObject({
      status: "queued",
      error: expect.stringContaining("429"),
    });
    const second = await consume("nudge-messages", [s.job], 2);
    expect(second.delayOf(0)).toBeNull();
    expect(spy).toHaveBeenCalledTimes(2);
    expect((await messages(s.key, s.enrollmentId))[0]).toMatchObject({
      status: "sent",
      provider: "resend",
      providerMessageId: "re_ok",
    });
  });

  it("backs off exponentially from EMAIL_RETRY_BASE_SECONDS when the provider gives no Retry-After", async () => {
    const s = await setup(async (key) => {
      await connect(key, { provider: "resend", credentials: { apiKey: "re_k" } });
      return { subject: "Hi", html: "<p>x</p>" };
    });
    intercept(json({ message: "down" }, 503));
    const base = { ...env, EMAIL_RETRY_BASE_SECONDS: "10" };
    expect(await deliverEmail(base, s.job, 1, testLog)).toBe(10);
    expect(await deliverEmail(base, s.job, 3, testLog)).toBe(40);
  });

  it("calls the provider once when the same queue message is delivered twice", async () => {
    const s = await setup(async (key) => {
      await connect(key, {
        provider: "resend",
        credentials: { apiKey: "re_k" },
        from: "hi@acme.test",
      });
      return { subject: "Once", html: "<p>x</p>" };
    });
    const { spy } = intercept(json({ id: "re_once" }));
    const [a, b] = await Promise.all([
      consume("nudge-messages", [s.job], 1),
      consume("nudge-messages", [s.job], 1),
    ]);
    const again = await consume("nudge-messages", [s.job], 2);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(again.delayOf(0)).toBeNull();
    // The copy that lost the claim looks again later (it may be retried), never sends.
    expect([a.delayOf(0), b.delayOf(0)]).toContain(null);
    const rows = await messages(s.key, s.enrollmentId);
    expect(rows).toHaveLength(1);
    expect(rows[0].status).toBe("sent");
  });

  it("fails the message and the enrollment on a permanent 4xx, and acknowledges the job", async () => {
    const s = await setup(async (key) => {
      await connect(key, {
        provider: "postmark",
        credentials: { serverToken: "t" },
        from: "hi@acme.test",
      });
      return { subject: "Hi", html: "<p>x</p>" };
    });
    intercept(
      json(
        {
          ErrorCode: 406,
          Message: "You tried to send to a recipient that has been marked as inactive.",
        },
        422,
      ),
    );
    expect((await consume("nudge-messages", [s.job], 1)).delayOf(0)).toBeNull();
    expect((await messages(s.key, s.enrollmentId))[0]).toMatchObject({
      status: "failed",
      error: expect.stringContaining("406"),
    });
    const e = (await call("GET", `/v1/enrollments/${s.enrollmentId}`, { key: s.key })).json;
    expect(e).toMatchObject({
      status: "failed",
      error: { code: "delivery_failed", message: expect.stringContaining("marked as inactive") },
    });
  });

  it("keeps the enrollment going when the step says onError: continue", async () => {
    const s = await setup(async (key) => {
      await connect(key, { provider: "postmark", credentials: { serverToken: "t" } });
      return { subject: "Hi", html: "<p>x</p>", onError: "continue" };
    });
    intercept(json({ ErrorCode: 406, Message: "inactive" }, 422));
    await consume("nudge-messages", [s.job], 1);
    expect((await messages(s.key, s.enrollmentId))[0].status).toBe("failed");
    expect(
      (await call("GET", `/v1/enrollments/${s.enrollmentId}`, { key: s.key })).json.status,
    ).toBe("waiting");
  });

  it("gives up after the last retry, records the failure and dead-letters the job", async () => {
    const s = await setup(async (key) => {
      await connect(key, { provider: "resend", credentials: { apiKey: "k" } });
      return { subject: "Hi", html: "<p>x</p>" };
    });
    intercept(json({ message: "boom" }, 503));
    const dlq = vi.spyOn(env.MESSAGE_DLQ, "send");
    expect((await consume("nudge-messages", [s.job], EMAIL_MAX_ATTEMPTS)).delayOf(0)).toBeNull();
    expect((await messages(s.key, s.enrollmentId))[0]).toMatchObject({
      status: "failed",
      error: expect.stringContaining(`Gave up after ${EMAIL_MAX_ATTEMPTS} attempts`),
    });
    expect(dlq).toHaveBeenCalledTimes(1);
    expect(dlq.mock.calls[0][0]).toEqual(s.job);
  });

  it("suppresses a contact unsubscribed since the step ran, without calling the provider", async () => {
    const s = await setup();
    await call("PATCH", `/v1/contacts/${s.contact.id}`, {
      key: s.key,
      body: { subscribed: false },
    });
    const { spy } = intercept(json({ id: "never" }));
    expect((await consume("nudge-messages", [s.job], 1)).delayOf(0)).toBeNull();
    expect(spy).not.toHaveBeenCalled();
    expect((await messages(s.key, s.enrollmentId))[0]).toMatchObject({
      status: "suppressed",
      error: "Not sent: unsubscribed",
    });
  });

  it("renders, tracks and adds the RFC 8058 headers and a text part (outbox)", async () => {
    const s = await setup(async (key) => {
      const tpl = (
        await call("POST", "/v1/templates", {
          key,
          body: {
            name: "T",
            subject: "Hi {{ contact.firstName }}",
            html: '<html><body><p>{{ vars.hook }}</p><a href="https://acme.test/a">A</a> <a href="http://acme.test/b?x=1&amp;y=2">B</a> <a href="mailto:x@y.z">mail</a> <a href="{{ unsubscribeUrl }}">unsubscribe</a></body></html>',
          },
        })
      ).json;
      return { templateId: tpl.id };
    });
    await consume("nudge-messages", [s.job], 1);
    const [msg] = await messages(s.key, s.enrollmentId);
    const out = (await call("GET", `/v1/outbox?messageId=${msg.id}`, { key: s.key })).json.data[0];
    expect(out.subject).toBe("Hi Del");
    expect(out.headers["List-Unsubscribe"]).toMatch(/^<https:\/\/nudge\.test\/t\/u\/[\w.-]+>$/);
    expect(out.headers["List-Unsubscribe-Post"]).toBe("List-Unsubscribe=One-Click");
    expect(out.html).toMatch(
      /<img src="https:\/\/nudge\.test\/t\/o\/[\w.-]+" width="1" height="1"/,
    );
    const hrefs = [...out.html.matchAll(/href="([^"]+)"/g)].map((m) => m[1]);
    // A and B; the unsubscribe link is Nudge's own page, never click-tracked.
    expect(hrefs.filter((h: string) => h.startsWith("https://nudge.test/t/c/"))).toHaveLength(2);
    expect(hrefs).toContain("mailto:x@y.z");
    expect(out.html).not.toContain("https://acme.test/a");
    const unsubscribeUrl = out.headers["List-Unsubscribe"].slice(1, -1);
    expect(hrefs).toContain(unsubscribeUrl);
    expect(out.text).toBe(
      `Hook value\n\nA (https://acme.test/a) B (http://acme.test/b?x=1&y=2) mail (mailto:x@y.z) unsubscribe (${unsubscribeUrl})`,
    );
    expect((await call("GET", `/v1/outbox/${out.id}`, { key: s.key })).json.id).toBe(out.id);
  });

  it("respects track: {opens: false, clicks: false}", async () => {
    const s = await setup(() => ({
      subject: "Plain",
      html: '<p><a href="https://acme.test/a">A</a></p>',
      track: { opens: false, clicks: false },
    }));
    await consume("nudge-messages", [s.job], 1);
    const out = (await call("GET", "/v1/outbox", { key: s.key })).json.data[0];
    expect(out.html).toBe('<p><a href="https://acme.test/a">A</a></p>');
    expect(out.headers["List-Unsubscribe-Post"]).toBe("List-Unsubscribe=One-Click");
  });

  it("delivers a full journey from enrollment to the outbox, with an email.sent event", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [
      { id: "m", type: "send_email", config: { subject: "Journey", html: "<p>x</p>" } },
    ]);
    const e = (
      await call("POST", "/v1/enrollments", {
        key,
        body: { workflowId: w.id, contact: { email: "journey@x.co" } },
      })
    ).json;
    await settle(key, e.id);
    const out = await poll(
      async () => (await call("GET", "/v1/outbox?to=journey@x.co", { key })).json.data,
      (d) => d.length === 1,
    );
    expect(out[0].subject).toBe("Journey");
    const events = await poll(
      async () => (await call("GET", `/v1/contacts/${e.contactId}/events`, { key })).json.data,
      (d) => d.some((x: { name: string }) => x.name === "email.sent"),
    );
    expect(events.find((x: { name: string }) => x.name === "email.sent").data.enrollmentId).toBe(
      e.id,
    );
  });
});

describe("connections", () => {
  it("encrypts credentials, never returns them, and keeps them to the org", async () => {
    const a = await newOrg("A");
    const b = await newOrg("B");
    const res = await call("POST", "/v1/connections", {
      key: a.key,
      body: { provider: "resend", credentials: { apiKey: "re_supersecret" }, from: "a@acme.test" },
    });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ provider: "resend", key: "default", from: "a@acme.test" });
    expect(JSON.stringify(res.json)).not.toContain("re_supersecret");
    const row = await DB.prepare("SELECT credentials_enc FROM connections WHERE id = ?")
      .bind(res.json.id)
      .first<{ credentials_enc: string }>();
    const sealed = row?.credentials_enc as string;
    expect(sealed).toMatch(/^v2\.k1\.[\w-]+\.[\w-]+$/); // version . key id . IV . AES-GCM ciphertext
    for (const encoded of [
      "re_supersecret",
      btoa("re_supersecret"),
      btoa(JSON.stringify({ apiKey: "re_supersecret" })),
    ]) {
      expect(sealed).not.toContain(encoded);
    }
    const where = { orgId: a.orgId, table: "connections", rowId: res.json.id };
    expect(JSON.parse(await decrypt(env, sealed, where))).toEqual({ apiKey: "re_supersecret" });
    await expect(
      decrypt({ ...env, ENCRYPTION_KEYS: `k1:${btoa("x".repeat(32))}` }, sealed, where),
    ).rejects.toThrow();
    // Bound to its row: the same ciphertext does not open anywhere else.
    await expect(decrypt(env, sealed, { ...where, rowId: "cxn_other" })).rejects.toThrow();
    await expect(decrypt(env, sealed, { ...where, orgId: b.orgId })).rejects.toThrow();
    expectError(
      await call("POST", "/v1/connections", {
        key: a.key,
        body: { provider: "resend", credentials: {} },
      }),
      422,
      "validation_failed",
    );
    expectError(
      await call("POST", "/v1/connections", {
        key: a.key,
        body: { provider: "resend", credentials: { apiKey: "x" } },
      }),
      409,
      "conflict",
    );
    expectError(
      await call("GET", `/v1/connections/${res.json.id}`, { key: b.key }),
      404,
      "not_found",
    );
    expectError(
      await call("PATCH", `/v1/connections/${res.json.id}`, {
        key: b.key,
        body: { from: "b@evil.test" },
      }),
      404,
      "not_found",
    );
    expectError(
      await call("DELETE", `/v1/connections/${res.json.id}`, { key: b.key }),
      404,
      "not_found",
    );
    expect(
      (await call("GET", `/v1/connections/${res.json.id}`, { key: a.key })).json,
    ).toMatchObject({ id: res.json.id, from: "a@acme.test" });
    expect(
      (
        await call("PATCH", `/v1/connections/${res.json.id}`, {
          key: a.key,
          body: { from: "b@acme.test" },
        })
      ).json.from,
    ).toBe("b@acme.test");
    expect((await call("DELETE", `/v1/connections/${res.json.id}`, { key: a.key })).status).toBe(
      204,
    );
  });

  it("keeps messages and the outbox to their org", async () => {
    const s = await setup();
    const other = await newOrg("B");
    await consume("nudge-messages", [s.job], 1);
    const [msg] = await messages(s.key, s.enrollmentId);
    const out = (await call("GET", "/v1/outbox", { key: s.key })).json.data[0];
    expectError(await call("GET", `/v1/messages/${msg.id}`, { key: other.key }), 404, "not_found");
    expectError(await call("GET", `/v1/outbox/${out.id}`, { key: other.key }), 404, "not_found");
    expect((await call("GET", "/v1/outbox", { key: other.key })).json.data).toEqual([]);
  });
});

/**
 * Makes the first batch that writes a queue batch's counts (rollups guarded by the rows'
 * `counted` flag, which it sets) fail; `restore` ends it and says how many failed.
 */
function failCountsOnce() {
  const real = DB.batch.bind(DB);
  let failed = 0;
  const spy = vi.spyOn(DB, "batch").mockImplementation(async (stmts) => {
    const sql = stmts.map((x) => String((x as { statement?: string }).statement ?? ""));
    if (failed === 0 && sql.some((q) => q.includes('set "counted"'))) {
      failed++;
      throw new Error("D1 unavailable");
    }
    return real(stmts);
  });
  return {
    restore: () => {
      spy.mockRestore();
      return failed;
    },
  };
}

describe("counting sends", () => {
  it("retries the batch when its counts cannot be written, and counts each send once", async () => {
    const s = await setup();
    const counts = failCountsOnce();
    const first = await consume("nudge-messages", [s.job], 1);
    expect(counts.restore()).toBe(1);
    expect(first.delayOf(0)).not.toBeNull(); // sent, but not acknowledged: its count is missing
    const [m] = await messages(s.key, s.enrollmentId);
    expect(m.status).toBe("sent");
    const second = await consume("nudge-messages", [s.job], 2);
    expect(second.delayOf(0)).toBeNull();
    await consume("nudge-messages", [s.job], 3); // a redelivery: still one send counted
    const totals = (
      await call("GET", "/v1/analytics/metrics?metrics=sent&timezone=UTC", { key: s.key })
    ).json.totals;
    expect(totals).toEqual({ sent: 1 });
    expect((await call("GET", "/v1/outbox", { key: s.key })).json.data).toHaveLength(1);
  });
});

describe("counting a send delivered twice in one batch", () => {
  it("counts a send whose count was lost once, though two deliveries of it share a batch", async () => {
    const s = await setup();
    const counts = failCountsOnce();
    await consume("nudge-messages", [s.job], 1);
    expect(counts.restore()).toBe(1);
    const both = await consume("nudge-messages", [s.job, s.job], 2);
    expect([both.delayOf(0), both.delayOf(1)]).toEqual([null, null]);
    const totals = (
      await call("GET", "/v1/analytics/metrics?metrics=sent&timezone=UTC", { key: s.key })
    ).json.totals;
    expect(totals).toEqual({ sent: 1 });
  });
});

describe("rows an email writes", () => {
  it("captures a redelivered send once, under the id its message's id gives", async () => {
    const s = await setup();
    await consume("nudge-messages", [s.job], 1);
    await consume("nudge-messages", [s.job], 2);
    const [m] = await messages(s.key, s.enrollmentId);
    const all = (await call("GET", "/v1/outbox", { key: s.key })).json.data;
    expect(all).toHaveLength(1);
    expect(all[0].id).toBe(`obx_${m.id.slice(4)}`);
    expect(m.providerMessageId).toBe(all[0].id);
    const byMessage = (await call("GET", `/v1/outbox?messageId=${m.id}`, { key: s.key })).json;
    expect(byMessage.data.map((o: { id: string }) => o.id)).toEqual([all[0].id]);
  });

  it("stores a system event recorded twice with its key and time once, at that time", async () => {
    const s = await setup();
    const at = Date.parse("2026-11-20T10:00:00Z");
    const sent = {
      orgId: s.orgId,
      contactId: s.contact.id,
      name: "email.sent",
      data: { enrollmentId: s.enrollmentId },
      key: `${s.job.key}:email.sent`,
      at,
    };
    await recordSystemEvent(env, database(DB), sent);
    await recordSystemEvent(env, database(DB), sent);
    const events = (await call("GET", `/v1/contacts/${s.contact.id}/events`, { key: s.key })).json
      .data;
    const stored = events.filter((e: { name: string }) => e.name === "email.sent");
    expect(stored).toHaveLength(1);
    expect(stored[0].occurredAt).toBe(new Date(at).toISOString());
  });
});
