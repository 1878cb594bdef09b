// Resend: https://resend.com/docs/api-reference/emails/send-email (the effect key as its
// Idempotency-Key); inbound events are Svix-signed.
import { base64, fromBase64, hmac, timingSafeEqual } from "../security/encoding";
import {
  accepted,
  badSignature,
  defineProvider,
  failUnlessOk,
  freshTimestamp,
  httpSend,
} from "./provider";

type Json = Record<string, unknown>;

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
    return { providerMessageId: ((await res.json()) as { id?: string }).id ?? null };
  },
  inbound: {
    async verify({ headers, body }, credentials) {
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
    },
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
});
