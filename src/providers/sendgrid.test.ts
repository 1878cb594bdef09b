// SendGrid's contract: the exact v3 mail/send request, recorded Event Webhook batches under the
// Signed Event Webhook's ECDSA headers, and Inbound Parse posts (parsed fields, or the raw MIME).
// https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send
// https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event
// https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features
// https://www.twilio.com/docs/sendgrid/for-developers/parsing-email/setting-up-the-inbound-parse-webhook
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { rawToDer } from "../../test/helpers/der";
import {
  b64,
  ctx,
  email,
  headersOf,
  inbound,
  intercept,
  interceptWith,
  json,
} from "../../test/helpers/providers";
import { PROVIDERS } from ".";
import sendgrid from "./sendgrid";

afterEach(() => vi.restoreAllMocks());

/** A batch as the Event Webhook posts it: a bounce, a block, a delivery, a spam report, an open. */
const batch = JSON.stringify([
  {
    email: "ada@example.com",
    timestamp: 1513299569,
    "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
    event: "bounce",
    category: "cat facts",
    sg_event_id: "6g4ZI7SA-xmRDv57GoPIPw==",
    sg_message_id: "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
    reason: "500 unknown recipient",
    status: "5.0.0",
    type: "bounce",
    bounce_classification: "Invalid Address",
    nudge_message_id: "msg_01TEST",
  },
  {
    email: "ada@example.com",
    timestamp: 1513299569,
    "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
    event: "bounce",
    category: "cat facts",
    sg_event_id: "Ai9pEUNQTw2Yy_CnFc6k3Q==",
    sg_message_id: "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
    reason: "550 5.7.1 Message rejected due to local policy",
    status: "5.7.1",
    type: "blocked",
    bounce_classification: "Reputation",
    nudge_message_id: "msg_01TEST",
  },
  {
    email: "ada@example.com",
    timestamp: 1513299569,
    "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
    event: "delivered",
    category: "cat facts",
    sg_event_id: "rWVYmVk90MjZJ9iohOBa3w==",
    sg_message_id: "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
    response: "250 OK",
    nudge_message_id: "msg_01TEST",
  },
  {
    email: "ada@example.com",
    timestamp: 1513299569,
    event: "spamreport",
    sg_event_id: "37nvH5QBz858KGVYCM4uOA==",
    sg_message_id: "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
    nudge_message_id: "msg_01TEST",
  },
  {
    email: "ada@example.com",
    timestamp: 1513299569,
    event: "open",
    sg_machine_open: false,
    useragent:
      "Mozilla/4.0 (compatible; MSIE 6.1; Windows XP; .NET CLR 1.1.4322; .NET CLR 2.0.50727)",
    ip: "255.255.255.255",
    sg_event_id: "FOTFFO0ecsBE-zxFXfs6WA==",
    sg_message_id: "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
  },
]);

