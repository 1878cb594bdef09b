// Outreach beyond email: SMS, calls and tasks as steps, through the outbox and the providers'
// exact requests and signed webhooks; phone-first contacts, call windows, required variables.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { twilioSignature } from "../../src/providers/twilio";
import { runWatchdog } from "../../src/watchdog";
import { activeWorkflow, call, expectError, newOrg, poll, testLog } from "../helpers/api";
import { enrollment, expireWait, settle } from "../helpers/enrollments";

afterEach(() => vi.restoreAllMocks());

const BASE = "https://nudge.test";

async function enroll(key: string, workflowId: string, contact: object, extra: object = {}) {
  return call("POST", "/v1/enrollments", { key, body: { workflowId, contact, ...extra } });
}

const outbox = async (key: string, channel: string, to?: string) =>
  (
    await call("GET", `/v1/outbox?channel=${channel}${to ? `&to=${encodeURIComponent(to)}` : ""}`, {
      key,
    })
  ).json.data as {
    id: string;
    channel: string;
    to: string;
    text: string;
    outcome: string | null;
    messageId: string;
  }[];

const waitFor = (key: string, id: string, until: (e: any) => boolean) =>
  poll(() => enrollment(key, id), until);

/** The sales sequence of the issue: email → wait 2 days → call → if no answer, SMS → task. */
const salesSteps = [
  {
    id: "intro",
    type: "send_email",
    config: { subject: "Hi {{ contact.firstName }}", html: "<p>Quick question</p>" },
  },
  { id: "wait", type: "delay", config: { amount: 2, unit: "days" } },
  {
    id: "ring",
    type: "call",
    config: { script: "Hello {{ contact.firstName }}, this is Acme calling." },
  },
  {
    id: "text",
    type: "send_sms",
    config: { body: "Sorry we missed you, {{ contact.firstName }}!" },
  },
  {
    id: "rep",
    type: "task",
    config: {
      taskType: "call",
      title: "Call {{ contact.firstName }} back",
      instructions: "They did not answer; the SMS went out.",
      assignee: "sam@acme.test",
      dueIn: 86_400,
      outcomes: ["connected", "not_interested"],
    },
  },
  { id: "won", type: "log", config: { message: "Connected" } },
];
const salesTransitions = [
  { from: "intro", to: "wait" },
  { from: "wait", to: "ring" },
  { from: "ring", to: "text", on: "no_answer" },
  { from: "ring", to: "won", on: "answered" },
  { from: "text", to: "rep" },
  { from: "rep", to: "won", on: "connected" },
];

