// Postmark's contract: the exact request a send makes, and recorded webhooks (Bounce, Delivery,
// SpamComplaint, and the inbound stream's JSON) read by the module's inbound hooks. Postmark signs
// nothing: its webhooks carry the Basic credentials configured on the connection.
// https://postmarkapp.com/developer/api/email-api · https://postmarkapp.com/developer/webhooks/bounce-webhook
// https://postmarkapp.com/developer/webhooks/inbound-webhook
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  ctx,
  email,
  headersOf,
  inbound,
  intercept,
  interceptWith,
  json,
} from "../../test/helpers/providers";
import { PROVIDERS } from ".";
import postmark from "./postmark";

afterEach(() => vi.restoreAllMocks());

const credentials = {
  serverToken: "pm-server-token",
  webhookUsername: "hook",
  webhookPassword: "pw",
};
const basic = (user: string, password: string) => ({
  "content-type": "application/json",
  authorization: `Basic ${btoa(`${user}:${password}`)}`,
});

/** Postmark's documented Bounce webhook (its ID kept within a JavaScript number's precision). */
const bounce = JSON.stringify({
  RecordType: "Bounce",
  MessageStream: "outbound",
  ID: 692560173,
  Type: "HardBounce",
  TypeCode: 1,
  Name: "Hard bounce",
  Tag: "Invitation",
  MessageID: "883953f4-6105-42a2-a16a-77a8eac79483",
  Metadata: { nudge_message_id: "msg_01TEST" },
  ServerID: 23,
  Description:
    "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
  Details: "Test bounce details",
  Email: "john@example.com",
  From: "sender@example.com",
  BouncedAt: "2019-11-05T16:33:54.9070259Z",
  DumpAvailable: true,
  Inactive: true,
  CanActivate: true,
  Subject: "Test subject",
  Content: "<Full dump of bounce>",
});

describe("Postmark sends", () => {
  it("POSTs /email with the server token, the message as JSON and its own tracking off", async () => {
    const requests = interceptWith(() =>
      json({
        To: "ada@example.com",
        SubmittedAt: "2014-02-17T07:25:01.4178645-05:00",
        MessageID: "0a129aee-e1cd-480d-b08d-4f48548ff48d",
        ErrorCode: 0,
        Message: "OK",
      }),
    );
    expect(await postmark.send(email, { env, orgId: "org_1", credentials })).toEqual({
      providerMessageId: "0a129aee-e1cd-480d-b08d-4f48548ff48d",
    });
    expect(requests).toHaveLength(1);
    const r = requests[0];
    expect([r.method, r.url]).toEqual(["POST", "https://api.postmarkapp.com/email"]);
    expect(headersOf(r)).toEqual({
      accept: "application/json",
      "content-type": "application/json",
      "x-postmark-server-token": "pm-server-token",
    });
    expect(await r.json()).toEqual({
      From: "Acme <hi@acme.test>",
      To: "ada@example.com",
      Subject: "Hello",
      HtmlBody: "<p>Hello</p>",
      TextBody: "Hello",
      ReplyTo: "support@acme.test",
      Headers: [
        { Name: "List-Unsubscribe", Value: "<https://nudge.test/t/u/x>" },
        { Name: "List-Unsubscribe-Post", Value: "List-Unsubscribe=One-Click" },
      ],
      MessageStream: "outbound",
      TrackOpens: false,
      TrackLinks: "None",
      Metadata: { nudge_message_id: "msg_01TEST" },
    });
  });
});

