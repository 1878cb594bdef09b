// Resend's contract: the exact request a send makes, and recorded Svix-signed webhooks (delivery
// events and email.received) read by the module's inbound hooks.
// https://resend.com/docs/api-reference/emails/send-email
// https://resend.com/docs/webhooks/emails/bounced · https://docs.svix.com/receiving/verifying-payloads/how-manual
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  b64,
  ctx,
  email,
  headersOf,
  hmacOf,
  inbound,
  intercept,
  interceptWith,
  json,
} from "../../test/helpers/providers";
import { PROVIDERS } from ".";
import resend from "./resend";

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

/** A webhook secret as Resend shows it (whsec_ + base64), and its Svix headers for a body. */
const secretBytes = new Uint8Array(24).map((_, i) => i + 1);
const webhookSecret = `whsec_${b64(secretBytes)}`;
async function svixHeaders(id: string, body: string, ts = Math.floor(Date.now() / 1000)) {
  const sig = await hmacOf("SHA-256", secretBytes, `${id}.${ts}.${body}`);
  return {
    "content-type": "application/json",
    "svix-id": id,
    "svix-timestamp": String(ts),
    "svix-signature": `v1,${b64(sig)}`,
  };
}

/** Resend's documented email.bounced event. */
const bounced = JSON.stringify({
  type: "email.bounced",
  created_at: "2024-11-22T23:41:12.126Z",
  data: {
    broadcast_id: "8b146471-e88e-4322-86af-016cd36fd216",
    created_at: "2024-11-22T23:41:11.894719+00:00",
    email_id: "56761188-7520-42d8-8898-ff6fc54ce618",
    from: "Acme <onboarding@resend.dev>",
    to: ["delivered@resend.dev"],
    subject: "Sending this example",
    bounce: {
      message:
        "The recipient's email address is on the suppression list because it has a recent history of producing hard bounces.",
      subType: "Suppressed",
      type: "Permanent",
    },
    tags: { category: "confirm_email" },
  },
});

describe("Resend sends", () => {
  it("POSTs /emails with Bearer auth, the effect key as Idempotency-Key, and the message as JSON", async () => {
    const requests = interceptWith(() => json({ id: "49a3999c-0ce1-4ea6-ab68-afcd6dc2e794" }));
    const out = await resend.send(email, ctx({ apiKey: "re_123" }));
    expect(out).toEqual({ providerMessageId: "49a3999c-0ce1-4ea6-ab68-afcd6dc2e794" });
    expect(requests).toHaveLength(1);
    const r = requests[0];
    expect([r.method, r.url]).toEqual(["POST", "https://api.resend.com/emails"]);
    expect(headersOf(r)).toEqual({
      authorization: "Bearer re_123",
      "content-type": "application/json",
      "idempotency-key": "enr_1:s1:1",
    });
    expect(await r.json()).toEqual({
      from: "Acme <hi@acme.test>",
      to: ["ada@example.com"],
      subject: "Hello",
      html: "<p>Hello</p>",
      text: "Hello",
      reply_to: "support@acme.test",
      headers: {
        "List-Unsubscribe": "<https://nudge.test/t/u/x>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
      },
      tags: [{ name: "nudge_message_id", value: "msg_01TEST" }],
    });
  });
});