describe("the sales sequence on the outbox", () => {
  it("email → 2 days → call (no answer, recorded by hand) → SMS → task completed", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, salesSteps, { transitions: salesTransitions });
    const res = await enroll(
      key,
      w.id,
      { email: "pat@prospect.test", phone: "+14155550142", name: "Pat Prospect" },
      { bypassCallWindow: true },
    );
    expect(res.status).toBe(201);
    expect(res.json.bypassCallWindow).toBe(true);
    const id = res.json.id;
    expect(await settle(key, id)).toMatchObject({ status: "waiting", currentStepId: "wait" });
    expect(await expireWait(id)).toBe(true); // the two days pass

    const [placed] = await poll(
      () => outbox(key, "call"),
      (o) => o.length === 1,
    );
    expect(placed).toMatchObject({
      channel: "call",
      to: "+14155550142",
      text: "Hello Pat, this is Acme calling.",
      outcome: null,
    });
    const ringing = await waitFor(key, id, (e) => e.currentStepId === "ring");
    expect(ringing.status).toBe("waiting");

    const rec = await call("POST", `/v1/outbox/${placed.id}/outcome`, {
      key,
      body: { outcome: "no_answer" },
    });
    expect(rec.status).toBe(200);
    expect(rec.json).toMatchObject({ channel: "call", outcome: "no_answer" });
    // The same outcome again is harmless; another one is refused.
    expect(
      (
        await call("POST", `/v1/outbox/${placed.id}/outcome`, {
          key,
          body: { outcome: "no_answer" },
        })
      ).status,
    ).toBe(200);
    expectError(
      await call("POST", `/v1/outbox/${placed.id}/outcome`, { key, body: { outcome: "answered" } }),
      409,
      "conflict",
    );

    const [sms] = await poll(
      () => outbox(key, "sms"),
      (o) => o.length === 1,
    );
    expect(sms).toMatchObject({ to: "+14155550142", text: "Sorry we missed you, Pat!" });
    expectError(
      await call("POST", `/v1/outbox/${sms.id}/outcome`, { key, body: { outcome: "answered" } }),
      422,
      "validation_failed",
    );

    const tasks = await poll(
      async () => (await call("GET", "/v1/tasks?status=open", { key })).json.data,
      (d: any[]) => d.length === 1,
    );
    expect(tasks[0]).toMatchObject({
      taskType: "call",
      title: "Call Pat back",
      assignee: "sam@acme.test",
      status: "open",
      outcomes: ["connected", "not_interested"],
      enrollmentId: id,
      stepId: "rep",
    });
    expectError(
      await call("POST", `/v1/tasks/${tasks[0].id}/complete`, { key, body: { outcome: "maybe" } }),
      422,
      "invalid_outcome",
    );
    const done = await call("POST", `/v1/tasks/${tasks[0].id}/complete`, {
      key,
      body: { outcome: "connected", note: "Demo booked" },
    });
    expect(done.status).toBe(200);
    expect(done.json).toMatchObject({
      status: "completed",
      outcome: "connected",
      note: "Demo booked",
    });
    // A retry of the same completion answers the task; a skip after it is refused.
    expect(
      (
        await call("POST", `/v1/tasks/${tasks[0].id}/complete`, {
          key,
          body: { outcome: "connected" },
        })
      ).status,
    ).toBe(200);
    expectError(
      await call("POST", `/v1/tasks/${tasks[0].id}/skip`, { key, body: {} }),
      409,
      "task_closed",
    );

    const finished = await waitFor(key, id, (e) => e.status === "completed");
    const path = finished.timeline
      .filter((l: { status: string }) => l.status === "completed" || l.status === "skipped")
      .map((l: { stepId: string; outcome?: string }) => `${l.stepId}:${l.outcome ?? ""}`);
    expect(path).toEqual([
      "intro:sent",
      "wait:done",
      "ring:no_answer",
      "text:sent",
      "rep:connected",
      "won:done",
    ]);
    const channels = (
      await poll(
        () => enrollment(key, id),
        (e) => e.messages.length === 3,
      )
    ).messages.map((m: { channel: string }) => m.channel);
    expect(channels.sort()).toEqual(["call", "email", "sms"]);

    const stats = (await call("GET", `/v1/workflows/${w.id}/stats`, { key })).json.steps;
    const of = (id: string) => stats.find((s: { stepId: string }) => s.stepId === id);
    expect(of("ring").calls).toMatchObject({ placed: 1, pending: 0, no_answer: 1, answered: 0 });
    expect(of("text").sms).toMatchObject({ sent: 1, delivered: 0, failed: 0 });
    expect(of("rep").tasks).toEqual({
      open: 0,
      completed: 1,
      skipped: 0,
      expired: 0,
      byOutcome: { connected: 1 },
    });
    const metrics = await call(
      "GET",
      "/v1/analytics/metrics?metrics=callsPlaced,callsNoAnswer,smsSent,tasksCreated,tasksCompleted",
      { key },
    );
    expect(metrics.status).toBe(200);
    expect(metrics.json.totals).toMatchObject({
      callsPlaced: 1,
      callsNoAnswer: 1,
      smsSent: 1,
      tasksCreated: 1,
      tasksCompleted: 1,
    });
  });

  it("an answered call takes its own branch; a dry run shows what each channel would do", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, salesSteps, { transitions: salesTransitions });
    const test = await call("POST", `/v1/workflows/${w.id}/test`, {
      key,
      body: { startAt: "2026-03-10T15:00:00Z", timezone: "America/New_York" },
    });
    expect(test.status).toBe(200);
    const messages = test.json.trace.map((t: { message: string }) => t.message);
    expect(messages).toContain("[test] Would call +14155552671");
    const res = await enroll(
      key,
      w.id,
      { phone: "+14155550143", firstName: "Ann" },
      { bypassCallWindow: true },
    );
    const id = res.json.id;
    await settle(key, id);
    await expireWait(id);
    const [placed] = await poll(
      () => outbox(key, "call", "+14155550143"),
      (o) => o.length === 1,
    );
    await call("POST", `/v1/outbox/${placed.id}/outcome`, { key, body: { outcome: "answered" } });
    const done = await waitFor(key, id, (e) => e.status === "completed");
    expect(done.currentStepId).toBe("won");
    expect(await outbox(key, "sms", "+14155550143")).toEqual([]);
  });
});

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

