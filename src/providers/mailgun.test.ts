// Mailgun's contract: the exact messages form POST, recorded event webhooks (JSON with the
// signature inside the body: HMAC-SHA256 of timestamp + token), and a route's signed form post.
// https://documentation.mailgun.com/docs/mailgun/api-reference/openapi-final/tag/Messages/
// https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/webhook-payloads
// https://documentation.mailgun.com/docs/mailgun/user-manual/receive-forward-store/
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  ctx,
  email,
  headersOf,
  hexOf,
  hmacOf,
  inbound,
  intercept,
  interceptWith,
  json,
} from "../../test/helpers/providers";
import { PROVIDERS } from ".";
import mailgun from "./mailgun";

afterEach(() => vi.restoreAllMocks());

const signingKey = "key-0123456789abcdef0123456789abcdef";
const credentials = { apiKey: "mg-api-key", domain: "mg.acme.test", webhookSigningKey: signingKey };

async function signature(timestamp = String(Math.floor(Date.now() / 1000))) {
  const token = "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0";
  return {
    timestamp,
    token,
    signature: hexOf(await hmacOf("SHA-256", signingKey, timestamp + token)),
  };
}

/** Mailgun's documented permanent failure, with our user variable. */
const failedEvent = (severity: "permanent" | "temporary") => ({
  id: "G9Bn5sl1TC6Tdr6sI-vmiA",
  timestamp: 1521472262.908181,
  "log-level": "error",
  event: "failed",
  severity,
  reason: "suppress-bounce",
  envelope: {
    sender: "bob@mg.acme.test",
    transport: "smtp",
    targets: "alice@example.com",
  },
  flags: {
    "is-routed": false,
    "is-authenticated": true,
    "is-system-test": false,
    "is-test-mode": false,
  },
  message: {
    headers: {
      to: "Alice <alice@example.com>",
      "message-id": "20130503192659.13651.20287@mg.acme.test",
      from: "Bob <bob@mg.acme.test>",
      subject: "Test permanent_fail webhook",
    },
    attachments: [],
    size: 111,
  },
  recipient: "alice@example.com",
  "recipient-domain": "example.com",
  storage: {
    url: "https://se.api.mailgun.net/v3/domains/mg.acme.test/messages/message_key",
    key: "message_key",
  },
  "delivery-status": {
    "attempt-no": 1,
    message: "",
    code: 605,
    description: "Not delivering to previously bounced address",
    "session-seconds": 0,
  },
  campaigns: [],
  tags: ["my_tag_1", "my_tag_2"],
  "user-variables": { nudge_message_id: "msg_01TEST" },
});

describe("Mailgun sends", () => {
  it("POSTs a form to /v3/{domain}/messages with api: Basic auth, our id as a variable, tracking off", async () => {
    const requests = interceptWith(() =>
      json({ id: "<20111114174239.25659.5817@mg.acme.test>", message: "Queued. Thank you." }),
    );
    expect(await mailgun.send(email, { env, orgId: "org_1", credentials })).toEqual({
      providerMessageId: "20111114174239.25659.5817@mg.acme.test",
    });
    expect(requests).toHaveLength(1);
    const r = requests[0];
    expect([r.method, r.url]).toEqual(["POST", "https://api.mailgun.net/v3/mg.acme.test/messages"]);
    const { "content-type": contentType, ...headers } = headersOf(r);
    expect(headers).toEqual({ authorization: `Basic ${btoa("api:mg-api-key")}` });
    expect(contentType).toMatch(/^multipart\/form-data; boundary=/);
    expect([...(await r.formData()).entries()]).toEqual([
      ["from", "Acme <hi@acme.test>"],
      ["to", "ada@example.com"],
      ["subject", "Hello"],
      ["html", "<p>Hello</p>"],
      ["text", "Hello"],
      ["h:Reply-To", "support@acme.test"],
      ["h:List-Unsubscribe", "<https://nudge.test/t/u/x>"],
      ["h:List-Unsubscribe-Post", "List-Unsubscribe=One-Click"],
      ["o:tracking", "no"],
      ["v:nudge_message_id", "msg_01TEST"],
    ]);
  });

  it("sends through the EU endpoint for an EU domain", async () => {
    const requests = interceptWith(() => json({ id: "<x@mg.acme.test>", message: "Queued." }));
    await mailgun.send(email, {
      env,
      orgId: "org_1",
      credentials: { ...credentials, region: "eu" },
    });
    expect(requests[0].url).toBe("https://api.eu.mailgun.net/v3/mg.acme.test/messages");
  });
});

