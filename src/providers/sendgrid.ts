// SendGrid: https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send; the event
// webhook is signed with ECDSA P-256 over timestamp + body.

import { htmlToText } from "../lib/text";
import { ecdsaDerToRaw, pemToDer } from "../security/der";
import { fromBase64, utf8 } from "../security/encoding";
import {
  accepted,
  badSignature,
  basicAuth,
  defineProvider,
  failUnlessOk,
  formOf,
  freshTimestamp,
  headerMap,
  httpSend,
  parseAddress,
} from "./provider";

export default defineProvider({
  name: "sendgrid",
  requiredCredentials: ["apiKey"],
  async send(email, { credentials }) {
    const res = await httpSend("SendGrid", "https://api.sendgrid.com/v3/mail/send", {
      method: "POST",
      headers: {
        authorization: `Bearer ${credentials.apiKey}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({
        personalizations: [
          { to: [{ email: email.to }], custom_args: { nudge_message_id: email.messageId } },
        ],
        from: parseAddress(email.from),
        ...(email.replyTo ? { reply_to: parseAddress(email.replyTo) } : {}),
        subject: email.subject,
        content: [
          { type: "text/plain", value: email.text },
          ...(email.html !== null ? [{ type: "text/html", value: email.html }] : []),
        ],
        headers: email.headers,
        tracking_settings: { click_tracking: { enable: false }, open_tracking: { enable: false } },
      }),
    });
    await failUnlessOk(
      "SendGrid",
      res,
      (b) =>
        ((b as { errors?: { message: string }[] })?.errors ?? [])
          .map((e) => e.message)
          .join("; ") || undefined,
    );
    return { providerMessageId: res.headers.get("x-message-id") };
  },
  inbound: {
    async verify({ headers, body }, credentials) {
      const sig = headers.get("x-twilio-email-event-webhook-signature");
      const ts = headers.get("x-twilio-email-event-webhook-timestamp");
      const pub = credentials.webhookVerificationKey;
      if (!sig || !freshTimestamp(ts) || !pub) {
        return badSignature;
      }
      const key = await crypto.subtle.importKey(
        "spki",
        pub.includes("BEGIN") ? pemToDer(pub) : fromBase64(pub),
        { name: "ECDSA", namedCurve: "P-256" },
        false,
        ["verify"],
      );
      const signed = await crypto.subtle.verify(
        { name: "ECDSA", hash: "SHA-256" },
        key,
        ecdsaDerToRaw(fromBase64(sig)),
        utf8(`${ts}${body}`),
      );
      return signed ? accepted : badSignature;
    },
    parse({ body }) {
      const events = JSON.parse(body) as Record<string, unknown>[];
      return events.map((e) => {
        const type = String(e.event);
        const kind =
          type === "bounce" && e.type !== "blocked"
            ? "bounced"
            : type === "spamreport"
              ? "complained"
              : type === "delivered"
                ? "delivered"
                : "ignored";
        return {
          eventId: String(e.sg_event_id ?? `${e.sg_message_id}:${type}:${e.timestamp}`),
          kind,
          ourMessageId: typeof e.nudge_message_id === "string" ? e.nudge_message_id : undefined,
          providerMessageId:
            typeof e.sg_message_id === "string" ? e.sg_message_id.split(".")[0] : undefined,
          reason: typeof e.reason === "string" ? e.reason : undefined,
        };
      });
    },
  },
  // Inbound Parse (replies): multipart form, unsigned; its URL carries Basic credentials
  // (https://user:password@.../inbound/sendgrid/{id}/mail) that must match the connection's.
  inboundMail: {
    verify: basicAuth("inboundUsername", "inboundPassword"),
    async parse(req) {
      const form = await formOf(req);
      const field = (name: string) => {
        const v = form.get(name);
        return typeof v === "string" ? v : undefined;
      };
      const envelope = JSON.parse(field("envelope") ?? "{}") as { from?: string; to?: string[] };
      const raw = field("email");
      if (raw) {
        return { raw, from: envelope.from, to: envelope.to }; // "POST the raw, full MIME message"
      }
      const headers = headerMap(
        (field("headers") ?? "")
          .replace(/\r?\n[ \t]+/g, " ")
          .split(/\r?\n/)
          .flatMap((line): [string, string][] => {
            const at = line.indexOf(":");
            return at > 0 ? [[line.slice(0, at).trim(), line.slice(at + 1).trim()]] : [];
          }),
      );
      return {
        from: field("from") ?? envelope.from ?? "",
        to: [...(envelope.to ?? []), ...(field("to") ? [field("to") as string] : [])],
        subject: field("subject") ?? "",
        headers,
        contentType: headers["content-type"],
        text: field("text") ?? htmlToText(field("html") ?? ""),
        messageId: headers["message-id"],
        inReplyTo: headers["in-reply-to"],
        references: headers.references ? [headers.references] : [],
      };
    },
  },
});