describe("windows, contacts and variables", () => {
  it("SMS waits for the call window (default 08:00–21:00 local); email keeps its own window", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [{ id: "t", type: "send_sms", config: { body: "Hello" } }]);
    // A zone where it is now between 21:00 and 08:00.
    const hour = new Date().getUTCHours();
    let offset = (2 - hour + 24) % 24; // local 02:xx at UTC+offset
    if (offset > 12) {
      offset -= 24;
    }
    // Etc/GMT zones name the offset with the opposite sign (Etc/GMT-3 is UTC+3).
    const zone = `Etc/GMT${offset > 0 ? "-" : "+"}${Math.abs(offset)}`;
    const res = await enroll(key, w.id, { phone: "+14155550160", timezone: zone });
    const waiting = await settle(key, res.json.id);
    expect(waiting.status).toBe("waiting");
    const opens = Date.parse(waiting.nextRunAt);
    expect(
      new Intl.DateTimeFormat("en-GB", {
        timeZone: zone,
        hour: "2-digit",
        minute: "2-digit",
      }).format(opens),
    ).toBe("08:00");
    expect(await outbox(key, "sms")).toEqual([]);
    // A window outside 08:00–21:00 is refused at save.
    expectError(
      await call("PATCH", `/v1/workflows/${w.id}`, {
        key,
        body: { callWindow: { days: ["mon"], start: "07:00", end: "20:00" } },
      }),
      422,
      "validation_failed",
    );
    const ok = await call("PATCH", `/v1/workflows/${w.id}`, {
      key,
      body: { callWindow: { days: ["mon", "tue"], start: "10:00", end: "16:00" } },
    });
    expect(ok.status).toBe(200);
    expect(ok.json.callWindow).toEqual({ days: ["mon", "tue"], start: "10:00", end: "16:00" });
  });

  it("a contact known by phone alone: unique per org, found again by its phone, name split", async () => {
    const { key } = await newOrg();
    const a = await call("POST", "/v1/contacts", {
      key,
      body: { phone: "+442071838750", name: "Ada King Lovelace" },
    });
    expect(a.status).toBe(201);
    expect(a.json).toMatchObject({ email: null, firstName: "Ada", lastName: "King Lovelace" });
    const again = await call("POST", "/v1/contacts", {
      key,
      body: { phone: "+442071838750", data: { x: 1 } },
    });
    expect(again.status).toBe(200);
    expect(again.json.id).toBe(a.json.id);
    // Given names win over the split.
    const b = await call("POST", "/v1/contacts", {
      key,
      body: { phone: "+14155550170", name: "Bo Diddley", firstName: "Ellas" },
    });
    expect(b.json).toMatchObject({ firstName: "Ellas", lastName: "Diddley" });
    // Another contact cannot take that phone.
    expectError(
      await call("POST", "/v1/contacts", {
        key,
        body: { email: "c@x.test", phone: "+14155550170" },
      }),
      409,
      "conflict",
    );
    expectError(
      await call("POST", "/v1/contacts", { key, body: { firstName: "Nobody" } }),
      422,
      "validation_failed",
    );
    // Enrolling by phone finds the same contact; its zone comes from the number.
    const w = await activeWorkflow(key, [{ id: "l", type: "log", config: { message: "hi" } }]);
    const e = await enroll(key, w.id, { phone: "+442071838750" });
    expect(e.status).toBe(201);
    expect(e.json.contactId).toBe(a.json.id);
    expect(e.json.timezone).toBe("Europe/London");
    // Another org may have the same phone.
    const other = await newOrg("Other");
    expect(
      (await call("POST", "/v1/contacts", { key: other.key, body: { phone: "+442071838750" } }))
        .status,
    ).toBe(201);
  });

  it("requiredVariables: 422 missing_variables naming them; bulk rows invalid", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [{ id: "l", type: "log", config: { message: "hi" } }], {
      requiredVariables: ["company", "account_id"],
    });
    expect(w).toMatchObject({ requiredVariables: ["company", "account_id"] });
    const missing = await enroll(
      key,
      w.id,
      { email: "rv@x.test" },
      { variables: { company: "Acme", account_id: "" } },
    );
    expectError(missing, 422, "missing_variables");
    expect(missing.json.message).toContain("account_id");
    expect(missing.json.details).toEqual([{ path: "variables.account_id", message: "Required" }]);
    const ok = await enroll(
      key,
      w.id,
      { email: "rv@x.test" },
      { variables: { company: "Acme", account_id: 7 } },
    );
    expect(ok.status).toBe(201);
    const bulk = await call("POST", "/v1/enrollments/bulk", {
      key,
      body: {
        workflowId: w.id,
        contacts: [{ email: "rv2@x.test" }],
        variables: { company: "Acme" },
      },
    });
    expectError(bulk, 422, "no_enrollments_created");
    expect(bulk.json.results[0]).toMatchObject({ status: "invalid" });
    expect(bulk.json.results[0].reason).toContain("account_id");
  });

  it("a contact without a phone: SMS and call steps are suppressed", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [
      { id: "t", type: "send_sms", config: { body: "x" } },
      { id: "c", type: "call", config: { script: "x" } },
    ]);
    const e = await enroll(key, w.id, { email: "nophone@x.test" }, { bypassCallWindow: true });
    const done = await settle(key, e.json.id);
    expect(done.status).toBe("completed");
    expect(
      done.timeline
        .filter((l: { status: string }) => l.status === "skipped")
        .map((l: { outcome: string }) => l.outcome),
    ).toEqual(["suppressed", "suppressed"]);
  });
});

