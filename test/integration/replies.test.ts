import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { database } from "../../src/db/client";
import { workflowsExitingOn } from "../../src/workflows";
import { ADMIN_TOKEN, activeWorkflow, call, newOrg, poll, svixSigner } from "../helpers/api";
import { DB } from "../helpers/db";
import { drained, enrollment, expireWait, settle } from "../helpers/enrollments";
import { deliver, raw } from "../helpers/mail";
import { captureQueue, consume } from "../helpers/queues";

interface Outbox {
  id: string;
  messageId: string;
  subject: string;
  html: string;
  text: string;
  headers: Record<string, string>;
}

const email = (subject: string, id: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: "send_email",
  config: { subject, html: `<p>${subject} <a href="https://acme.test/x">link</a></p>`, ...extra },
});
const wait = (id: string) => ({ id, type: "delay", config: { amount: 2, unit: "days" } });

async function outbox(key: string, to: string) {
  return poll(
    async () =>
      (await call("GET", `/v1/outbox?to=${encodeURIComponent(to)}`, { key })).json.data as Outbox[],
    (d) => d.length > 0,
  );
}

async function setUp(steps: unknown[], extra: Record<string, unknown> = {}, replyDomain = true) {
  const { key } = await newOrg();
  if (replyDomain) {
    const conn = await call("POST", "/v1/connections", {
      key,
      body: {
        provider: "outbox",
        from: "Acme <sales@acme.test>",
        replyDomain: "Replies.Acme.test",
      },
    });
    expect(conn.status).toBe(201);
    expect(conn.json.replyDomain).toBe("replies.acme.test");
  }
  const w = await activeWorkflow(key, steps, extra);
  const to = `lead${Math.random().toString(36).slice(2, 8)}@prospect.test`;
  const e = await call("POST", "/v1/enrollments", {
    key,
    body: { workflowId: w.id, contact: { email: to, firstName: "Ada" } },
  });
  expect(e.status).toBe(201);
  const [first] = await outbox(key, to);
  return { key, workflow: w, enrollmentId: e.json.id as string, to, first };
}

describe("outgoing emails carry what replies need", () => {
  it("a Message-ID on every email and, with a reply domain, a signed reply address", async () => {
    const s = await setUp([email("Hello", "m1"), wait("w"), email("Again", "m2")]);
    expect(s.first.headers["Message-ID"]).toBe(`<${s.first.messageId}@replies.acme.test>`);
    const msg = (await call("GET", `/v1/messages/${s.first.messageId}`, { key: s.key })).json;
    expect(msg.rfcMessageId).toBe(s.first.headers["Message-ID"]);
    // The outbox shows the Reply-To the provider was given with the other headers.
    const replyTo = s.first.headers["Reply-To"];
    expect(replyTo).toMatch(
      new RegExp(`^reply\\+${s.first.messageId}\\.k1\\.[0-9a-f]{16}@replies\\.acme\\.test$`),
    );
    expect(replyTo.split("@")[0].length).toBeLessThanOrEqual(64);
  });
});

