// Twilio and the voice agent through the Worker: their exact requests, signed status callbacks
// moving enrollments, STOP/START/HELP, and other orgs' connections.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { twilioSignature } from "../../src/providers/twilio";
import { runWatchdog } from "../../src/watchdog";
import { activeWorkflow, call, expectError, newOrg, poll, testLog } from "../helpers/api";
import { DB } from "../helpers/db";
import { enrollment, settle } from "../helpers/enrollments";
import { enroll, waitFor } from "../helpers/outreach";

afterEach(() => vi.restoreAllMocks());

const BASE = "https://nudge.test";

describe("providers: exact requests and signed webhooks", () => {
  /** The provider's requests, read where they are made (bodies cannot cross objects). */
  function intercept(answer: () => Response) {
    const requests: { url: string; method: string; headers: Headers; body: string }[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const req = new Request(input as RequestInfo, init);
      requests.push({
        url: req.url,
        method: req.method,
        headers: req.headers,
        body: await req.text(),
      });
      return answer();
    });
    return requests;
  }
  const json = (body: unknown, status = 200) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

  async function twilioConnection(key: string) {
    const res = await call("POST", "/v1/connections", {
      key,
      body: {
        provider: "twilio",
        credentials: { accountSid: "AC123", authToken: "tok_secret", from: "+15005550006" },
      },
    });
    expect(res.status).toBe(201);
    expect(res.json.key).toBe("twilio");
    return res.json.id as string;
  }

  async function signedPost(path: string, params: Record<string, string>, token = "tok_secret") {
    const form = new URLSearchParams(params);
    const sig = await twilioSignature(token, `${BASE}${path}`, form);
    return call("POST", path, {
      raw: form.toString(),
      headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": sig },
    });
  }

  it("Twilio Messages: the exact request; delivery callbacks verified (valid, altered, missing)", async () => {
    const { key } = await newOrg();
    const cxn = await twilioConnection(key);
    const requests = intercept(() => json({ sid: "SM0001", status: "queued" }, 201));
    const w = await activeWorkflow(key, [
      { id: "t", type: "send_sms", config: { body: "Hi {{ contact.firstName }}" } },
    ]);
    const res = await enroll(
      key,
      w.id,
      { phone: "+14155550150", firstName: "Sid" },
      { bypassCallWindow: true },
    );
    await settle(key, res.json.id);
    await poll(
      async () => requests.length,
      (n) => n === 1,
    );
    const req = requests[0];
    expect(req.url).toBe("https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json");
    expect(req.method).toBe("POST");
    expect(req.headers.get("authorization")).toBe(`Basic ${btoa("AC123:tok_secret")}`);
    expect(req.headers.get("content-type")).toBe("application/x-www-form-urlencoded");
    const form = new URLSearchParams(req.body);
    expect(Object.fromEntries(form)).toEqual({
      To: "+14155550150",
      Body: "Hi Sid",
      StatusCallback: `${BASE}/inbound/twilio/${cxn}`,
      From: "+15005550006",
    });
    const msg = await poll(
      async () => (await enrollment(key, res.json.id)).messages[0],
      (m) => m?.status === "sent",
    );
    expect(msg).toMatchObject({
      channel: "sms",
      provider: "twilio",
      providerMessageId: "SM0001",
      body: "Hi Sid",
    });

    const path = `/inbound/twilio/${cxn}`;
    const delivered = { MessageSid: "SM0001", MessageStatus: "delivered", AccountSid: "AC123" };
    const unsigned = await call("POST", path, {
      raw: new URLSearchParams(delivered).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expectError(unsigned, 401, "unauthorized");
    const form2 = new URLSearchParams(delivered);
    const sig = await twilioSignature("tok_secret", `${BASE}${path}`, form2);
    form2.set("MessageStatus", "failed"); // altered after signing
    expectError(
      await call("POST", path, {
        raw: form2.toString(),
        headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": sig },
      }),
      401,
      "unauthorized",
    );
    const ok = await signedPost(path, delivered);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toContain("text/xml");
    expect(ok.text).toContain("<Response>");
    const after = await call("GET", `/v1/messages/${msg.id}`, { key });
    expect(after.json.status).toBe("delivered");
  });

  it("Twilio Calls: the exact request; the status callback's outcome moves the enrollment", async () => {
    const { key } = await newOrg();
    const cxn = await twilioConnection(key);
    const requests = intercept(() => json({ sid: "CA0001", status: "queued" }, 201));
    const w = await activeWorkflow(
      key,
      [
        {
          id: "c",
          type: "call",
          config: { script: "Hi <{{ contact.firstName }}>", maxDurationSeconds: 120 },
        },
        { id: "vm", type: "log", config: { message: "voicemail" } },
        { id: "ok", type: "log", config: { message: "answered" } },
      ],
      {
        transitions: [
          { from: "c", to: "vm", on: "voicemail" },
          { from: "c", to: "ok", on: "answered" },
        ],
      },
    );
    const res = await enroll(
      key,
      w.id,
      { phone: "+14155550151", firstName: "Cal" },
      { bypassCallWindow: true },
    );
    const id = res.json.id;
    await settle(key, id);
    await poll(
      async () => requests.length,
      (n) => n === 1,
    );
    expect(requests[0].url).toBe("https://api.twilio.com/2010-04-01/Accounts/AC123/Calls.json");
    const form = Object.fromEntries(new URLSearchParams(requests[0].body));
    expect(form).toEqual({
      To: "+14155550151",
      From: "+15005550006",
      StatusCallback: `${BASE}/inbound/twilio/${cxn}`,
      StatusCallbackEvent: "completed",
      TimeLimit: "120",
      Twiml: "<Response><Say>Hi &#60;Cal&#62;</Say></Response>",
      MachineDetection: "Enable",
    });
    await poll(
      async () => (await enrollment(key, id)).messages[0]?.providerMessageId,
      (v) => v === "CA0001",
    );
    // Ringing is not an outcome; a completed call answered by a machine is voicemail.
    await signedPost(`/inbound/twilio/${cxn}`, { CallSid: "CA0001", CallStatus: "ringing" });
    expect((await enrollment(key, id)).status).toBe("waiting");
    const r = await signedPost(`/inbound/twilio/${cxn}`, {
      CallSid: "CA0001",
      CallStatus: "completed",
      AnsweredBy: "machine_end_beep",
      CallDuration: "31",
    });
    expect(r.status).toBe(200);
    const done = await waitFor(key, id, (e) => e.status === "completed");
    expect(done.currentStepId).toBe("vm");
    expect(done.messages[0]).toMatchObject({ outcome: "voicemail", durationSeconds: 31 });
    // The provider's retry of the same callback changes nothing.
    expect(
      (
        await signedPost(`/inbound/twilio/${cxn}`, {
          CallSid: "CA0001",
          CallStatus: "completed",
          AnsweredBy: "machine_end_beep",
          CallDuration: "31",
        })
      ).status,
    ).toBe(200);
  });

  it("the voice agent: the exact call request; the end-of-call report gives outcome and summary", async () => {
    const { key } = await newOrg();
    const cx = await call("POST", "/v1/connections", {
      key,
      body: {
        provider: "vapi",
        credentials: {
          apiKey: "vk_live",
          phoneNumberId: "pn_1",
          webhookSecret: "vapi-shared-secret",
        },
      },
    });
    expect(cx.status).toBe(201);
    const requests = intercept(() => json({ id: "call_42", status: "queued" }, 201));
    const w = await activeWorkflow(key, [
      {
        id: "ai",
        type: "call",
        config: {
          agent: { assistantId: "asst_1", variables: { offer: "20% off" } },
          script: "Hi {{ contact.firstName }}!",
        },
      },
    ]);
    const res = await enroll(
      key,
      w.id,
      { phone: "+14155550152", firstName: "Vi" },
      { bypassCallWindow: true, variables: { company: "Initech" } },
    );
    const id = res.json.id;
    await settle(key, id);
    await poll(
      async () => requests.length,
      (n) => n === 1,
    );
    const req = requests[0];
    expect(req.url).toBe("https://api.vapi.ai/call");
    expect(req.headers.get("authorization")).toBe("Bearer vk_live");
    const messageId = (await poll(
      async () => (await enrollment(key, id)).messages[0]?.id,
      (v) => typeof v === "string",
    )) as string;
    expect(JSON.parse(req.body)).toEqual({
      assistantId: "asst_1",
      phoneNumberId: "pn_1",
      customer: { number: "+14155550152" },
      assistantOverrides: {
        variableValues: { firstName: "Vi", lastName: null, company: "Initech", offer: "20% off" },
        firstMessage: "Hi Vi!",
        maxDurationSeconds: 600,
        server: { url: `${BASE}/inbound/vapi/${cx.json.id}`, secret: "vapi-shared-secret" },
      },
      metadata: { nudgeMessageId: messageId },
    });
    const report = {
      message: {
        type: "end-of-call-report",
        endedReason: "customer-ended-call",
        durationSeconds: 93.4,
        summary: "Interested; wants a follow-up next week.",
        call: { id: "call_42", metadata: { nudgeMessageId: messageId } },
      },
    };
    expectError(
      await call("POST", `/inbound/vapi/${cx.json.id}`, {
        body: report,
        headers: { "x-vapi-secret": "wrong" },
      }),
      401,
      "unauthorized",
    );
    const ok = await call("POST", `/inbound/vapi/${cx.json.id}`, {
      body: report,
      headers: { "x-vapi-secret": "vapi-shared-secret" },
    });
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ received: 1, applied: 1 });
    const done = await waitFor(key, id, (e) => e.status === "completed");
    expect(done.messages[0]).toMatchObject({
      outcome: "answered",
      durationSeconds: 93,
      summary: "Interested; wants a follow-up next week.",
    });
    expect(
      done.timeline.find(
        (l: { stepId: string; status: string }) => l.stepId === "ai" && l.status === "completed",
      ).outcome,
    ).toBe("answered");
  });

  it("STOP, START and HELP from the contact's phone", async () => {
    const { key } = await newOrg();
    const cxn = await twilioConnection(key);
    const contact = (
      await call("POST", "/v1/contacts", { key, body: { phone: "+14155550153", name: "Stu Pot" } })
    ).json;
    expect(contact).toMatchObject({ firstName: "Stu", lastName: "Pot", smsSubscribed: true });
    const inbound = (Body: string, sid: string) =>
      signedPost(`/inbound/twilio/${cxn}`, {
        MessageSid: sid,
        SmsStatus: "received",
        From: "+14155550153",
        To: "+15005550006",
        Body,
      });
    await inbound("stop please", "SMin1");
    expect((await call("GET", `/v1/contacts/${contact.id}`, { key })).json.smsSubscribed).toBe(
      false,
    );
    // An SMS step skips the contact now, as suppressed.
    const w = await activeWorkflow(key, [{ id: "t", type: "send_sms", config: { body: "Sale!" } }]);
    const e = await call("POST", "/v1/enrollments", {
      key,
      body: { workflowId: w.id, contactId: contact.id, bypassCallWindow: true },
    });
    const done = await settle(key, e.json.id);
    expect(done.status).toBe("completed");
    expect(
      done.timeline.find(
        (l: { stepId: string; status: string }) => l.stepId === "t" && l.status === "skipped",
      ),
    ).toMatchObject({
      outcome: "suppressed",
      message: "Not sent: the contact unsubscribed from SMS",
    });
    const help = await inbound("HELP", "SMin2");
    expect(help.text).toContain("<Message>Reply STOP to unsubscribe");
    await inbound("START", "SMin3");
    expect((await call("GET", `/v1/contacts/${contact.id}`, { key })).json.smsSubscribed).toBe(
      true,
    );
    const events = (await call("GET", `/v1/contacts/${contact.id}/events`, { key })).json.data;
    expect(
      events
        .filter((x: { name: string }) => x.name === "sms.received")
        .map((x: any) => x.data.keyword)
        .sort(),
    ).toEqual(["help", "start", "stop"]);
  });

  it("a STOP replayed after 31 days and a watchdog run changes nothing; the connection's end forgets it", async () => {
    const { key } = await newOrg();
    const cxn = await twilioConnection(key);
    const contact = (
      await call("POST", "/v1/contacts", { key, body: { phone: "+14155550154", name: "Re Play" } })
    ).json;
    const text = (Body: string, sid: string) =>
      signedPost(`/inbound/twilio/${cxn}`, {
        MessageSid: sid,
        SmsStatus: "received",
        From: "+14155550154",
        To: "+15005550006",
        Body,
      });
    const subscribed = async () =>
      (await call("GET", `/v1/contacts/${contact.id}`, { key })).json.smsSubscribed;
    await text("STOP", "SMold-stop");
    expect(await subscribed()).toBe(false);
    await text("START", "SMnew-start");
    expect(await subscribed()).toBe(true);
    // A month on: every id of this connection is 31 days old, and the watchdog prunes.
    await DB.prepare("UPDATE inbound_events SET received_at = ? WHERE connection_id = ?")
      .bind(Date.now() - 31 * 86_400_000, cxn)
      .run();
    await runWatchdog(env, testLog);
    // The captured STOP, signature and all, sent again.
    const replay = await text("STOP", "SMold-stop");
    expect(replay.status).toBe(200);
    expect(await subscribed()).toBe(true);
    // Once the connection is deleted its webhooks are 404s, and what it remembered goes.
    expect((await call("DELETE", `/v1/connections/${cxn}`, { key })).status).toBe(204);
    await runWatchdog(env, testLog);
    const left = await DB.prepare(
      "SELECT count(*) AS n FROM inbound_events WHERE connection_id = ?",
    )
      .bind(cxn)
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
  });

  it("another org's connection id answers 404 for phone webhooks; an email provider path stays its own", async () => {
    const { key } = await newOrg();
    const cxn = await twilioConnection(key);
    expectError(await call("POST", `/inbound/vapi/${cxn}`, { body: {} }), 404, "not_found");
    expectError(
      await call("POST", "/inbound/twilio/cxn_01NOPE", {
        raw: "a=b",
        headers: { "content-type": "application/x-www-form-urlencoded" },
      }),
      404,
      "not_found",
    );
  });
});