describe("consent per channel", () => {
  it("an email bounce suppresses email only: the same contact still gets its SMS", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [
      { id: "m", type: "send_email", config: { subject: "Hi", html: "<p>Hi</p>" } },
      { id: "t", type: "send_sms", config: { body: "Hi by text" } },
    ]);
    const c = (
      await call("POST", "/v1/contacts", {
        key,
        body: { email: "bounced@x.test", phone: "+14155550179" },
      })
    ).json;
    await env.DB.prepare("update contacts set suppressed = 'bounced' where id = ?")
      .bind(c.id)
      .run();
    const e = await call("POST", "/v1/enrollments", {
      key,
      body: { workflowId: w.id, contactId: c.id, bypassCallWindow: true },
    });
    const done = await settle(key, e.json.id);
    expect(
      done.timeline
        .filter((l: { status: string }) => l.status === "completed" || l.status === "skipped")
        .map((l: { stepId: string; outcome: string }) => `${l.stepId}:${l.outcome}`),
    ).toEqual(["m:suppressed", "t:sent"]);
    await poll(
      () => outbox(key, "sms", "+14155550179"),
      (o) => o.length === 1,
    );
  });
});

describe("tasks", () => {
  it("lists by filters, skips, and expires past due (the step takes timeout)", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(
      key,
      [
        {
          id: "li",
          type: "task",
          config: {
            taskType: "linkedin",
            title: "Connect with {{ contact.firstName }}",
            dueIn: 3600,
            assignee: "ana",
          },
        },
        { id: "late", type: "log", config: { message: "expired" } },
        { id: "skip", type: "log", config: { message: "skipped" } },
      ],
      {
        transitions: [
          { from: "li", to: "late", on: "timeout" },
          { from: "li", to: "skip", on: "skipped" },
        ],
      },
    );
    const one = (await enroll(key, w.id, { email: "t1@x.test", firstName: "Tia" })).json.id;
    const two = (await enroll(key, w.id, { email: "t2@x.test", firstName: "Tom" })).json.id;
    await settle(key, one);
    await settle(key, two);
    const list = await poll(
      async () =>
        (await call("GET", "/v1/tasks?taskType=linkedin&assignee=ana", { key })).json.data,
      (d: any[]) => d.length === 2,
    );
    const byEnrollment = (id: string) =>
      list.find((t: { enrollmentId: string }) => t.enrollmentId === id);
    expect((await call("GET", "/v1/tasks?assignee=bob", { key })).json.data).toEqual([]);
    expect((await call("GET", `/v1/tasks/${byEnrollment(one).id}`, { key })).json.title).toBe(
      "Connect with Tia",
    );
    const skipped = await call("POST", `/v1/tasks/${byEnrollment(one).id}/skip`, {
      key,
      body: { note: "no profile" },
    });
    expect(skipped.json).toMatchObject({ status: "skipped", outcome: "skipped" });
    expect((await waitFor(key, one, (e) => e.status === "completed")).currentStepId).toBe("skip");
    // The other expires: its due time passes.
    await expireWait(two);
    expect((await waitFor(key, two, (e) => e.status === "completed")).currentStepId).toBe("late");
    await env.DB.prepare("update tasks set due_at = ? where id = ?")
      .bind(Date.now() - 1, byEnrollment(two).id)
      .run();
    const expired = await call("GET", `/v1/tasks/${byEnrollment(two).id}`, { key });
    expect(expired.json).toMatchObject({ status: "expired", outcome: "timeout" });
    expect(
      (await call("GET", "/v1/tasks?status=expired", { key })).json.data.map(
        (t: { id: string }) => t.id,
      ),
    ).toEqual([byEnrollment(two).id]);
    expectError(
      await call("POST", `/v1/tasks/${byEnrollment(two).id}/complete`, { key, body: {} }),
      409,
      "task_closed",
    );
    // Another org sees none of them.
    const other = await newOrg("Other");
    expectError(
      await call("GET", `/v1/tasks/${byEnrollment(two).id}`, { key: other.key }),
      404,
      "not_found",
    );
  });
});