describe("Postmark webhooks", () => {
  it("accepts the connection's Basic credentials and nothing else", async () => {
    expect(
      await postmark.inbound?.verify(inbound(bounce, basic("hook", "pw")), credentials),
    ).toEqual({ ok: true });
    for (const headers of [basic("hook", "wrong"), basic("other", "pw"), {}]) {
      expect(await postmark.inbound?.verify(inbound(bounce, headers), credentials)).toEqual({
        ok: false,
        status: 401,
        reason: "Invalid signature",
      });
    }
    // A connection without webhook credentials takes no webhook at all.
    expect(
      await postmark.inbound?.verify(inbound(bounce, basic("hook", "pw")), {
        serverToken: "t",
      }),
    ).toMatchObject({ ok: false, status: 401 });
  });

  it("reads a HardBounce as a bounce, with our message id from its Metadata", () => {
    expect(postmark.inbound?.parse(inbound(bounce))).toEqual([
      {
        eventId: "Bounce:692560173",
        kind: "bounced",
        ourMessageId: "msg_01TEST",
        providerMessageId: "883953f4-6105-42a2-a16a-77a8eac79483",
        reason:
          "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
      },
    ]);
  });

  it("ignores a soft bounce: only hard ones suppress", () => {
    const soft = bounce
      .replace('"Type":"HardBounce","TypeCode":1', '"Type":"SoftBounce","TypeCode":4096')
      .replace('"Name":"Hard bounce"', '"Name":"Soft bounce"');
    expect(postmark.inbound?.parse(inbound(soft))[0]).toMatchObject({ kind: "ignored" });
  });

  it("reads Delivery (no ID of its own: keyed by the message) and SpamComplaint", () => {
    const delivery = JSON.stringify({
      RecordType: "Delivery",
      ServerID: 23,
      MessageStream: "outbound",
      MessageID: "00000000-0000-0000-0000-000000000000",
      Recipient: "john@example.com",
      Tag: "welcome-email",
      DeliveredAt: "2019-11-05T16:33:54.9070259Z",
      Details: "Test delivery webhook details",
      Metadata: { nudge_message_id: "msg_01TEST" },
    });
    const complaint = JSON.stringify({
      RecordType: "SpamComplaint",
      MessageStream: "outbound",
      ID: 42,
      Type: "SpamComplaint",
      TypeCode: 512,
      Name: "Spam complaint",
      Tag: "Test",
      MessageID: "00000000-0000-0000-0000-000000000000",
      Metadata: { nudge_message_id: "msg_01TEST" },
      ServerID: 1234,
      Description: "",
      Details: "Test spam complaint details",
      Email: "john@example.com",
      From: "sender@example.com",
      BouncedAt: "2019-11-05T16:33:54.9070259Z",
      DumpAvailable: true,
      Inactive: true,
      CanActivate: false,
      Subject: "Test subject",
      Content: "<Abuse report dump>",
    });
    expect([delivery, complaint].map((b) => postmark.inbound?.parse(inbound(b))[0])).toEqual([
      {
        eventId: "Delivery:00000000-0000-0000-0000-000000000000",
        kind: "delivered",
        ourMessageId: "msg_01TEST",
        providerMessageId: "00000000-0000-0000-0000-000000000000",
        reason: undefined,
      },
      {
        eventId: "SpamComplaint:42",
        kind: "complained",
        ourMessageId: "msg_01TEST",
        providerMessageId: "00000000-0000-0000-0000-000000000000",
        reason: "",
      },
    ]);
  });

  it("reads the inbound stream's JSON as a received email with its thread headers", async () => {
    const mail = JSON.stringify({
      FromName: "Ada Lovelace",
      MessageStream: "inbound",
      From: "ada@example.com",
      FromFull: { Email: "ada@example.com", Name: "Ada Lovelace", MailboxHash: "" },
      To: '"Acme" <yourhash+tok@inbound.postmarkapp.com>',
      ToFull: [{ Email: "yourhash+tok@inbound.postmarkapp.com", Name: "Acme", MailboxHash: "tok" }],
      Cc: "",
      CcFull: [],
      Bcc: "",
      BccFull: [],
      OriginalRecipient: "reply+tok@replies.acme.test",
      Subject: "Re: Hello",
      MessageID: "73e6d360-66eb-11e1-8e72-a8904824019b",
      ReplyTo: "",
      MailboxHash: "tok",
      Date: "Fri, 1 Aug 2014 16:45:32 -04:00",
      TextBody: "Sounds good",
      HtmlBody: "<html><body><p>Sounds good</p></body></html>",
      StrippedTextReply: "Sounds good",
      Tag: "",
      Headers: [
        { Name: "X-Spam-Status", Value: "No" },
        { Name: "Message-ID", Value: "<CAFx=ada-reply@mail.example.com>" },
        { Name: "In-Reply-To", Value: "<msg_01TEST@acme.test>" },
        { Name: "References", Value: "<msg_01TEST@acme.test>" },
      ],
      Attachments: [],
    });
    const req = inbound(mail, basic("hook", "pw"));
    expect(await postmark.inboundMail?.verify(req, credentials)).toEqual({ ok: true });
    expect(await postmark.inboundMail?.parse(req, credentials)).toEqual({
      from: "ada@example.com",
      to: ["yourhash+tok@inbound.postmarkapp.com", "reply+tok@replies.acme.test"],
      subject: "Re: Hello",
      headers: {
        "x-spam-status": "No",
        "message-id": "<CAFx=ada-reply@mail.example.com>",
        "in-reply-to": "<msg_01TEST@acme.test>",
        references: "<msg_01TEST@acme.test>",
      },
      contentType: undefined,
      text: "Sounds good",
      messageId: "<CAFx=ada-reply@mail.example.com>",
      inReplyTo: "<msg_01TEST@acme.test>",
      references: ["<msg_01TEST@acme.test>"],
    });
    expect(
      await postmark.inboundMail?.verify(inbound(mail, basic("hook", "nope")), credentials),
    ).toMatchObject({ ok: false, status: 401 });
  });
});

describe("providers against their documented HTTP APIs", () => {
  it("Postmark: POST /email with X-Postmark-Server-Token", async () => {
    const { requests } = intercept(
      json({
        To: "ada@example.com",
        SubmittedAt: "2026-11-22T00:00:00Z",
        MessageID: "pm-1",
        ErrorCode: 0,
        Message: "OK",
      }),
    );
    expect(
      (await PROVIDERS.postmark.send(email, ctx({ serverToken: "pm_tok" }))).providerMessageId,
    ).toBe("pm-1");
    const r = requests[0];
    expect(r.url).toBe("https://api.postmarkapp.com/email");
    expect(r.headers.get("x-postmark-server-token")).toBe("pm_tok");
    expect(r.headers.get("accept")).toBe("application/json");
    const body = await r.json<Record<string, unknown>>();
    expect(body).toMatchObject({
      From: email.from,
      To: "ada@example.com",
      Subject: "Hello",
      HtmlBody: "<p>Hello</p>",
      TextBody: "Hello",
      ReplyTo: "support@acme.test",
      MessageStream: "outbound",
    });
    expect(body.Headers).toEqual([
      { Name: "List-Unsubscribe", Value: "<https://nudge.test/t/u/x>" },
      { Name: "List-Unsubscribe-Post", Value: "List-Unsubscribe=One-Click" },
    ]);
    vi.restoreAllMocks();
    intercept(json({ ErrorCode: 300, Message: "Invalid email request" }, 422));
    await expect(PROVIDERS.postmark.send(email, ctx({ serverToken: "t" }))).rejects.toMatchObject({
      retryable: false,
      message: expect.stringContaining("300: Invalid email request"),
    });
  });
});
