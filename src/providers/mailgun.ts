// Mailgun: https://documentation.mailgun.com/docs/mailgun/api-reference/openapi-final/tag/Messages/
// (form POST, basic auth). Its event webhooks are signed: HMAC-SHA256 of timestamp + token with
// the webhook signing key; permanent failures are bounces, complaints are complaints. The
// signature covers neither the body nor the URL, so its token (random, 50 characters, one per
// signature: https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks)
// is a nonce: the edge takes each token once, and one signature carries one request.
import { htmlToText } from "../lib/text";
import { hex, hmac, timingSafeEqual } from "../security/encoding";
import {
  accepted,
  answerOf,
  badSignature,
  defineProvider,
  failUnlessOk,
  formOf,
  freshTimestamp,
  headerMap,
  httpSend,
} from "./provider";

type Json = Record<string, unknown>;

interface MailgunWebhook {
  signature?: { timestamp?: string; token?: string; signature?: string };
  "event-data"?: {
    id?: string;
    event?: string;
    severity?: string;
    reason?: string;
    message?: { headers?: { "message-id"?: string } };
    "user-variables"?: { nudge_message_id?: string };
    "delivery-status"?: { description?: string; message?: string };
  };
}

export default defineProvider({
  name: "mailgun",
  requiredCredentials: ["apiKey", "domain"],
  async send(email, { credentials }) {
    const base =
      credentials.region === "eu" ? "https://api.eu.mailgun.net" : "https://api.mailgun.net";
    const form = new FormData();
    form.set("from", email.from);
    form.set("to", email.to);
    form.set("subject", email.subject);
    if (email.html !== null) {
      form.set("html", email.html);
    }
    form.set("text", email.text);
    if (email.replyTo) {
      form.set("h:Reply-To", email.replyTo);
    }
    for (const [k, v] of Object.entries(email.headers)) {
      form.set(`h:${k}`, v);
    }
    form.set("o:tracking", "no");
    form.set("v:nudge_message_id", email.messageId);
    const res = await httpSend(
      "Mailgun",
      `${base}/v3/${encodeURIComponent(credentials.domain)}/messages`,
      {
        method: "POST",
        headers: { authorization: `Basic ${btoa(`api:${credentials.apiKey}`)}` },
        body: form,
      },
    );
    await failUnlessOk("Mailgun", res, (b) => (b as Json | null)?.message as string | undefined);
    const id = (await answerOf<{ id?: string }>("Mailgun", res)).id ?? null;
    return { providerMessageId: id ? id.replace(/^<|>$/g, "") : null };
  },
  inbound: {
    async verify({ body }, credentials) {
      if (!credentials.webhookSigningKey) {
        return badSignature;
      }
      let signature: MailgunWebhook["signature"];
      try {
        signature = (JSON.parse(body) as MailgunWebhook).signature;
      } catch {
        return badSignature;
      }
      const { timestamp, token, signature: sig } = signature ?? {};
      if (!timestamp || !token || !sig || !freshTimestamp(timestamp)) {
        return badSignature;
      }
      const signed = timingSafeEqual(
        sig,
        hex(await hmac("SHA-256", credentials.webhookSigningKey, `${timestamp}${token}`)),
      );
      return signed ? accepted : badSignature;
    },
    async nonce({ body }) {
      return (JSON.parse(body) as MailgunWebhook).signature?.token ?? null;
    },
    parse({ body }) {
      const e = (JSON.parse(body) as MailgunWebhook)["event-data"];
      if (!e?.id) {
        return [];
      }
      const kind =
        e.event === "failed" && e.severity === "permanent"
          ? "bounced"
          : e.event === "complained"
            ? "complained"
            : e.event === "delivered"
              ? "delivered"
              : "ignored";
      return [
        {
          eventId: e.id,
          kind,
          ourMessageId: e["user-variables"]?.nudge_message_id,
          providerMessageId: e.message?.headers?.["message-id"]?.replace(/^<|>$/g, ""),
          reason: e["delivery-status"]?.description || e["delivery-status"]?.message || e.reason,
        },
      ];
    },
  },
  // Routes (replies): a route forwarding to /inbound/mailgun/{id}/mail posts a form signed
  // like webhooks (HMAC-SHA256 of timestamp + token with the webhook signing key).
  inboundMail: {
    async verify(req, credentials) {
      if (!credentials.webhookSigningKey) {
        return badSignature;
      }
      const form = await formOf(req);
      const [timestamp, token, sig] = ["timestamp", "token", "signature"].map((k) =>
        String(form.get(k) ?? ""),
      );
      if (!timestamp || !token || !sig || !freshTimestamp(timestamp)) {
        return badSignature;
      }
      const expected = hex(
        await hmac("SHA-256", credentials.webhookSigningKey, `${timestamp}${token}`),
      );
      return timingSafeEqual(sig, expected) ? accepted : badSignature;
    },
    async nonce(req) {
      const token = (await formOf(req)).get("token");
      return typeof token === "string" ? token : null;
    },
    async parse(req) {
      const form = await formOf(req);
      const field = (name: string) => {
        const v = form.get(name);
        return typeof v === "string" ? v : undefined;
      };
      const mime = field("body-mime");
      if (mime) {
        return { raw: mime, from: field("sender"), to: field("recipient")?.split(",") };
      }
      const headers = headerMap(JSON.parse(field("message-headers") ?? "[]") as [string, string][]);
      return {
        from: field("sender") ?? field("from") ?? "",
        to: (field("recipient") ?? "")
          .split(",")
          .map((a) => a.trim())
          .filter(Boolean),
        subject: field("subject") ?? "",
        headers,
        contentType: headers["content-type"],
        text: field("body-plain") ?? htmlToText(field("body-html") ?? ""),
        messageId: field("Message-Id") ?? headers["message-id"],
        inReplyTo: field("In-Reply-To") ?? headers["in-reply-to"],
        references: [field("References") ?? headers.references ?? ""].filter(Boolean),
      };
    },
  },
});