describe("Mailgun event webhooks", () => {
  it("verifies the body's signature and reads a permanent failure as a bounce", async () => {
    const body = JSON.stringify({
      signature: await signature(),
      "event-data": failedEvent("permanent"),
    });
    const req = inbound(body, { "content-type": "application/json" });
    expect(await mailgun.inbound?.verify(req, credentials)).toEqual({ ok: true });
    expect(mailgun.inbound?.parse(req)).toEqual([
      {
        eventId: "G9Bn5sl1TC6Tdr6sI-vmiA",
        kind: "bounced",
        ourMessageId: "msg_01TEST",
        providerMessageId: "20130503192659.13651.20287@mg.acme.test",
        reason: "Not delivering to previously bounced address",
      },
    ]);
  });

  it("reads a temporary failure as nothing to act on, and complaints and deliveries as such", async () => {
    const parse = (eventData: object) =>
      mailgun.inbound?.parse(inbound(JSON.stringify({ "event-data": eventData })))[0];
    expect(parse(failedEvent("temporary"))).toMatchObject({ kind: "ignored" });
    expect(
      parse({
        id: "-Agny091SquKnsrW2NEKUA",
        timestamp: 1521233123.501324,
        "log-level": "warn",
        event: "complained",
        envelope: { "sending-ip": "173.193.210.33" },
        flags: { "is-test-mode": false },
        message: {
          headers: {
            to: "Alice <alice@example.com>",
            "message-id": "20110215055645.25246.63817@mg.acme.test",
            from: "Bob <bob@mg.acme.test>",
            subject: "Test complained webhook",
          },
          attachments: [],
          size: 111,
        },
        recipient: "alice@example.com",
        campaigns: [],
        tags: [],
        "user-variables": { nudge_message_id: "msg_01TEST" },
      }),
    ).toEqual({
      eventId: "-Agny091SquKnsrW2NEKUA",
      kind: "complained",
      ourMessageId: "msg_01TEST",
      providerMessageId: "20110215055645.25246.63817@mg.acme.test",
      reason: undefined,
    });
    expect(
      parse({
        id: "CPgfbmQMTCKtHW6uIWtuVe",
        timestamp: 1521472262.908181,
        "log-level": "info",
        event: "delivered",
        message: { headers: { "message-id": "20130503182626.18666.16540@mg.acme.test" } },
        recipient: "alice@example.com",
        "delivery-status": { code: 250, message: "OK", description: "" },
        "user-variables": { nudge_message_id: "msg_01TEST" },
      }),
    ).toEqual({
      eventId: "CPgfbmQMTCKtHW6uIWtuVe",
      kind: "delivered",
      ourMessageId: "msg_01TEST",
      providerMessageId: "20130503182626.18666.16540@mg.acme.test",
      reason: "OK",
    });
  });

  it("refuses a forged signature, a stale timestamp, a body that is not JSON, and a connection without a key", async () => {
    const refused = { ok: false, status: 401, reason: "Invalid signature" };
    const good = await signature();
    const forged = {
      ...good,
      signature: good.signature.replace(/^./, (c) => (c === "0" ? "1" : "0")),
    };
    const body = (sig: object) =>
      inbound(JSON.stringify({ signature: sig, "event-data": failedEvent("permanent") }));
    expect(await mailgun.inbound?.verify(body(forged), credentials)).toEqual(refused);
    const stale = await signature(String(Math.floor(Date.now() / 1000) - 3600));
    expect(await mailgun.inbound?.verify(body(stale), credentials)).toEqual(refused);
    expect(await mailgun.inbound?.verify(inbound("timestamp=1&token=t"), credentials)).toEqual(
      refused,
    );
    expect(await mailgun.inbound?.verify(body(good), { apiKey: "k", domain: "d" })).toEqual(
      refused,
    );
  });
});