describe("Resend webhooks", () => {
  it("verifies Svix's documented example signature", async () => {
    // https://docs.svix.com/receiving/verifying-payloads/how-manual: secret, id, timestamp,
    // body and the v1 signature they give; the clock is set to the example's timestamp.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(1614265330 * 1000);
    const req = inbound('{"test": 2432232314}', {
      "svix-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
      "svix-timestamp": "1614265330",
      "svix-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    });
    const credentials = { apiKey: "k", webhookSecret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" };
    expect(await resend.inbound?.verify(req, credentials)).toEqual({ ok: true });
    // Five minutes and one second later the same request is a replay.
    vi.setSystemTime((1614265330 + 301) * 1000);
    expect(await resend.inbound?.verify(req, credentials)).toMatchObject({
      ok: false,
      status: 401,
    });
  });

  it("reads a signed email.bounced as a bounce of that email, with Resend's reason", async () => {
    const req = inbound(bounced, await svixHeaders("msg_2Bounce", bounced));
    expect(await resend.inbound?.verify(req, { apiKey: "k", webhookSecret })).toEqual({ ok: true });
    expect(resend.inbound?.parse(req)).toEqual([
      {
        eventId: "msg_2Bounce",
        kind: "bounced",
        providerMessageId: "56761188-7520-42d8-8898-ff6fc54ce618",
        reason:
          "The recipient's email address is on the suppression list because it has a recent history of producing hard bounces.",
      },
    ]);
  });

  it("reads email.delivered and email.complained, and ignores events it does not act on", async () => {
    const event = (type: string) =>
      inbound(
        JSON.stringify({
          type,
          created_at: "2024-11-22T23:41:12.126Z",
          data: {
            created_at: "2024-11-22T23:41:11.894719+00:00",
            email_id: "56761188-7520-42d8-8898-ff6fc54ce618",
            from: "Acme <onboarding@resend.dev>",
            to: ["delivered@resend.dev"],
            subject: "Sending this example",
          },
        }),
        { "svix-id": `msg_${type}` },
      );
    const kinds = ["email.delivered", "email.complained", "email.opened"].map(
      (t) => resend.inbound?.parse(event(t))[0],
    );
    expect(kinds).toEqual([
      {
        eventId: "msg_email.delivered",
        kind: "delivered",
        providerMessageId: "56761188-7520-42d8-8898-ff6fc54ce618",
        reason: undefined,
      },
      {
        eventId: "msg_email.complained",
        kind: "complained",
        providerMessageId: "56761188-7520-42d8-8898-ff6fc54ce618",
        reason: undefined,
      },
      {
        eventId: "msg_email.opened",
        kind: "ignored",
        providerMessageId: "56761188-7520-42d8-8898-ff6fc54ce618",
        reason: undefined,
      },
    ]);
  });

  it("refuses an altered body, a signature made with another secret, and a missing secret", async () => {
    const headers = await svixHeaders("msg_2Bounce", bounced);
    const altered = inbound(bounced.replace("Permanent", "Transient"), headers);
    expect(await resend.inbound?.verify(altered, { apiKey: "k", webhookSecret })).toEqual({
      ok: false,
      status: 401,
      reason: "Invalid signature",
    });
    const other = `whsec_${b64(new Uint8Array(24))}`;
    expect(
      await resend.inbound?.verify(inbound(bounced, headers), {
        apiKey: "k",
        webhookSecret: other,
      }),
    ).toMatchObject({ ok: false, status: 401 });
    expect(await resend.inbound?.verify(inbound(bounced, headers), { apiKey: "k" })).toMatchObject({
      ok: false,
      status: 401,
    });
  });

  it("reads email.received by fetching the content from the Receiving API", async () => {
    const received = JSON.stringify({
      type: "email.received",
      created_at: "2024-02-22T23:41:12.126Z",
      data: {
        email_id: "4ef9a417-02e9-4d39-ad75-9611e0fcc33c",
        created_at: "2024-02-22T23:41:11.894719+00:00",
        from: "Ada <ada@example.com>",
        to: ["reply+tok@replies.acme.test"],
        bcc: [],
        cc: [],
        message_id: "<CAFx=ada-reply@mail.example.com>",
        subject: "Re: Hello",
        attachments: [],
      },
    });
    const requests = interceptWith(() =>
      json({
        object: "email",
        id: "4ef9a417-02e9-4d39-ad75-9611e0fcc33c",
        to: ["reply+tok@replies.acme.test"],
        from: "Ada <ada@example.com>",
        subject: "Re: Hello",
        html: "<p>Sounds good</p>",
        text: "Sounds good",
        headers: {
          "Content-Type": "multipart/alternative; boundary=b1",
          "In-Reply-To": "<msg_01TEST@acme.test>",
          References: "<msg_01TEST@acme.test>",
        },
        message_id: "<CAFx=ada-reply@mail.example.com>",
      }),
    );
    const req = inbound(received, await svixHeaders("msg_Received", received));
    expect(await resend.inboundMail?.verify(req, { apiKey: "re_123", webhookSecret })).toEqual({
      ok: true,
    });
    expect(await resend.inboundMail?.parse(req, { apiKey: "re_123" })).toEqual({
      from: "Ada <ada@example.com>",
      to: ["reply+tok@replies.acme.test"],
      subject: "Re: Hello",
      headers: {
        "content-type": "multipart/alternative; boundary=b1",
        "in-reply-to": "<msg_01TEST@acme.test>",
        references: "<msg_01TEST@acme.test>",
      },
      contentType: "multipart/alternative; boundary=b1",
      text: "Sounds good",
      messageId: "<CAFx=ada-reply@mail.example.com>",
      inReplyTo: "<msg_01TEST@acme.test>",
      references: ["<msg_01TEST@acme.test>"],
    });
    expect(requests.map((r) => [r.method, r.url, r.headers.get("authorization")])).toEqual([
      [
        "GET",
        "https://api.resend.com/emails/receiving/4ef9a417-02e9-4d39-ad75-9611e0fcc33c",
        "Bearer re_123",
      ],
    ]);
  });
});

describe("providers against their documented HTTP APIs", () => {
  it("Resend: POST /emails with Bearer auth and Idempotency-Key", async () => {
    const { requests } = intercept(json({ id: "re_123" }));
    const out = await PROVIDERS.resend.send(email, ctx({ apiKey: "re_key" }));
    expect(out.providerMessageId).toBe("re_123");
    const r = requests[0];
    expect(r.url).toBe("https://api.resend.com/emails");
    expect(r.headers.get("authorization")).toBe("Bearer re_key");
    expect(r.headers.get("idempotency-key")).toBe("enr_1:s1:1");
    const body = await r.json<Record<string, unknown>>();
    expect(body).toMatchObject({
      from: email.from,
      to: ["ada@example.com"],
      subject: "Hello",
      html: "<p>Hello</p>",
      text: "Hello",
      reply_to: "support@acme.test",
      headers: email.headers,
    });
  });

  it("Resend: a 422 is permanent with the provider's message; a 429 is retryable with Retry-After", async () => {
    intercept(
      json({ statusCode: 422, name: "validation_error", message: "Invalid `from` field" }, 422),
    );
    await expect(PROVIDERS.resend.send(email, ctx({ apiKey: "k" }))).rejects.toMatchObject({
      retryable: false,
      message: expect.stringContaining("Invalid `from` field"),
    });
    vi.restoreAllMocks();
    intercept(json({ statusCode: 429, message: "Too many requests" }, 429, { "retry-after": "7" }));
    await expect(PROVIDERS.resend.send(email, ctx({ apiKey: "k" }))).rejects.toMatchObject({
      retryable: true,
      retryAfterSeconds: 7,
    });
  });
});
