// Every opt-out word carriers define (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT) and every
// opt-in word (START, YES, UNSTOP), in any case and spacing, texted to the org's Twilio number
// through the signed inbound webhook, moves the contact's smsSubscribed; other words do not.
import { describe, expect, it } from "vitest";
import { twilioSignature } from "../../src/providers/twilio";
import { call, newOrg } from "../helpers/api";

const BASE = "https://nudge.test";
const PHONE = "+14155550181";

const STOPS = [
  "STOP",
  "stop",
  "  Stop  ",
  "STOPALL",
  "stopall",
  "UNSUBSCRIBE",
  "Unsubscribe",
  "CANCEL",
  "cancel",
  "END",
  "end",
  "QUIT",
  "Quit.",
  "stop please",
];
const STARTS = ["START", "start", " Start ", "YES", "yes", "UNSTOP", "Unstop"];

async function setup() {
  const { key } = await newOrg();
  const cxn = await call("POST", "/v1/connections", {
    key,
    body: {
      provider: "twilio",
      credentials: { accountSid: "AC123", authToken: "tok_secret", from: "+15005550006" },
    },
  });
  expect(cxn.status, cxn.text).toBe(201);
  const contact = await call("POST", "/v1/contacts", { key, body: { phone: PHONE, name: "Sam" } });
  expect(contact.json.smsSubscribed).toBe(true);
  let n = 0;
  const text = async (Body: string) => {
    const path = `/inbound/twilio/${cxn.json.id}`;
    const form = new URLSearchParams({
      MessageSid: `SMkw${++n}`,
      SmsStatus: "received",
      From: PHONE,
      To: "+15005550006",
      Body,
    });
    const res = await call("POST", path, {
      raw: form.toString(),
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": await twilioSignature("tok_secret", `${BASE}${path}`, form),
      },
    });
    expect(res.status, res.text).toBe(200);
  };
  const subscribed = async () =>
    (await call("GET", `/v1/contacts/${contact.json.id}`, { key })).json.smsSubscribed as boolean;
  return { text, subscribed };
}

describe("SMS opt-out and opt-in words", () => {
  // A connection per word: the inbound limiter allows a connection 20 requests a minute here.
  it.each(STOPS.map((stop, i) => [stop, STARTS[i % STARTS.length]]))(
    "%j unsubscribes, then %j resubscribes",
    async (stop, start) => {
      const { text, subscribed } = await setup();
      await text(stop);
      expect(await subscribed()).toBe(false);
      await text(start);
      expect(await subscribed()).toBe(true);
    },
  );

  it("words that only begin like a keyword change nothing", async () => {
    const { text, subscribed } = await setup();
    for (const body of ["Stopping by later", "ending soon?", "yesterday was fine", "quitter"]) {
      await text(body);
      expect({ body, subscribed: await subscribed() }).toEqual({ body, subscribed: true });
    }
    await text("END");
    for (const body of ["Starting now", "yess", "restart"]) {
      await text(body);
      expect({ body, subscribed: await subscribed() }).toEqual({ body, subscribed: false });
    }
  });
});
