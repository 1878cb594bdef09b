// Twilio: SMS (Messages API) and calls (Voice API), both with status callbacks to
// /inbound/twilio/{connectionId}, which also receives the texts contacts send to the number.
// Webhooks are signed: X-Twilio-Signature = base64(HMAC-SHA1(authToken, URL + each POST
// parameter's name and value, sorted by name)).
// https://www.twilio.com/docs/messaging/api/message-resource
// https://www.twilio.com/docs/voice/api/call-resource
// https://www.twilio.com/docs/usage/webhooks/webhooks-security
import type { CallOutcome } from "../engine/outreach";
import { base64, hmac, timingSafeEqual } from "../security/encoding";
import { definePhoneProvider, type PhoneEvent } from "./phone";
import { accepted, answerOf, badSignature, failUnlessOk, httpSend } from "./provider";

const API = "https://api.twilio.com/2010-04-01";

const auth = (c: Record<string, string>) => `Basic ${btoa(`${c.accountSid}:${c.authToken}`)}`;

async function post(path: string, credentials: Record<string, string>, form: URLSearchParams) {
  const res = await httpSend(
    "Twilio",
    `${API}/Accounts/${encodeURIComponent(credentials.accountSid)}/${path}`,
    {
      method: "POST",
      headers: {
        authorization: auth(credentials),
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
      },
      body: form.toString(),
    },
  );
  await failUnlessOk("Twilio", res, (b) => {
    const body = b as { code?: number; message?: string } | null;
    return body ? `${body.code ?? ""} ${body.message ?? ""}`.trim() : undefined;
  });
  return (await answerOf<{ sid?: string }>("Twilio", res)).sid ?? null;
}

/** Twilio's signature of a form-encoded request: the URL, then each parameter's name and value, sorted. */
export async function twilioSignature(authToken: string, url: string, params: URLSearchParams) {
  const sorted = [...params.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const data = url + sorted.map(([k, v]) => k + v).join("");
  return base64(await hmac("SHA-1", authToken, data));
}

const escapeXml = (s: string) => s.replace(/[<>&"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** A call's status and AnsweredBy as an outcome; null while it is still going. */
function callOutcome(status: string, answeredBy: string | null): CallOutcome | null {
  switch (status) {
    case "completed":
      return answeredBy?.startsWith("machine") || answeredBy === "fax" ? "voicemail" : "answered";
    case "busy":
      return "busy";
    case "no-answer":
      return "no_answer";
    case "failed":
    case "canceled":
      return "failed";
    default:
      return null;
  }
}

const SMS_STATUSES = {
  sent: "sent",
  delivered: "delivered",
  failed: "failed",
  undelivered: "undelivered",
} as const;

export default definePhoneProvider({
  name: "twilio",
  channels: ["sms", "call"],
  requiredCredentials: ["accountSid", "authToken"],
  async sendSms(sms, { credentials }) {
    const form = new URLSearchParams({
      To: sms.to,
      Body: sms.body,
      StatusCallback: sms.statusCallback,
    });
    if (credentials.messagingServiceSid) {
      form.set("MessagingServiceSid", credentials.messagingServiceSid);
    } else {
      form.set("From", credentials.from ?? "");
    }
    return { providerMessageId: await post("Messages.json", credentials, form) };
  },
  async placeCall(call, { credentials }) {
    const form = new URLSearchParams({
      To: call.to,
      From: credentials.from ?? "",
      StatusCallback: call.statusCallback,
      StatusCallbackEvent: "completed",
      TimeLimit: String(call.maxDurationSeconds),
    });
    if (call.twimlUrl) {
      form.set("Url", call.twimlUrl);
    } else {
      form.set("Twiml", `<Response><Say>${escapeXml(call.script ?? "")}</Say></Response>`);
    }
    if (call.machineDetection) {
      form.set("MachineDetection", "Enable");
    }
    return { providerMessageId: await post("Calls.json", credentials, form) };
  },
  inbound: {
    async verify({ headers, body, url }, credentials) {
      const given = headers.get("x-twilio-signature");
      if (!given || !credentials.authToken) {
        return badSignature;
      }
      const expected = await twilioSignature(credentials.authToken, url, new URLSearchParams(body));
      return timingSafeEqual(given, expected) ? accepted : badSignature;
    },
    parse({ body }): PhoneEvent[] {
      const p = new URLSearchParams(body);
      const callSid = p.get("CallSid");
      if (callSid) {
        const outcome = callOutcome(p.get("CallStatus") ?? "", p.get("AnsweredBy"));
        if (!outcome) {
          return [{ kind: "ignored" }];
        }
        const duration = Number(p.get("CallDuration") ?? Number.NaN);
        return [
          {
            kind: "call_ended",
            providerMessageId: callSid,
            outcome,
            ...(Number.isFinite(duration) ? { durationSeconds: duration } : {}),
          },
        ];
      }
      const sid = p.get("MessageSid") ?? p.get("SmsSid");
      if (!sid) {
        throw new Error("neither a call nor a message");
      }
      const status = p.get("MessageStatus") ?? p.get("SmsStatus") ?? "";
      if (status === "received" || (!p.get("MessageStatus") && p.get("Body") !== null)) {
        return [
          {
            kind: "sms_received",
            providerMessageId: sid,
            from: p.get("From") ?? "",
            to: p.get("To") ?? "",
            body: p.get("Body") ?? "",
          },
        ];
      }
      const mapped = SMS_STATUSES[status as keyof typeof SMS_STATUSES];
      if (!mapped) {
        return [{ kind: "ignored" }];
      }
      const code = p.get("ErrorCode");
      return [
        {
          kind: "sms_status",
          providerMessageId: sid,
          status: mapped,
          ...(code ? { error: `Twilio error ${code}` } : {}),
        },
      ];
    },
  },
});
