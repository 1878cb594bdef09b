// Postmark: https://postmarkapp.com/developer/api/email-api; inbound webhooks use basic auth.
import { timingSafeEqual } from "../security/encoding";
import {
  accepted,
  badSignature,
  defineProvider,
  failUnlessOk,
  headerList,
  httpSend,
} from "./provider";

type Json = Record<string, unknown>;
const HARD = ["HardBounce", "BadEmailAddress", "ManuallyDeactivated", "SpamNotification"];

export default defineProvider({
  name: "postmark",
  requiredCredentials: ["serverToken"],
  async send(email, { credentials }) {
    const res = await httpSend("Postmark", "https://api.postmarkapp.com/email", {
      method: "POST",
      headers: {
        accept: "application/json",
        "content-type": "application/json",
        "x-postmark-server-token": credentials.serverToken,
      },
      body: JSON.stringify({
        From: email.from,
        To: email.to,
        Subject: email.subject,
        ...(email.html !== null ? { HtmlBody: email.html } : {}),
        TextBody: email.text,
        ...(email.replyTo ? { ReplyTo: email.replyTo } : {}),
        Headers: headerList(email.headers),
        MessageStream: credentials.messageStream ?? "outbound",
        TrackOpens: false,
        TrackLinks: "None",
        Metadata: { nudge_message_id: email.messageId },
      }),
    });
    await failUnlessOk("Postmark", res, (b) => {
      const body = b as Json | null;
      return body ? `${body.ErrorCode}: ${body.Message}` : undefined;
    });
    return { providerMessageId: ((await res.json()) as { MessageID?: string }).MessageID ?? null };
  },
  inbound: {
    async verify({ headers }, credentials) {
      if (!credentials.webhookUsername || !credentials.webhookPassword) {
        return badSignature;
      }
      const signed = timingSafeEqual(
        headers.get("authorization") ?? "",
        `Basic ${btoa(`${credentials.webhookUsername}:${credentials.webhookPassword}`)}`,
      );
      return signed ? accepted : badSignature;
    },
    parse({ body }) {
      const e = JSON.parse(body) as Json;
      const record = String(e.RecordType);
      const hard = record === "Bounce" && HARD.includes(String(e.Type));
      const kind = hard
        ? "bounced"
        : record === "SpamComplaint"
          ? "complained"
          : record === "Delivery"
            ? "delivered"
            : "ignored";
      const meta = e.Metadata as Record<string, string> | undefined;
      return [
        {
          eventId: `${record}:${e.ID ?? e.MessageID}`,
          kind,
          ourMessageId: meta?.nudge_message_id,
          providerMessageId: e.MessageID as string | undefined,
          reason: e.Description as string | undefined,
        },
      ];
    },
  },
});