describe("Mailgun routes (received mail)", () => {
  /** A route's forward() post: urlencoded, signed like webhooks. */
  const form = (fields: Record<string, string>) =>
    inbound(new URLSearchParams(fields).toString(), {
      "content-type": "application/x-www-form-urlencoded",
    });

  it("verifies the form's signature and reads the parsed message", async () => {
    const req = form({
      ...(await signature()),
      recipient: "reply+tok@replies.acme.test",
      sender: "ada@example.com",
      from: "Ada <ada@example.com>",
      subject: "Re: Hello",
      "body-plain": "Sounds good",
      "stripped-text": "Sounds good",
      "body-html": "<p>Sounds good</p>",
      "Message-Id": "<CAFx=ada-reply@mail.example.com>",
      "In-Reply-To": "<msg_01TEST@acme.test>",
      References: "<msg_01TEST@acme.test>",
      "message-headers": JSON.stringify([
        ["Received", "by luna.mailgun.net with SMTP mgrt 8734663311733"],
        ["Content-Type", "multipart/alternative; boundary=eb663d73ae0a4d6c9153cc0aec8b7520"],
        ["Mime-Version", "1.0"],
        ["Subject", "Re: Hello"],
        ["From", "Ada <ada@example.com>"],
        ["To", "reply+tok@replies.acme.test"],
        ["Message-Id", "<CAFx=ada-reply@mail.example.com>"],
        ["In-Reply-To", "<msg_01TEST@acme.test>"],
        ["References", "<msg_01TEST@acme.test>"],
      ]),
    });
    expect(await mailgun.inboundMail?.verify(req, credentials)).toEqual({ ok: true });
    expect(await mailgun.inboundMail?.parse(req, credentials)).toEqual({
      from: "ada@example.com",
      to: ["reply+tok@replies.acme.test"],
      subject: "Re: Hello",
      headers: {
        received: "by luna.mailgun.net with SMTP mgrt 8734663311733",
        "content-type": "multipart/alternative; boundary=eb663d73ae0a4d6c9153cc0aec8b7520",
        "mime-version": "1.0",
        subject: "Re: Hello",
        from: "Ada <ada@example.com>",
        to: "reply+tok@replies.acme.test",
        "message-id": "<CAFx=ada-reply@mail.example.com>",
        "in-reply-to": "<msg_01TEST@acme.test>",
        references: "<msg_01TEST@acme.test>",
      },
      contentType: "multipart/alternative; boundary=eb663d73ae0a4d6c9153cc0aec8b7520",
      text: "Sounds good",
      messageId: "<CAFx=ada-reply@mail.example.com>",
      inReplyTo: "<msg_01TEST@acme.test>",
      references: ["<msg_01TEST@acme.test>"],
    });
  });

  it("hands over body-mime when the route stores the raw message, and refuses an altered signature", async () => {
    const raw = "From: Ada <ada@example.com>\r\nSubject: Re: Hello\r\n\r\nSounds good\r\n";
    const sig = await signature();
    const req = form({
      ...sig,
      recipient: "reply+tok@replies.acme.test",
      sender: "ada@example.com",
      "body-mime": raw,
    });
    expect(await mailgun.inboundMail?.parse(req, credentials)).toEqual({
      raw,
      from: "ada@example.com",
      to: ["reply+tok@replies.acme.test"],
    });
    const altered = form({ ...sig, token: `${sig.token}0`, "body-mime": raw });
    expect(await mailgun.inboundMail?.verify(altered, credentials)).toMatchObject({
      ok: false,
      status: 401,
    });
  });
});

describe("providers against their documented HTTP APIs", () => {
  it("Mailgun: form POST /v3/{domain}/messages with basic auth", async () => {
    const { requests } = intercept(
      json({ id: "<2026.abc@mg.acme.test>", message: "Queued. Thank you." }),
    );
    expect(
      (await PROVIDERS.mailgun.send(email, ctx({ apiKey: "mg-key", domain: "mg.acme.test" })))
        .providerMessageId,
    ).toBe("2026.abc@mg.acme.test");
    const r = requests[0];
    expect(r.url).toBe("https://api.mailgun.net/v3/mg.acme.test/messages");
    expect(r.headers.get("authorization")).toBe(`Basic ${btoa("api:mg-key")}`);
    const form = await r.formData();
    expect(form.get("to")).toBe("ada@example.com");
    expect(form.get("subject")).toBe("Hello");
    expect(form.get("h:List-Unsubscribe-Post")).toBe("List-Unsubscribe=One-Click");
    expect(form.get("h:Reply-To")).toBe("support@acme.test");
    vi.restoreAllMocks();
    intercept(json({ message: "Domain not found: mg.acme.test" }, 404));
    await expect(
      PROVIDERS.mailgun.send(email, ctx({ apiKey: "k", domain: "mg.acme.test" })),
    ).rejects.toMatchObject({
      retryable: false,
      message: expect.stringContaining("Domain not found"),
    });
  });
});