describe("a human reply", () => {
  it("matched by its reply token ends a two-email sequence (stopOnReply by default)", async () => {
    const s = await setUp([email("Hello", "m1"), wait("w"), email("Again", "m2")]);
    expect((await enrollment(s.key, s.enrollmentId)).status).toBe("waiting");
    const replyTo = s.first.headers["Reply-To"];
    // Some mail systems lowercase the local part: the token still matches.
    await deliver(
      s.to,
      replyTo.toLowerCase(),
      raw(
        { From: `Ada <${s.to}>`, To: replyTo.toLowerCase(), Subject: "Re: Hello" },
        "Yes, let's talk on Tuesday.\n\nOn Thu, 26 Nov 2026 Acme <sales@acme.test> wrote:\n> Hello",
      ),
    );
    const ended = await poll(
      () => enrollment(s.key, s.enrollmentId),
      (e) => e.status === "completed",
    );
    expect(ended.exitReason).toBe("replied");
    const msg = (await call("GET", `/v1/messages/${s.first.messageId}`, { key: s.key })).json;
    expect(msg.repliedAt).not.toBeNull();
    const events = (
      await call("GET", `/v1/contacts/${msg.contactId}/events`, { key: s.key })
    ).json.data.filter((e: { name: string }) => e.name === "email.replied");
    expect(events).toHaveLength(1);
    expect(events[0].data).toMatchObject({
      messageId: s.first.messageId,
      enrollmentId: s.enrollmentId,
      stepId: "m1",
      match: "token",
      text: "Yes, let's talk on Tuesday.",
    });
    const stats = (await call("GET", `/v1/workflows/${s.workflow.id}/stats`, { key: s.key })).json;
    expect(stats.steps.find((x: { stepId: string }) => x.stepId === "m1").email.replied).toBe(1);
    // The same mail delivered again changes nothing.
    expect(
      (await call("GET", `/v1/outbox?to=${encodeURIComponent(s.to)}`, { key: s.key })).json.data,
    ).toHaveLength(1);
  });

  it("a reply whose processing failed is processed when the mail is delivered again", async () => {
    const s = await setUp([email("Hello", "m1"), wait("w"), email("Again", "m2")], {}, false);
    const message = raw(
      { From: s.to, Subject: "Re: Hello", "In-Reply-To": s.first.headers["Message-ID"] },
      "Yes.",
    );
    const down = vi.spyOn(env.EVENT_QUEUE, "send").mockRejectedValueOnce(new Error("queue down"));
    await expect(deliver(s.to, "x@inbound.test", message)).rejects.toThrow("queue down");
    down.mockRestore();
    await deliver(s.to, "x@inbound.test", message);
    expect(
      (
        await poll(
          () => enrollment(s.key, s.enrollmentId),
          (e) => e.status === "completed",
        )
      ).exitReason,
    ).toBe("replied");
  });

  it("matched by In-Reply-To without a reply domain; a workflow with stopOnReply off keeps going", async () => {
    const s = await setUp(
      [email("Hello", "m1"), wait("w"), email("Again", "m2")],
      { stopOnReply: false },
      false,
    );
    expect(s.first.headers["Message-ID"]).toMatch(/^<msg_\w+@/);
    // The reply's email.replied is held and then fanned out here, so the status below is read
    // after the fan-out has offered it to the enrollment (not before, when any flag would pass).
    const events = captureQueue<{ kind: string }>("EVENT_QUEUE", (b) => b.kind === "system");
    try {
      await deliver(
        s.to,
        "anything@inbound.acme.test",
        raw(
          {
            From: s.to,
            To: "sales@acme.test",
            Subject: "Re: Hello",
            "In-Reply-To": s.first.headers["Message-ID"],
            References: s.first.headers["Message-ID"],
          },
          "Thanks!",
        ),
      );
    } finally {
      events.restore();
    }
    const msg = await poll(
      async () => (await call("GET", `/v1/messages/${s.first.messageId}`, { key: s.key })).json,
      (m) => m.repliedAt !== null,
    );
    expect(msg.repliedAt).not.toBeNull();
    expect(events.captured).toHaveLength(1);
    const fannedOut = await consume("nudge-event", events.captured);
    expect(fannedOut.delayOf(0)).toBeNull();
    expect((await enrollment(s.key, s.enrollmentId)).status).toBe("waiting");
  });

  it("exitOn and wait_for_event see email.replied", async () => {
    const s = await setUp(
      [
        email("Hello", "m1"),
        {
          id: "w",
          type: "wait_for_event",
          config: { eventName: "email.replied", timeout: 3 * 86_400 },
        },
        { id: "l", type: "log", config: { message: "replied" } },
      ],
      { stopOnReply: false },
    );
    await drained(s.enrollmentId);
    await deliver(
      s.to,
      "x@inbound.test",
      raw({ From: s.to, Subject: "Re: Hello", "In-Reply-To": s.first.headers["Message-ID"] }, "ok"),
    );
    const done = await poll(
      () => enrollment(s.key, s.enrollmentId),
      (e) => e.status === "completed",
    );
    expect(done.exitReason).toBe("completed");
    expect(done.timeline.map((l: { message: string }) => l.message)).toContain("replied");
  });
});

