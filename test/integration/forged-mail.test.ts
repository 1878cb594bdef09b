import { exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { ADMIN_TOKEN, activeWorkflow, call, newOrg, poll, svixSigner } from "../helpers/api";
import { drained, enrollment } from "../helpers/enrollments";
import { deliver, raw } from "../helpers/mail";

interface Outbox {
  id: string;
  messageId: string;
  headers: Record<string, string>;
}

const email = (subject: string, id: string) => ({
  id,
  type: "send_email",
  config: { subject, html: `<p>${subject}</p>` },
});
const wait = (id: string) => ({ id, type: "delay", config: { amount: 2, unit: "days" } });
const rand = () => Math.random().toString(36).slice(2, 10);

/** The three forgeries, from the contact's address, quoting nothing Nudge sent. */
function forgeries(victim: string, to: string) {
  const boundary = `b-${rand()}`;
  return {
    bounce: raw(
      { From: victim, To: to, Subject: "Delivery Status Notification (Failure)" },
      [
        `--${boundary}`,
        "Content-Type: text/plain; charset=utf-8",
        "",
        `Your message to ${victim} could not be delivered.`,
        `--${boundary}`,
        "Content-Type: message/delivery-status",
        "",
        `Final-Recipient: rfc822; ${victim}`,
        "Action: failed",
        "Status: 5.1.1",
        `--${boundary}--`,
        "",
      ].join("\n"),
      `multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    ),
    reply: raw({ From: victim, To: to, Subject: "Re: Hello" }, "Please stop writing to me."),
    outOfOffice: raw(
      {
        From: victim,
        To: to,
        Subject: "Automatic reply: Hello",
        "Auto-Submitted": "auto-replied",
      },
      "I am out of the office and back on 1 January 2099.",
    ),
  };
}

/**
 * An org whose connection has a reply domain of its own, a two-email sequence that stops on a
 * reply and pauses on an automatic one, a workflow started by `email.replied`, and one email
 * sent to a contact.
 */
async function setUp(name = "Acme") {
  const { key } = await newOrg(name);
  const replyDomain = `replies-${rand()}.acme.test`;
  const conn = await call("POST", "/v1/connections", {
    key,
    body: { provider: "outbox", from: "Acme <sales@acme.test>", replyDomain },
  });
  expect(conn.status).toBe(201);
  const w = await activeWorkflow(key, [email("Hello", "m1"), wait("w"), email("Again", "m2")], {
    onAutoReply: "pause_until_return",
  });
  const onReply = await activeWorkflow(
    key,
    [{ id: "l", type: "log", config: { message: "replied" } }],
    { trigger: { type: "event", event: "email.replied" } },
  );
  const to = `lead${rand()}@prospect.test`;
  const e = await call("POST", "/v1/enrollments", {
    key,
    body: { workflowId: w.id, contact: { email: to, firstName: "Ada" } },
  });
  expect(e.status).toBe(201);
  const [first] = await poll(
    async () =>
      (await call("GET", `/v1/outbox?to=${encodeURIComponent(to)}`, { key })).json.data as Outbox[],
    (d) => d.length > 0,
  );
  await drained(e.json.id);
  return {
    key,
    replyDomain,
    connectionId: conn.json.id as string,
    workflowId: w.id,
    onReplyId: onReply.id,
    enrollmentId: e.json.id as string,
    to,
    first,
    rfc: first.headers["Message-ID"],
  };
}
type Sent = Awaited<ReturnType<typeof setUp>>;

/** Everything a forgery could have changed, as it is now. */
async function observed(s: Sent) {
  const msg = (await call("GET", `/v1/messages/${s.first.messageId}`, { key: s.key })).json;
  const contact = (await call("GET", `/v1/contacts/${msg.contactId}`, { key: s.key })).json;
  const events = (await call("GET", `/v1/contacts/${msg.contactId}/events`, { key: s.key })).json
    .data as { name: string }[];
  const e = await enrollment(s.key, s.enrollmentId);
  const started = (await call("GET", `/v1/enrollments?workflowId=${s.onReplyId}`, { key: s.key }))
    .json.data;
  const conn = (await call("GET", `/v1/connections/${s.connectionId}`, { key: s.key })).json;
  return {
    message: { status: msg.status, repliedAt: msg.repliedAt, autoRepliedAt: msg.autoRepliedAt },
    suppressed: contact.suppressed,
    events: events
      .map((x) => x.name)
      .filter((n) => /^email\.(replied|auto_replied|bounced)/.test(n)),
    enrollment: {
      status: e.status,
      // Held until a return date, the next run moves past the 2-day delay.
      heldPastDelay: Date.parse(e.nextRunAt) > Date.now() + 3 * 86_400_000,
      paused: (e.timeline as { message: string }[]).some((l) => l.message.startsWith("Paused")),
    },
    startedByReply: started.length,
    connectionPaused: conn.paused,
  };
}

/** As setUp leaves it: the first email sent, the enrollment waiting out its delay. */
const UNTOUCHED = {
  message: { status: "sent", repliedAt: null, autoRepliedAt: null },
  suppressed: null,
  events: [],
  enrollment: { status: "waiting", heldPastDelay: false, paused: false },
  startedByReply: 0,
  connectionPaused: false,
};

/** Lets queued event processing (an `email.replied` ending or starting enrollments) run. */
const settled = () => new Promise((r) => setTimeout(r, 300));

describe("forged mail through the email() handler changes nothing", () => {
  it("sent to the victim org's reply domain, another org's, or an address no org owns", async () => {
    const a = await setUp("Victim");
    const b = await setUp("Other");
    const before = await observed(a);
    expect(before).toEqual(UNTOUCHED);
    const fakeToken = `reply+${a.first.messageId.toLowerCase()}.k1.0123456789abcdef@${a.replyDomain}`;
    for (const to of [
      `sales@${a.replyDomain}`,
      fakeToken,
      `sales@${b.replyDomain}`,
      "anything@inbound.test",
    ]) {
      const f = forgeries(a.to, to);
      for (const message of [f.bounce, f.reply, f.outOfOffice]) {
        await deliver(a.to, to, message);
      }
    }
    await settled();
    expect(await observed(a)).toEqual(UNTOUCHED);
    expect(await observed(b)).toEqual(UNTOUCHED);
    // Kept for the operator, with why nothing was applied.
    const log = (
      await call("GET", "/v1/admin/inbound-mail", {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      })
    ).json.data as { from: string; to: string; reason: string }[];
    const mine = log.filter((m) => m.from === a.to);
    expect(mine).toHaveLength(12);
    const own = mine.filter((m) => m.to.startsWith(`sales@${a.replyDomain}`));
    expect(own).toHaveLength(3);
    for (const m of own) {
      expect(m.reason).toContain("only its sender");
    }
  });

  it("a bounce naming a Message-ID Nudge never gave, or a token with a wrong MAC, is not a DSN of ours", async () => {
    const s = await setUp();
    const boundary = "forged-dsn";
    const dsn = raw(
      {
        From: "Mail Delivery Subsystem <mailer-daemon@mx.prospect.test>",
        Subject: "Undelivered Mail Returned to Sender",
        "In-Reply-To": `<msg_01JD0000000000000000000000@${s.replyDomain}>`,
      },
      [
        `--${boundary}`,
        "Content-Type: text/plain",
        "",
        `Your message to ${s.to} could not be delivered.`,
        `--${boundary}`,
        "Content-Type: text/rfc822-headers",
        "",
        `Message-ID: <msg_01JD0000000000000000000001@${s.replyDomain}>`,
        `Reply-To: reply+${s.first.messageId}.k1.0123456789abcdef@${s.replyDomain}`,
        `To: ${s.to}`,
        `--${boundary}--`,
        "",
      ].join("\n"),
      `multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    );
    await deliver("mailer-daemon@mx.prospect.test", `bounces@${s.replyDomain}`, dsn);
    await settled();
    expect(await observed(s)).toEqual(UNTOUCHED);
  });
});