/** A P-256 key pair standing in for the account's; the public half as SendGrid shows it (base64 SPKI). */
async function signer() {
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const publicKey = b64((await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer);
  return {
    publicKey,
    async headers(body: string, ts = String(Math.floor(Date.now() / 1000))) {
      const raw = await crypto.subtle.sign(
        { name: "ECDSA", hash: "SHA-256" },
        pair.privateKey,
        new TextEncoder().encode(ts + body),
      );
      return {
        "content-type": "application/json",
        "x-twilio-email-event-webhook-signature": b64(rawToDer(new Uint8Array(raw))),
        "x-twilio-email-event-webhook-timestamp": ts,
      };
    },
  };
}

describe("SendGrid sends", () => {
  it("POSTs /v3/mail/send with Bearer auth, our id as a custom arg and its own tracking off", async () => {
    const requests = interceptWith(
      () => new Response(null, { status: 202, headers: { "x-message-id": "W1Y2l3xnQ3S2p9aX" } }),
    );
    expect(
      await sendgrid.send(email, { env, orgId: "org_1", credentials: { apiKey: "SG.key" } }),
    ).toEqual({ providerMessageId: "W1Y2l3xnQ3S2p9aX" });
    expect(requests).toHaveLength(1);
    const r = requests[0];
    expect([r.method, r.url]).toEqual(["POST", "https://api.sendgrid.com/v3/mail/send"]);
    expect(headersOf(r)).toEqual({
      authorization: "Bearer SG.key",
      "content-type": "application/json",
    });
    expect(await r.json()).toEqual({
      personalizations: [
        {
          to: [{ email: "ada@example.com" }],
          custom_args: { nudge_message_id: "msg_01TEST" },
        },
      ],
      from: { name: "Acme", email: "hi@acme.test" },
      reply_to: { email: "support@acme.test" },
      subject: "Hello",
      content: [
        { type: "text/plain", value: "Hello" },
        { type: "text/html", value: "<p>Hello</p>" },
      ],
      headers: {
        "List-Unsubscribe": "<https://nudge.test/t/u/x>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
      },
      tracking_settings: { click_tracking: { enable: false }, open_tracking: { enable: false } },
    });
  });
});

describe("SendGrid's Signed Event Webhook", () => {
  it("verifies the ECDSA signature over timestamp + body with the base64 or PEM public key", async () => {
    const s = await signer();
    const req = inbound(batch, await s.headers(batch));
    expect(await sendgrid.inbound?.verify(req, { webhookVerificationKey: s.publicKey })).toEqual({
      ok: true,
    });
    const pem = `-----BEGIN PUBLIC KEY-----\n${s.publicKey.match(/.{1,64}/g)?.join("\n")}\n-----END PUBLIC KEY-----`;
    expect(await sendgrid.inbound?.verify(req, { webhookVerificationKey: pem })).toEqual({
      ok: true,
    });
  });

  it("refuses an altered batch, another key's signature, a stale timestamp and a missing key", async () => {
    const s = await signer();
    const headers = await s.headers(batch);
    const refused = { ok: false, status: 401, reason: "Invalid signature" };
    const key = { webhookVerificationKey: s.publicKey };
    expect(
      await sendgrid.inbound?.verify(
        inbound(batch.replace('"bounce"', '"delivered"'), headers),
        key,
      ),
    ).toEqual(refused);
    const other = await signer();
    expect(await sendgrid.inbound?.verify(inbound(batch, await other.headers(batch)), key)).toEqual(
      refused,
    );
    const stale = String(Math.floor(Date.now() / 1000) - 600);
    expect(
      await sendgrid.inbound?.verify(inbound(batch, await s.headers(batch, stale)), key),
    ).toEqual(refused);
    expect(await sendgrid.inbound?.verify(inbound(batch, headers), {})).toEqual(refused);
  });

  it("reads each event of a batch: a bounce bounces, a block does not, deliveries and spam reports count", () => {
    const message = {
      ourMessageId: "msg_01TEST",
      providerMessageId: "14c5d75ce93",
    };
    expect(sendgrid.inbound?.parse(inbound(batch))).toEqual([
      {
        eventId: "6g4ZI7SA-xmRDv57GoPIPw==",
        kind: "bounced",
        ...message,
        reason: "500 unknown recipient",
      },
      {
        eventId: "Ai9pEUNQTw2Yy_CnFc6k3Q==",
        kind: "ignored",
        ...message,
        reason: "550 5.7.1 Message rejected due to local policy",
      },
      { eventId: "rWVYmVk90MjZJ9iohOBa3w==", kind: "delivered", ...message, reason: undefined },
      { eventId: "37nvH5QBz858KGVYCM4uOA==", kind: "complained", ...message, reason: undefined },
      {
        eventId: "FOTFFO0ecsBE-zxFXfs6WA==",
        kind: "ignored",
        ourMessageId: undefined,
        providerMessageId: "14c5d75ce93",
        reason: undefined,
      },
    ]);
  });
});

describe("SendGrid Inbound Parse", () => {
  const auth = { authorization: `Basic ${btoa("parse:pw")}` };
  const credentials = { apiKey: "k", inboundUsername: "parse", inboundPassword: "pw" };
  /** A multipart post as Inbound Parse sends it. */
  async function post(fields: Record<string, string>, headers: Record<string, string> = auth) {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) {
      form.set(k, v);
    }
    const r = new Request("https://nudge.test/", { method: "POST", body: form });
    return inbound(await r.text(), {
      "content-type": r.headers.get("content-type") ?? "",
      ...headers,
    });
  }
  const envelope = JSON.stringify({
    to: ["reply+tok@replies.acme.test"],
    from: "ada@example.com",
  });

  it("takes the URL's Basic credentials and refuses others", async () => {
    const req = await post({ envelope, subject: "Re: Hello" });
    expect(await sendgrid.inboundMail?.verify(req, credentials)).toEqual({ ok: true });
    const wrong = await post({ envelope }, { authorization: `Basic ${btoa("parse:nope")}` });
    expect(await sendgrid.inboundMail?.verify(wrong, credentials)).toMatchObject({
      ok: false,
      status: 401,
    });
  });

  it("reads the parsed fields: the envelope, headers (folded lines unfolded) and the text", async () => {
    const req = await post({
      headers:
        "Received: by mx0047p1mdw1.sendgrid.net with SMTP id 6WCVv7KAWn\n Wed, 27 Jul 2016 20:53:06 +0000 (UTC)\nFrom: Ada <ada@example.com>\nTo: reply+tok@replies.acme.test\nSubject: Re: Hello\nMessage-ID: <CAFx=ada-reply@mail.example.com>\nIn-Reply-To: <msg_01TEST@acme.test>\nReferences: <msg_01TEST@acme.test>\nContent-Type: multipart/alternative; boundary=001a113df448cad2d00538a8c0e1\n",
      dkim: "{@example.com : pass}",
      "content-ids": "{}",
      to: "reply+tok@replies.acme.test",
      from: "Ada <ada@example.com>",
      text: "Sounds good",
      html: "<p>Sounds good</p>",
      sender_ip: "209.85.223.172",
      envelope,
      attachments: "0",
      subject: "Re: Hello",
      charsets: '{"to":"UTF-8","html":"UTF-8","subject":"UTF-8","from":"UTF-8","text":"UTF-8"}',
      SPF: "pass",
    });
    expect(await sendgrid.inboundMail?.parse(req, credentials)).toEqual({
      from: "Ada <ada@example.com>",
      to: ["reply+tok@replies.acme.test", "reply+tok@replies.acme.test"],
      subject: "Re: Hello",
      headers: {
        received:
          "by mx0047p1mdw1.sendgrid.net with SMTP id 6WCVv7KAWn Wed, 27 Jul 2016 20:53:06 +0000 (UTC)",
        from: "Ada <ada@example.com>",
        to: "reply+tok@replies.acme.test",
        subject: "Re: Hello",
        "message-id": "<CAFx=ada-reply@mail.example.com>",
        "in-reply-to": "<msg_01TEST@acme.test>",
        references: "<msg_01TEST@acme.test>",
        "content-type": "multipart/alternative; boundary=001a113df448cad2d00538a8c0e1",
      },
      contentType: "multipart/alternative; boundary=001a113df448cad2d00538a8c0e1",
      text: "Sounds good",
      messageId: "<CAFx=ada-reply@mail.example.com>",
      inReplyTo: "<msg_01TEST@acme.test>",
      references: ["<msg_01TEST@acme.test>"],
    });
  });

  it("hands over the raw MIME when the parse setting posts it", async () => {
    const raw =
      "From: Ada <ada@example.com>\r\nTo: reply+tok@replies.acme.test\r\nSubject: Re: Hello\r\n\r\nSounds good\r\n";
    const req = await post({ envelope, email: raw, dkim: "{@example.com : pass}", SPF: "pass" });
    expect(await sendgrid.inboundMail?.parse(req, credentials)).toEqual({
      raw,
      from: "ada@example.com",
      to: ["reply+tok@replies.acme.test"],
    });
  });
});

