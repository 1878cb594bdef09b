// Twilio's contract: the exact Messages and Calls requests, Twilio's documented webhook signature
// example, and recorded status callbacks and incoming texts read by the module's inbound hook.
// https://www.twilio.com/docs/messaging/api/message-resource · https://www.twilio.com/docs/voice/api/call-resource
// https://www.twilio.com/docs/usage/webhooks/webhooks-security
// https://www.twilio.com/docs/messaging/guides/outbound-message-status-in-status-callbacks
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { headersOf, inbound, interceptWith, json } from "../../test/helpers/providers";
import twilio, { twilioSignature } from "./twilio";

afterEach(() => vi.restoreAllMocks());

const ACCOUNT = "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX";
const credentials = { accountSid: ACCOUNT, authToken: "tok_secret", from: "+15017122661" };
const ctx = { env, orgId: "org_1", credentials };
const callback = "https://nudge.test/inbound/twilio/con_01TWILIO";
const basic = `Basic ${btoa(`${ACCOUNT}:tok_secret`)}`;

/** A webhook as Twilio posts it: form-encoded, signed over this URL and the sorted parameters. */
async function posted(params: Record<string, string>, url = callback) {
  const body = new URLSearchParams(params);
  return {
    ...inbound(body.toString(), {
      "content-type": "application/x-www-form-urlencoded",
      "x-twilio-signature": await twilioSignature("tok_secret", url, body),
    }),
    url,
  };
}