describe("genuine mail through the email() handler still applies", () => {
  it("a reply to the signed reply address ends the sequence and starts the reply workflow", async () => {
    const s = await setUp();
    const replyTo = s.first.headers["Reply-To"];
    await deliver(s.to, replyTo, raw({ From: s.to, To: replyTo, Subject: "Re: Hello" }, "Yes!"));
    const ended = await poll(
      () => enrollment(s.key, s.enrollmentId),
      (e) => e.status === "completed",
    );
    expect(ended.exitReason).toBe("replied");
    await poll(
      async () =>
        (await call("GET", `/v1/enrollments?workflowId=${s.onReplyId}`, { key: s.key })).json.data,
      (d) => d.length === 1,
    );
  });

  it("an out-of-office answering Nudge's Message-ID holds the enrollment, at most 30 days", async () => {
    const s = await setUp();
    const now = Date.now();
    await deliver(
      s.to,
      `sales@${s.replyDomain}`,
      raw(
        {
          From: s.to,
          Subject: "Automatic reply: Hello",
          "Auto-Submitted": "auto-replied",
          "In-Reply-To": s.rfc,
        },
        "I am out of the office and back on 1 January 2099.",
      ),
    );
    const held = await poll(
      () => enrollment(s.key, s.enrollmentId),
      (e) => Date.parse(e.nextRunAt) > now + 3 * 86_400_000,
    );
    const until = Date.parse(held.nextRunAt);
    expect(until).toBeGreaterThanOrEqual(now + 30 * 86_400_000);
    expect(until).toBeLessThanOrEqual(Date.now() + 30 * 86_400_000);
    const msg = (await call("GET", `/v1/messages/${s.first.messageId}`, { key: s.key })).json;
    const auto = (await call("GET", `/v1/contacts/${msg.contactId}/events`, { key: s.key })).json
      .data as { name: string; data: { returnAt: string } }[];
    // The event still says what the mail said; only the hold is capped.
    expect(auto.find((x) => x.name === "email.auto_replied")?.data.returnAt).toBe(
      "2099-01-02T00:00:00.000Z",
    );
  });

  it("a DSN quoting the reply token of the original bounces it and suppresses the contact", async () => {
    const s = await setUp();
    const boundary = "dsn-token";
    const dsn = raw(
      {
        From: "Mail Delivery Subsystem <mailer-daemon@mx.prospect.test>",
        Subject: "Delivery Status Notification (Failure)",
      },
      [
        `--${boundary}`,
        "Content-Type: text/plain",
        "",
        `Your message to ${s.to} could not be delivered: 550 5.1.1 user unknown.`,
        `--${boundary}`,
        "Content-Type: text/rfc822-headers",
        "",
        "Message-ID: <rewritten-by-the-provider@esp.example>",
        `Reply-To: ${s.first.headers["Reply-To"]}`,
        `To: ${s.to}`,
        `--${boundary}--`,
        "",
      ].join("\n"),
      `multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    );
    await deliver("mailer-daemon@mx.prospect.test", "bounces@acme.test", dsn);
    const msg = await poll(
      async () => (await call("GET", `/v1/messages/${s.first.messageId}`, { key: s.key })).json,
      (m) => m.status === "bounced",
    );
    const contact = (await call("GET", `/v1/contacts/${msg.contactId}`, { key: s.key })).json;
    expect(contact.suppressed).toBe("bounced");
  });
});

describe("forged mail through providers' inbound routes changes nothing", () => {
  const forgedThen = async (
    s: Sent,
    post: (fields: {
      from: string;
      subject: string;
      text: string;
      headers: Record<string, string>;
    }) => Promise<{ kind: string; match: string; messageId: string | null }>,
  ) => {
    const dsn = 'multipart/report; report-type=delivery-status; boundary="x"';
    const forged: { subject: string; text: string; headers: Record<string, string> }[] = [
      { subject: "Undeliverable: Hello", text: "Failed.", headers: { "Content-Type": dsn } },
      { subject: "Re: Hello", text: "Please stop.", headers: {} },
      {
        subject: "Automatic reply: Hello",
        text: "I am out of the office and back on 1 January 2099.",
        headers: { "Auto-Submitted": "auto-replied" },
      },
    ];
    for (const f of forged) {
      const r = await post({
        from: s.to,
        ...f,
        headers: { "Message-ID": `<${rand()}@prospect.test>`, ...f.headers },
      });
      // Found by its sender in this org, and not acted on.
      expect(r).toMatchObject({ kind: "unmatched", match: "sender", messageId: null });
    }
    await settled();
    expect(await observed(s)).toEqual(UNTOUCHED);
    // The control: the contact's real reply, answering Nudge's Message-ID.
    const genuine = await post({
      from: s.to,
      subject: "Re: Hello",
      text: "Yes, let's talk.",
      headers: { "Message-ID": `<${rand()}@prospect.test>`, "In-Reply-To": s.rfc },
    });
    expect(genuine).toMatchObject({ kind: "reply", match: "header", messageId: s.first.messageId });
    expect(
      (
        await poll(
          () => enrollment(s.key, s.enrollmentId),
          (e) => e.status === "completed",
        )
      ).exitReason,
    ).toBe("replied");
  };

  const connect = async (s: Sent, provider: string, credentials: Record<string, string>) => {
    const conn = await call("POST", "/v1/connections", {
      key: s.key,
      body: { provider, key: `in-${provider}`, credentials },
    });
    expect(conn.status).toBe(201);
    return `/inbound/${provider}/${conn.json.id}/mail`;
  };

  it("Postmark", async () => {
    const s = await setUp();
    const path = await connect(s, "postmark", {
      serverToken: "t",
      webhookUsername: "pm",
      webhookPassword: "secret-pm",
    });
    const auth = { authorization: `Basic ${btoa("pm:secret-pm")}` };
    await forgedThen(s, async (f) => {
      const body = {
        FromFull: { Email: f.from },
        ToFull: [{ Email: "inbound@acme.test" }],
        Subject: f.subject,
        TextBody: f.text,
        Headers: Object.entries(f.headers).map(([Name, Value]) => ({ Name, Value })),
      };
      return (await call("POST", path, { body, headers: auth })).json;
    });
  });

  it("SendGrid", async () => {
    const s = await setUp();
    const path = await connect(s, "sendgrid", {
      apiKey: "sg",
      inboundUsername: "parse",
      inboundPassword: "secret-sg",
    });
    const auth = { authorization: `Basic ${btoa("parse:secret-sg")}` };
    await forgedThen(s, async (f) => {
      const form = new FormData();
      form.set("from", f.from);
      form.set("to", "inbound@acme.test");
      form.set("subject", f.subject);
      form.set("text", f.text);
      form.set(
        "headers",
        Object.entries(f.headers)
          .map(([k, v]) => `${k}: ${v}\n`)
          .join(""),
      );
      form.set("envelope", JSON.stringify({ from: f.from, to: ["inbound@acme.test"] }));
      const res = await exports.default.fetch(
        new Request(`https://nudge.test${path}`, { method: "POST", body: form, headers: auth }),
      );
      return res.json();
    });
  });

  it("Mailgun", async () => {
    const s = await setUp();
    const signingKey = "mailgun-signing-key-0123456789";
    const path = await connect(s, "mailgun", {
      apiKey: "mg",
      domain: "mg.acme.test",
      webhookSigningKey: signingKey,
    });
    const key = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(signingKey),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    await forgedThen(s, async (f) => {
      const timestamp = String(Math.floor(Date.now() / 1000));
      const token = crypto.randomUUID();
      const mac = await crypto.subtle.sign(
        "HMAC",
        key,
        new TextEncoder().encode(`${timestamp}${token}`),
      );
      const signature = [...new Uint8Array(mac)]
        .map((b) => b.toString(16).padStart(2, "0"))
        .join("");
      const raw = new URLSearchParams({
        timestamp,
        token,
        signature,
        sender: f.from,
        recipient: "inbound@mg.acme.test",
        subject: f.subject,
        "body-plain": f.text,
        "message-headers": JSON.stringify(Object.entries(f.headers)),
      }).toString();
      return (
        await call("POST", path, {
          raw,
          headers: { "content-type": "application/x-www-form-urlencoded" },
        })
      ).json;
    });
  });

  it("Resend", async () => {
    const signer = await svixSigner();
    const s = await setUp();
    const path = await connect(s, "resend", { apiKey: "re_key", webhookSecret: signer.secret });
    await forgedThen(s, async (f) => {
      const id = `rcv_${rand()}`;
      const body = JSON.stringify({
        type: "email.received",
        created_at: new Date().toISOString(),
        data: { email_id: id, from: f.from, to: ["inbound@acme.test"], subject: f.subject },
      });
      const spy = vi.spyOn(globalThis, "fetch").mockImplementation(
        async () =>
          new Response(JSON.stringify({ id, text: f.text, headers: f.headers }), {
            headers: { "content-type": "application/json" },
          }),
      );
      try {
        return (await call("POST", path, { raw: body, headers: await signer.headers(id, body) }))
          .json;
      } finally {
        spy.mockRestore();
      }
    });
  });
});