describe("providers against their documented HTTP APIs", () => {
  it("SendGrid: POST /v3/mail/send, 202 with X-Message-Id", async () => {
    const { requests } = intercept(
      new Response(null, { status: 202, headers: { "x-message-id": "sg-abc" } }),
    );
    expect(
      (await PROVIDERS.sendgrid.send(email, ctx({ apiKey: "SG.key" }))).providerMessageId,
    ).toBe("sg-abc");
    const r = requests[0];
    expect(r.url).toBe("https://api.sendgrid.com/v3/mail/send");
    expect(r.headers.get("authorization")).toBe("Bearer SG.key");
    const body = await r.json<Record<string, any>>();
    expect(body.personalizations[0].to).toEqual([{ email: "ada@example.com" }]);
    expect(body.from).toEqual({ email: "hi@acme.test", name: "Acme" });
    expect(body.reply_to).toEqual({ email: "support@acme.test" });
    expect(body.content).toEqual([
      { type: "text/plain", value: "Hello" },
      { type: "text/html", value: "<p>Hello</p>" },
    ]);
    expect(body.headers).toEqual(email.headers);
    vi.restoreAllMocks();
    intercept(
      json(
        {
          errors: [
            {
              message: "The from address does not match a verified Sender Identity.",
              field: "from",
            },
          ],
        },
        403,
      ),
    );
    await expect(PROVIDERS.sendgrid.send(email, ctx({ apiKey: "k" }))).rejects.toMatchObject({
      retryable: false,
      status: 403,
    });
  });
});