describe("erasure", () => {
  it("erasing a contact clears its texts, call scripts and task titles (rendered from its fields)", async () => {
    const { key } = await newOrg();
    const w = await activeWorkflow(key, [
      { id: "t", type: "send_sms", config: { body: "Hi {{ contact.firstName }}" } },
      {
        id: "k",
        type: "task",
        config: { taskType: "custom", title: "Visit {{ contact.firstName }}", dueIn: 3600 },
      },
    ]);
    const e = await enroll(
      key,
      w.id,
      { phone: "+14155550177", firstName: "Erin" },
      { bypassCallWindow: true },
    );
    const [task] = await poll(
      async () => (await call("GET", "/v1/tasks", { key })).json.data,
      (d: any[]) => d.length === 1,
    );
    expect(task.title).toBe("Visit Erin");
    const [msg] = await poll(
      async () => (await enrollment(key, e.json.id)).messages,
      (m: any[]) => m[0]?.status === "sent",
    );
    expect(msg.body).toBe("Hi Erin");
    expect((await call("DELETE", `/v1/contacts/${e.json.contactId}`, { key })).status).toBe(204);
    expect((await call("GET", `/v1/tasks/${task.id}`, { key })).json).toMatchObject({
      title: "(erased)",
      instructions: null,
    });
    expect((await call("GET", `/v1/messages/${msg.id}`, { key })).json).toMatchObject({
      to: "",
      body: null,
    });
    expect(await outbox(key, "sms")).toEqual([]);
  });

  it("a CSV import takes a full name and a phone as the contact's identity", async () => {
    const { key } = await newOrg();
    const csv = "phone,name,company\n+14155550178,Grace Brewster Hopper,Navy\n";
    const res = await call("POST", "/v1/imports", {
      key,
      raw: csv,
      headers: { "content-type": "text/csv" },
    });
    expect(res.status).toBe(202);
    await poll(
      async () => (await call("GET", `/v1/imports/${res.json.id}`, { key })).json.status,
      (s) => s === "completed",
    );
    const list = (await call("GET", "/v1/contacts", { key })).json.data;
    expect(list[0]).toMatchObject({
      phone: "+14155550178",
      firstName: "Grace",
      lastName: "Brewster Hopper",
      data: { company: "Navy" },
    });
  });
});