describe("automatic replies and bounces", () => {
  it("an out-of-office does not stop the sequence, and pauses it until the return date when asked", async () => {
    const s = await setUp(
      [
        email("Hello", "m1"),
        { id: "w", type: "delay", config: { amount: 1, unit: "minutes" } },
        email("Again", "m2"),
      ],
      { onAutoReply: "pause_until_return" },
    );
    const back = new Date(Date.now() + 10 * 86_400_000);
    const day = back.getUTCDate();
    const month = back.toLocaleString("en", { month: "long", timeZone: "UTC" });
    await deliver(
      s.to,
      "x@inbound.test",
      raw(
        {
          From: s.to,
          Subject: "Automatic reply: Hello",
          "Auto-Submitted": "auto-replied",
          "In-Reply-To": s.first.headers["Message-ID"],
        },
        `I am out of the office and back on ${day} ${month} ${back.getUTCFullYear()}.`,
      ),
    );
    const msg = await poll(
      async () => (await call("GET", `/v1/messages/${s.first.messageId}`, { key: s.key })).json,
      (m) => m.autoRepliedAt !== null,
    );
    expect(msg.repliedAt).toBeNull();
    // The delay elapses; the enrollment is held until the day after the return date.
    await drained(s.enrollmentId);
    await expireWait(s.enrollmentId);
    const held = await enrollment(s.key, s.enrollmentId);
    expect(held.status).not.toBe("completed");
    const until = Date.UTC(back.getUTCFullYear(), back.getUTCMonth(), day + 1);
    expect(Date.parse(held.nextRunAt)).toBe(until);
    expect(held.timeline.map((l: { message: string }) => l.message)).toContain(
      `Paused until ${new Date(until).toISOString()}: automatic reply`,
    );
    const events = (
      await call("GET", `/v1/contacts/${msg.contactId}/events`, { key: s.key })
    ).json.data.filter((e: { name: string }) => e.name === "email.auto_replied");
    expect(events[0].data.returnAt).toBe(new Date(until).toISOString());
    expect(
      (await call("GET", `/v1/outbox?to=${encodeURIComponent(s.to)}`, { key: s.key })).json.data,
    ).toHaveLength(1);
  });

  it("a delivery status notification suppresses the contact like a provider bounce", async () => {
    const s = await setUp([email("Hello", "m1"), wait("w"), email("Again", "m2")]);
    await deliver(
      "MAILER-DAEMON@mx.prospect.test",
      "x@inbound.test",
      raw(
        {
          From: "Mail Delivery System <MAILER-DAEMON@mx.prospect.test>",
          Subject: "Undelivered Mail Returned to Sender",
          "In-Reply-To": s.first.headers["Message-ID"],
        },
        "This is the mail system. The address does not exist.",
      ),
    );
    const msg = await poll(
      async () => (await call("GET", `/v1/messages/${s.first.messageId}`, { key: s.key })).json,
      (m) => m.status === "bounced",
    );
    expect(msg.repliedAt).toBeNull();
    const contact = (await call("GET", `/v1/contacts/${msg.contactId}`, { key: s.key })).json;
    expect(contact.suppressed).toBe("bounced");
  });

  it("a multipart/report bounce is matched by the original's Message-ID in its attached headers", async () => {
    const s = await setUp([email("Hello", "m1"), wait("w"), email("Again", "m2")], {}, false);
    const boundary = "dsn-boundary-1";
    const dsn = raw(
      {
        From: "Mail Delivery Subsystem <mailer-daemon@mx.prospect.test>",
        To: "bounces@acme.test",
        Subject: "Delivery Status Notification (Failure)",
      },
      [
        `--${boundary}`,
        "Content-Type: text/plain; charset=utf-8",
        "",
        `Your message to ${s.to} could not be delivered: 550 5.1.1 user unknown.`,
        `--${boundary}`,
        "Content-Type: message/delivery-status",
        "",
        "Reporting-MTA: dns; mx.prospect.test",
        "",
        `Final-Recipient: rfc822; ${s.to}`,
        "Action: failed",
        "Status: 5.1.1",
        `--${boundary}`,
        "Content-Type: text/rfc822-headers",
        "",
        `Message-ID: ${s.first.headers["Message-ID"]}`,
        "From: Acme <sales@acme.test>",
        `To: ${s.to}`,
        "Subject: Hello",
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
    expect(msg.error).toContain("delivery status notification");
    const contact = (await call("GET", `/v1/contacts/${msg.contactId}`, { key: s.key })).json;
    expect(contact.suppressed).toBe("bounced");
  });

  it("mail matched to nothing is logged with the reason and forwarded when configured", async () => {
    const forwardTo = "ops@acme.test";
    const previous = env.FORWARD_UNMATCHED_TO;
    (env as { FORWARD_UNMATCHED_TO?: string }).FORWARD_UNMATCHED_TO = forwardTo;
    try {
      const stranger = `stranger${Math.random().toString(36).slice(2)}@nowhere.test`;
      const forwarded = await deliver(
        stranger,
        "hello@inbound.test",
        raw({ From: stranger, Subject: "Hi there" }, "Who are you?"),
      );
      expect(forwarded).toEqual([forwardTo]);
      const log = await call("GET", "/v1/admin/inbound-mail", {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      const mine = log.json.data.find((m: { from: string }) => m.from === stranger);
      expect(mine).toMatchObject({ subject: "Hi there", via: "email_routing" });
      expect(mine.reason).toContain("No reply token");
    } finally {
      (env as { FORWARD_UNMATCHED_TO?: string }).FORWARD_UNMATCHED_TO = previous;
    }
  });
});

describe("threaded follow-ups", () => {
  it("a text-only email rewrites its links to tracked ones when asked, each to its own destination", async () => {
    const s = await setUp(
      [
        {
          id: "m1",
          type: "send_email",
          config: {
            subject: "Links",
            plainText: true,
            track: { clicks: true },
            html: "<p>See https://acme.test/a and https://acme.test/a/b</p>",
          },
        },
      ],
      {},
      false,
    );
    expect(s.first.html).toBe("");
    const links = s.first.text.match(/https:\/\/nudge\.test\/t\/c\/[\w.-]+/g) ?? [];
    expect(links).toHaveLength(2);
    expect(s.first.text).not.toContain("acme.test");
    const targets = [];
    for (const l of links) {
      targets.push(
        (
          await call("GET", l.slice("https://nudge.test".length), {
            headers: { "user-agent": "Mozilla/5.0" },
          })
        ).headers.get("location"),
      );
    }
    expect(targets).toEqual(["https://acme.test/a", "https://acme.test/a/b"]);
  });

  it("answer the previous email: Re: subject, In-Reply-To and References; plainText sends text only", async () => {
    const s = await setUp([
      email("Quick question", "m1"),
      { id: "w", type: "delay", config: { amount: 1, unit: "minutes" } },
      {
        id: "m2",
        type: "send_email",
        config: {
          thread: "previous",
          plainText: true,
          html: "<p>Just bumping this, {{ contact.firstName }}: https://acme.test/demo</p>",
        },
      },
    ]);
    await expireWait(s.enrollmentId);
    const all = await poll(
      async () =>
        (await call("GET", `/v1/outbox?to=${encodeURIComponent(s.to)}`, { key: s.key })).json
          .data as Outbox[],
      (d) => d.length === 2,
    );
    const second = all.find((o) => o.messageId !== s.first.messageId) as Outbox;
    expect(second.subject).toBe("Re: Quick question");
    expect(second.headers["In-Reply-To"]).toBe(s.first.headers["Message-ID"]);
    expect(second.headers.References).toBe(s.first.headers["Message-ID"]);
    expect(second.html).toBe("");
    expect(second.text).toContain("Just bumping this, Ada: https://acme.test/demo");
    await settle(s.key, s.enrollmentId);
    // The dry run says so.
    const trace = (
      await call("POST", `/v1/workflows/${s.workflow.id}/test`, { key: s.key, body: {} })
    ).json.trace.map((t: { message: string }) => t.message);
    expect(trace).toContain(
      "[test] Would thread a reply (text only) under the previous email to ada@example.com",
    );
  });
});

describe("replies through providers' inbound webhooks", () => {
  async function sentAndConnected(provider: string, credentials: Record<string, string>) {
    const s = await setUp([email("Hello", "m1"), wait("w"), email("Again", "m2")], {}, false);
    const conn = await call("POST", "/v1/connections", {
      key: s.key,
      body: { provider, key: `in-${provider}`, credentials },
    });
    expect(conn.status).toBe(201);
    return { ...s, connectionId: conn.json.id as string, rfc: s.first.headers["Message-ID"] };
  }
  const ended = (s: { key: string; enrollmentId: string }) =>
    poll(
      () => enrollment(s.key, s.enrollmentId),
      (e) => e.status === "completed",
    );

  it("Postmark inbound (JSON, Basic credentials): refused without them, a reply with them", async () => {
    const s = await sentAndConnected("postmark", {
      serverToken: "t",
      webhookUsername: "pm",
      webhookPassword: "secret-pm",
    });
    const body = {
      FromFull: { Email: s.to },
      ToFull: [{ Email: "sales@acme.test" }],
      Subject: "Re: Hello",
      TextBody: "Count me in.\n\nOn Thu, Acme wrote:\n> Hello",
      Headers: [
        { Name: "Message-ID", Value: "<pm-1@prospect.test>" },
        { Name: "In-Reply-To", Value: s.rfc },
      ],
    };
    const path = `/inbound/postmark/${s.connectionId}/mail`;
    expect((await call("POST", path, { body })).status).toBe(401);
    const wrong = { authorization: `Basic ${btoa("pm:nope")}` };
    expect((await call("POST", path, { body, headers: wrong })).status).toBe(401);
    const ok = { authorization: `Basic ${btoa("pm:secret-pm")}` };
    const r = await call("POST", path, { body, headers: ok });
    expect(r.json).toMatchObject({ kind: "reply", match: "header", messageId: s.first.messageId });
    expect((await ended(s)).exitReason).toBe("replied");
    // Redelivered: recognised, nothing twice.
    expect((await call("POST", path, { body, headers: ok })).json.kind).toBe("duplicate");
  });

  it("another org's inbound webhook cannot answer this org's messages", async () => {
    const a = await setUp([email("Hello", "m1"), wait("w"), email("Again", "m2")], {}, false);
    const b = await newOrg("B");
    const conn = await call("POST", "/v1/connections", {
      key: b.key,
      body: {
        provider: "postmark",
        credentials: { serverToken: "t", webhookUsername: "b", webhookPassword: "secret-b" },
      },
    });
    const forged = await call("POST", `/inbound/postmark/${conn.json.id}/mail`, {
      headers: { authorization: `Basic ${btoa("b:secret-b")}` },
      body: {
        FromFull: { Email: a.to },
        Subject: "Re: Hello",
        TextBody: "stop",
        Headers: [
          { Name: "Message-ID", Value: "<forged@b.test>" },
          { Name: "In-Reply-To", Value: a.first.headers["Message-ID"] },
        ],
      },
    });
    expect(forged.json).toMatchObject({ kind: "unmatched", match: "none", messageId: null });
    expect((await enrollment(a.key, a.enrollmentId)).status).toBe("waiting");
  });

  it("SendGrid Inbound Parse (multipart; parsed fields or the raw message)", async () => {
    const s = await sentAndConnected("sendgrid", {
      apiKey: "sg",
      inboundUsername: "parse",
      inboundPassword: "secret-sg",
    });
    const auth = { authorization: `Basic ${btoa("parse:secret-sg")}` };
    const form = new FormData();
    form.set("from", `Ada <${s.to}>`);
    form.set("to", "sales@acme.test");
    form.set("subject", "Automatic reply: Hello");
    form.set("text", "I am out of the office.");
    form.set(
      "headers",
      `Message-ID: <sg-1@prospect.test>\nIn-Reply-To: ${s.rfc}\nAuto-Submitted: auto-replied\n`,
    );
    form.set("envelope", JSON.stringify({ from: s.to, to: ["sales@acme.test"] }));
    const path = `/inbound/sendgrid/${s.connectionId}/mail`;
    const unsigned = await exports.default.fetch(
      new Request(`https://nudge.test${path}`, { method: "POST", body: form }),
    );
    expect(unsigned.status).toBe(401);
    const auto = await exports.default.fetch(
      new Request(`https://nudge.test${path}`, { method: "POST", body: form, headers: auth }),
    );
    expect(await auto.json()).toMatchObject({ kind: "auto_reply", match: "header" });
    expect((await enrollment(s.key, s.enrollmentId)).status).toBe("waiting");
    const rawForm = new FormData();
    rawForm.set(
      "email",
      raw({ From: s.to, Subject: "Re: Hello", "In-Reply-To": s.rfc }, "Let's do it."),
    );
    rawForm.set("envelope", JSON.stringify({ from: s.to, to: ["sales@acme.test"] }));
    const human = await exports.default.fetch(
      new Request(`https://nudge.test${path}`, { method: "POST", body: rawForm, headers: auth }),
    );
    expect(await human.json()).toMatchObject({ kind: "reply", match: "header" });
    expect((await ended(s)).exitReason).toBe("replied");
  });

  it("Mailgun routes (signed form): an altered signature is refused, a signed reply ends the sequence", async () => {
    const signingKey = "mailgun-signing-key-0123456789";
    const s = await sentAndConnected("mailgun", {
      apiKey: "mg",
      domain: "mg.acme.test",
      webhookSigningKey: signingKey,
    });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const token = crypto.randomUUID();
    const mac = await crypto.subtle.sign(
      "HMAC",
      await crypto.subtle.importKey(
        "raw",
        new TextEncoder().encode(signingKey),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      ),
      new TextEncoder().encode(`${timestamp}${token}`),
    );
    const signature = [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
    const fields = (sig: string) =>
      new URLSearchParams({
        timestamp,
        token,
        signature: sig,
        sender: s.to,
        recipient: "sales@acme.test",
        subject: "Re: Hello",
        "body-plain": "Yes please.\n\n> Hello",
        "Message-Id": "<mg-1@prospect.test>",
        "In-Reply-To": s.rfc,
        "message-headers": JSON.stringify([["Subject", "Re: Hello"]]),
      }).toString();
    const path = `/inbound/mailgun/${s.connectionId}/mail`;
    const headers = { "content-type": "application/x-www-form-urlencoded" };
    const altered = `${signature.slice(0, -1)}${signature.endsWith("0") ? "1" : "0"}`;
    expect((await call("POST", path, { raw: fields(altered), headers })).status).toBe(401);
    const r = await call("POST", path, { raw: fields(signature), headers });
    expect(r.json).toMatchObject({ kind: "reply", match: "header", messageId: s.first.messageId });
    expect((await ended(s)).exitReason).toBe("replied");
    const contactId = (await call("GET", `/v1/messages/${s.first.messageId}`, { key: s.key })).json
      .contactId;
    const replied = (
      await call("GET", `/v1/contacts/${contactId}/events`, { key: s.key })
    ).json.data.find((e: { name: string }) => e.name === "email.replied");
    expect(replied.data.text).toBe("Yes please.");
  });

  it("Resend receiving (Svix-signed metadata; the content fetched from the Receiving API)", async () => {
    const signer = await svixSigner();
    const s = await sentAndConnected("resend", { apiKey: "re_key", webhookSecret: signer.secret });
    const body = JSON.stringify({
      type: "email.received",
      created_at: new Date().toISOString(),
      data: { email_id: "rcv_1", from: s.to, to: ["sales@acme.test"], subject: "Re: Hello" },
    });
    const headers = await signer.headers("msg_svix_rcv_1", body);
    const path = `/inbound/resend/${s.connectionId}/mail`;
    expect(
      (
        await call("POST", path, {
          raw: body,
          headers: { ...headers, "svix-signature": "v1,AAAA" },
        })
      ).status,
    ).toBe(401);
    const requests: Request[] = [];
    const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      requests.push(new Request(input as RequestInfo, init));
      return new Response(
        JSON.stringify({
          id: "rcv_1",
          text: "Happy to chat.\n\n> Hello",
          headers: { "Message-ID": "<re-1@prospect.test>", "In-Reply-To": s.rfc },
        }),
        { headers: { "content-type": "application/json" } },
      );
    });
    try {
      const r = await call("POST", path, { raw: body, headers });
      expect(r.json).toMatchObject({
        kind: "reply",
        match: "header",
        messageId: s.first.messageId,
      });
    } finally {
      spy.mockRestore();
    }
    expect(requests.map((q) => [q.method, q.url, q.headers.get("authorization")])).toEqual([
      ["GET", "https://api.resend.com/emails/receiving/rcv_1", "Bearer re_key"],
    ]);
    expect((await ended(s)).exitReason).toBe("replied");
  });
});

describe("stop-on-reply", () => {
  it("the stopOnReply a workflow shows is the one a reply acts on", async () => {
    const { key, orgId } = await newOrg();
    const cases: [unknown[], Record<string, unknown>, boolean][] = [
      [[email("One", "m1")], {}, false],
      [[email("One", "m1"), wait("w"), email("Two", "m2")], {}, true],
      [[email("One", "m1"), wait("w"), email("Two", "m2")], { stopOnReply: false }, false],
      [[email("One", "m1")], { stopOnReply: true }, true],
      [[wait("w1"), wait("w2")], {}, false],
    ];
    const made = [];
    for (const [steps, extra, expected] of cases) {
      made.push({ id: (await activeWorkflow(key, steps, extra)).id, expected });
    }
    const ending = new Set(
      (await workflowsExitingOn(database(DB), orgId, "email.replied"))
        .filter((w) => Number(w.reply) === 1)
        .map((w) => w.id),
    );
    for (const { id, expected } of made) {
      const shown = (await call("GET", `/v1/workflows/${id}`, { key })).json.stopOnReply;
      expect({ id, shown, ending: ending.has(id) }).toEqual({
        id,
        shown: expected,
        ending: expected,
      });
    }
  });
});
