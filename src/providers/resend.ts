// Resend: https://resend.com/docs/api-reference/emails/send-email (the effect key as its
// Idempotency-Key); its webhooks (delivery events, and received mail: replies) are Svix-signed.
import { htmlToText } from "../lib/text";
import { base64, fromBase64, hmac, timingSafeEqual } from "../security/encoding";
import { RESPONSE_CAPS } from "../security/read-capped";
import {
  accepted,
  answerOf,
  badSignature,
  type Credentials,
  defineProvider,
  failUnlessOk,
  freshTimestamp,
  headerMap,
  httpSend,
  type InboundRequest,
  type Verdict,
} from "./provider";

type Json = Record<string, unknown>;

/** Resend's webhooks are Svix-signed: HMAC-SHA256 of id.timestamp.body with the webhook secret. */
async function svixVerify(
  { headers, body }: InboundRequest,
  credentials: Credentials,
): Promise<Verdict> {
  const id = headers.get("svix-id");
  const ts = headers.get("svix-timestamp");
  const sigs = headers.get("svix-signature");
  if (!id || !sigs || !freshTimestamp(ts) || !credentials.webhookSecret) {
    return badSignature;
  }
  const expected = base64(
    await hmac(
      "SHA-256",
      fromBase64(credentials.webhookSecret.replace(/^whsec_/, "")),
      `${id}.${ts}.${body}`,
    ),
  );
  const signed = sigs.split(" ").some((s) => {
    const [version, sig] = s.split(",");
    return version === "v1" && sig !== undefined && timingSafeEqual(sig, expected);
  });
  return signed ? accepted : badSignature;
}

interface ReceivedEmail {
  from?: string;
  to?: string[];
  subject?: string;
  text?: string | null;
  html?: string | null;
  headers?: Record<string, string>;
  message_id?: string;
}

export default defineProvider({
  name: "resend",
  requiredCredentials: ["apiKey"],
  async send(email, { credentials }) {
    const res = await httpSend("Resend", "https://api.resend.com/emails", {
      method: "POST",
      headers: {
        authorization: `Bearer ${credentials.apiKey}`,
        "content-type": "application/json",
        "idempotency-key": email.idempotencyKey,
      },
      body: JSON.stringify({
        from: email.from,
        to: [email.to],
        subject: email.subject,
        ...(email.html !== null ? { html: email.html } : {}),
        text: email.text,
        ...(email.replyTo ? { reply_to: email.replyTo } : {}),
        headers: email.headers,
        tags: [{ name: "nudge_message_id", value: email.messageId.replace(/[^\w-]/g, "_") }],
      }),
    });
    await failUnlessOk("Resend", res, (b) => (b as Json)?.message as string | undefined);
    return { providerMessageId: (await answerOf<{ id?: string }>("Resend", res)).id ?? null };
  },
  inbound: {
    verify: svixVerify,
    parse({ headers, body }) {
      const e = JSON.parse(body) as {
        type?: string;
        data?: { email_id?: string; bounce?: { message?: string } };
      };
      const kind =
        e.type === "email.bounced"
          ? "bounced"
          : e.type === "email.complained"
            ? "complained"
            : e.type === "email.delivered"
              ? "delivered"
              : "ignored";
      return [
        {
          eventId: headers.get("svix-id") as string,
          kind,
          providerMessageId: e.data?.email_id,
          reason: e.data?.bounce?.message,
        },
      ];
    },
  },
  // Receiving (replies): the email.received webhook carries metadata only; the content comes
  // from the Receiving API with the connection's API key.
  inboundMail: {
    verify: svixVerify,
    async parse({ body }, credentials) {
      const e = JSON.parse(body) as { type?: string; data?: ReceivedEmail & { email_id?: string } };
      if (e.type !== "email.received" || !e.data?.email_id) {
        throw new Error("not an email.received event");
      }
      const res = await httpSend(
        "Resend",
        `https://api.resend.com/emails/receiving/${encodeURIComponent(e.data.email_id)}`,
        { headers: { authorization: `Bearer ${credentials.apiKey}` } },
      );
      await failUnlessOk("Resend", res, (b) => (b as Json | null)?.message as string | undefined);
      const m = {
        ...e.data,
        ...(await answerOf<ReceivedEmail>("Resend", res, RESPONSE_CAPS.mail)),
      };
      const headers = headerMap(Object.entries(m.headers ?? {}));
      return {
        from: m.from ?? "",
        to: m.to ?? [],
        subject: m.subject ?? "",
        headers,
        contentType: headers["content-type"],
        text: m.text ?? htmlToText(m.html ?? ""),
        messageId: m.message_id ?? headers["message-id"],
        inReplyTo: headers["in-reply-to"],
        references: headers.references ? [headers.references] : [],
      };
    },
  },
});