describe("contact chaining (groupBy)", () => {
  const chainFlow = (key: string) =>
    activeWorkflow(key, [
      { id: "ring", type: "call", config: { script: "Hi {{ contact.firstName }}" } },
    ]);
  const link = (key: string, workflowId: string, phone: string, account = "acme") =>
    enroll(
      key,
      workflowId,
      { phone, firstName: phone.slice(-2) },
      { bypassCallWindow: true, groupBy: "account", variables: { account } },
    );
  const chainOf = async (key: string, chainKey: string) =>
    (
      (await call("GET", `/v1/enrollments?chainKey=${chainKey}`, { key })).json.data as {
        id: string;
        status: string;
        exitReason: string | null;
        chain: { key: string; position: number; state: string };
      }[]
    ).sort((a, b) => a.chain.position - b.chain.position);
  const callTo = (key: string, phone: string) =>
    poll(
      () => outbox(key, "call", phone),
      (o) => o.length === 1,
    ).then((o) => o[0]);

  it("three contacts: no answer → the next is called; answered → the rest end chain_satisfied", async () => {
    const { key } = await newOrg();
    const w = await chainFlow(key);
    const a = await link(key, w.id, "+14155550181");
    const b = await link(key, w.id, "+14155550182");
    const c = await link(key, w.id, "+14155550183");
    expect([a.status, b.status, c.status]).toEqual([201, 201, 201]);
    expect(a.json.chain).toEqual({ key: "acme", position: 1, state: "active" });
    expect(b.json.chain).toEqual({ key: "acme", position: 2, state: "pending" });
    expect(c.json).toMatchObject({
      status: "waiting",
      nextRunAt: null,
      chain: { position: 3, state: "pending" },
    });
    // Only the first is called.
    const first = await callTo(key, "+14155550181");
    expect(await outbox(key, "call", "+14155550182")).toEqual([]);

    await call("POST", `/v1/outbox/${first.id}/outcome`, { key, body: { outcome: "no_answer" } });
    const second = await callTo(key, "+14155550182");
    let chain = await poll(
      () => chainOf(key, "acme"),
      (l) => l[0].chain.state === "ended" && l[1].chain.state === "active",
    );
    expect(chain.map((l) => l.chain.state)).toEqual(["ended", "active", "pending"]);

    await call("POST", `/v1/outbox/${second.id}/outcome`, { key, body: { outcome: "answered" } });
    chain = await poll(
      () => chainOf(key, "acme"),
      (l) => l[2].status === "cancelled" && l[1].chain.state === "succeeded",
    );
    expect(chain.map((l) => [l.chain.state, l.status, l.exitReason])).toEqual([
      ["ended", "completed", "completed"],
      ["succeeded", "completed", "completed"],
      ["cancelled", "cancelled", "chain_satisfied"],
    ]);
    expect(await outbox(key, "call", "+14155550183")).toEqual([]);
    // A contact added to a satisfied chain ends at once; another chain is its own.
    const late = await link(key, w.id, "+14155550184");
    expect(late.json).toMatchObject({
      status: "cancelled",
      exitReason: "chain_satisfied",
      chain: { position: 4, state: "cancelled" },
    });
    const other = await link(key, w.id, "+14155550185", "initech");
    expect(other.json.chain).toEqual({ key: "initech", position: 1, state: "active" });
  });

  it("concurrent enrollments into one chain: exactly one link runs", async () => {
    const { key } = await newOrg();
    const w = await chainFlow(key);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => link(key, w.id, `+1415555019${i}`, "race")),
    );
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(201));
    const states = results.map((r) => r.json.chain.state);
    expect(states.filter((s) => s === "active")).toHaveLength(1);
    expect(states.filter((s) => s === "pending")).toHaveLength(7);
    expect(results.map((r) => r.json.chain.position).sort((x, y) => x - y)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8,
    ]);
    await poll(
      () => outbox(key, "call"),
      (o) => o.length === 1,
    );
    expect(await outbox(key, "call")).toHaveLength(1);
    // Missing the grouping variable is refused.
    const missing = await enroll(key, w.id, { phone: "+14155550199" }, { groupBy: "account" });
    expectError(missing, 422, "missing_variables");
  });

  it("a lost hand-over: the watchdog starts the next link", async () => {
    const { key } = await newOrg();
    const w = await chainFlow(key);
    await link(key, w.id, "+14155550186", "lost");
    await link(key, w.id, "+14155550187", "lost");
    const first = await callTo(key, "+14155550186");
    // The object's hand-over fails (D1 refuses its chain statements) ...
    const batch = env.DB.batch.bind(env.DB);
    const spy = vi.spyOn(env.DB, "batch").mockImplementation(async (stmts) => {
      if (
        stmts.some((s) => String((s as { statement?: string }).statement).includes("chain_state"))
      ) {
        throw new Error("D1 unavailable");
      }
      return batch(stmts);
    });
    await call("POST", `/v1/outbox/${first.id}/outcome`, { key, body: { outcome: "busy" } });
    await poll(
      () => chainOf(key, "lost"),
      (l) => l[0].status === "completed",
    );
    spy.mockRestore();
    expect((await chainOf(key, "lost")).map((l) => l.chain.state)).toEqual(["active", "pending"]);
    expect(await outbox(key, "call", "+14155550187")).toEqual([]);
    // ... and the watchdog, a minute later, hands it on.
    const report = await runWatchdog(env, testLog, Date.now() + 60_000);
    expect(report.chainsHandedOn).toBe(1);
    await callTo(key, "+14155550187");
    expect((await chainOf(key, "lost")).map((l) => l.chain.state)).toEqual(["ended", "active"]);
  });
});