describe("Twilio sends", () => {
  it("creates a Message: a form POST to Messages.json with the status callback", async () => {
    const requests = interceptWith(() =>
      json(
        {
          account_sid: ACCOUNT,
          api_version: "2010-04-01",
          body: "Sorry we missed you, Ada!",
          direction: "outbound-api",
          from: "+15017122661",
          num_segments: "1",
          sid: "SM1f0e8ae6ade43cb3c0ce4525424e404f",
          status: "queued",
          to: "+15558675310",
          uri: `/2010-04-01/Accounts/${ACCOUNT}/Messages/SM1f0e8ae6ade43cb3c0ce4525424e404f.json`,
        },
        201,
      ),
    );
    const out = await twilio.sendSms?.(
      {
        messageId: "msg_01SMS",
        to: "+15558675310",
        body: "Sorry we missed you, Ada!",
        statusCallback: callback,
      },
      ctx,
    );
    expect(out).toEqual({ providerMessageId: "SM1f0e8ae6ade43cb3c0ce4525424e404f" });
    expect(requests).toHaveLength(1);
    const r = requests[0];
    expect([r.method, r.url]).toEqual([
      "POST",
      `https://api.twilio.com/2010-04-01/Accounts/${ACCOUNT}/Messages.json`,
    ]);
    expect(headersOf(r)).toEqual({
      accept: "application/json",
      authorization: basic,
      "content-type": "application/x-www-form-urlencoded",
    });
    expect(await r.text()).toBe(
      "To=%2B15558675310&Body=Sorry+we+missed+you%2C+Ada%21&StatusCallback=https%3A%2F%2Fnudge.test%2Finbound%2Ftwilio%2Fcon_01TWILIO&From=%2B15017122661",
    );
  });

  it("sends from a Messaging Service instead of a number when the connection names one", async () => {
    const requests = interceptWith(() => json({ sid: "SM2" }, 201));
    await twilio.sendSms?.(
      { messageId: "msg_01SMS", to: "+15558675310", body: "Hi", statusCallback: callback },
      {
        ...ctx,
        credentials: { ...credentials, messagingServiceSid: "MGXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX" },
      },
    );
    expect(Object.fromEntries(new URLSearchParams(await requests[0].text()))).toEqual({
      To: "+15558675310",
      Body: "Hi",
      StatusCallback: callback,
      MessagingServiceSid: "MGXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    });
  });

  it("creates a Call: TwiML saying the script (escaped), a time limit, machine detection", async () => {
    const requests = interceptWith(() =>
      json({ sid: "CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", status: "queued" }, 201),
    );
    const out = await twilio.placeCall?.(
      {
        messageId: "msg_01CALL",
        to: "+15558675310",
        script: "Hello Ada, this is <Acme> & co calling.",
        maxDurationSeconds: 300,
        machineDetection: true,
        statusCallback: callback,
        variables: {},
      },
      ctx,
    );
    expect(out).toEqual({ providerMessageId: "CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX" });
    const r = requests[0];
    expect([r.method, r.url]).toEqual([
      "POST",
      `https://api.twilio.com/2010-04-01/Accounts/${ACCOUNT}/Calls.json`,
    ]);
    expect(headersOf(r)).toEqual({
      accept: "application/json",
      authorization: basic,
      "content-type": "application/x-www-form-urlencoded",
    });
    expect([...new URLSearchParams(await r.text())]).toEqual([
      ["To", "+15558675310"],
      ["From", "+15017122661"],
      ["StatusCallback", callback],
      ["StatusCallbackEvent", "completed"],
      ["TimeLimit", "300"],
      [
        "Twiml",
        "<Response><Say>Hello Ada, this is &#60;Acme&#62; &#38; co calling.</Say></Response>",
      ],
      ["MachineDetection", "Enable"],
    ]);
  });
});

describe("Twilio webhooks", () => {
  it("verifies Twilio's documented signature example, and refuses it altered", async () => {
    // https://www.twilio.com/docs/usage/webhooks/webhooks-security: auth token 12345, this URL,
    // these parameters, and the signature the page gives.
    const url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const body =
      "CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212";
    const signed = { "x-twilio-signature": "0/KCTR6DLpKmkAf8muzZqo1nDgQ=" };
    const token = { accountSid: ACCOUNT, authToken: "12345" };
    expect(await twilio.inbound?.verify({ ...inbound(body, signed), url }, token)).toEqual({
      ok: true,
    });
    const refused = { ok: false, status: 401, reason: "Invalid signature" };
    const altered = body.replace("Digits=1234", "Digits=1235");
    expect(await twilio.inbound?.verify({ ...inbound(altered, signed), url }, token)).toEqual(
      refused,
    );
    expect(
      await twilio.inbound?.verify({ ...inbound(body, signed), url: `${url}&baz=3` }, token),
    ).toEqual(refused);
    expect(await twilio.inbound?.verify({ ...inbound(body), url }, token)).toEqual(refused);
  });

  it("reads message status callbacks: delivered, undelivered with its error code, queued ignored", async () => {
    const status = (MessageStatus: string, extra: Record<string, string> = {}) =>
      posted({
        SmsSid: "SM1f0e8ae6ade43cb3c0ce4525424e404f",
        SmsStatus: MessageStatus,
        MessageStatus,
        To: "+15558675310",
        MessageSid: "SM1f0e8ae6ade43cb3c0ce4525424e404f",
        AccountSid: ACCOUNT,
        From: "+15017122661",
        ApiVersion: "2010-04-01",
        ...extra,
      });
    const delivered = await status("delivered");
    expect(await twilio.inbound?.verify(delivered, credentials)).toEqual({ ok: true });
    expect(twilio.inbound?.parse(delivered)).toEqual([
      {
        kind: "sms_status",
        providerMessageId: "SM1f0e8ae6ade43cb3c0ce4525424e404f",
        status: "delivered",
      },
    ]);
    expect(twilio.inbound?.parse(await status("undelivered", { ErrorCode: "30003" }))).toEqual([
      {
        kind: "sms_status",
        providerMessageId: "SM1f0e8ae6ade43cb3c0ce4525424e404f",
        status: "undelivered",
        error: "Twilio error 30003",
      },
    ]);
    expect(twilio.inbound?.parse(await status("queued"))).toEqual([{ kind: "ignored" }]);
  });

  it("reads an incoming text as received, with who sent it to which number", async () => {
    const req = await posted({
      ToCountry: "US",
      ToState: "CA",
      SmsMessageSid: "SM5e4e4f2cbd7c0a8f9b7b0c7a4ee1c0b1",
      NumMedia: "0",
      ToCity: "SAN FRANCISCO",
      FromZip: "94105",
      SmsSid: "SM5e4e4f2cbd7c0a8f9b7b0c7a4ee1c0b1",
      FromState: "CA",
      SmsStatus: "received",
      FromCity: "SAN FRANCISCO",
      Body: "STOP",
      FromCountry: "US",
      To: "+15017122661",
      ToZip: "94105",
      NumSegments: "1",
      MessageSid: "SM5e4e4f2cbd7c0a8f9b7b0c7a4ee1c0b1",
      AccountSid: ACCOUNT,
      From: "+15558675310",
      ApiVersion: "2010-04-01",
    });
    expect(await twilio.inbound?.verify(req, credentials)).toEqual({ ok: true });
    expect(twilio.inbound?.parse(req)).toEqual([
      {
        kind: "sms_received",
        providerMessageId: "SM5e4e4f2cbd7c0a8f9b7b0c7a4ee1c0b1",
        from: "+15558675310",
        to: "+15017122661",
        body: "STOP",
      },
    ]);
  });

  it("reads a call's completed status: answered by a machine is voicemail; no-answer is no_answer", async () => {
    const call = (CallStatus: string, extra: Record<string, string>) =>
      posted({
        Called: "+15558675310",
        ToState: "CA",
        CallerCountry: "US",
        Direction: "outbound-api",
        Timestamp: "Thu, 03 Dec 2026 10:00:00 +0000",
        CallbackSource: "call-progress-events",
        SequenceNumber: "0",
        CallSid: "CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        To: "+15558675310",
        ToCountry: "US",
        ApiVersion: "2010-04-01",
        CallStatus,
        From: "+15017122661",
        AccountSid: ACCOUNT,
        Caller: "+15017122661",
        ...extra,
      });
    const voicemail = await call("completed", {
      CallDuration: "42",
      Duration: "1",
      AnsweredBy: "machine_end_beep",
    });
    expect(await twilio.inbound?.verify(voicemail, credentials)).toEqual({ ok: true });
    expect(twilio.inbound?.parse(voicemail)).toEqual([
      {
        kind: "call_ended",
        providerMessageId: "CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        outcome: "voicemail",
        durationSeconds: 42,
      },
    ]);
    expect(
      twilio.inbound?.parse(await call("completed", { CallDuration: "65", AnsweredBy: "human" })),
    ).toEqual([
      {
        kind: "call_ended",
        providerMessageId: "CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        outcome: "answered",
        durationSeconds: 65,
      },
    ]);
    expect(twilio.inbound?.parse(await call("no-answer", { CallDuration: "0" }))).toEqual([
      {
        kind: "call_ended",
        providerMessageId: "CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        outcome: "no_answer",
        durationSeconds: 0,
      },
    ]);
    expect(twilio.inbound?.parse(await call("ringing", {}))).toEqual([{ kind: "ignored" }]);
  });
});
