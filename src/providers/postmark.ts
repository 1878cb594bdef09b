// Postmark: https://postmarkapp.com/developer/api/email-api; webhooks (delivery events and the
// inbound stream's received mail) use basic auth.
import { htmlToText } from "../lib/text";
import {
  answerOf,
  basicAuth,
  defineProvider,
  failUnlessOk,
  headerList,
  headerMap,
  httpSend,
} from "./provider";

type Json = Record<string, unknown>;
const HARD = ["HardBounce", "BadEmailAddress", "ManuallyDeactivated", "SpamNotification"];

/** Postmark signs nothing: its webhooks carry the Basic credentials set on the connection. */
const verify = basicAuth("webhookUsername", "webhookPassword");

interface PostmarkInbound {
  From?: string;
  FromFull?: { Email?: string };
  ToFull?: { Email?: string }[];
  OriginalRecipient?: string;
  Subject?: string;
  TextBody?: string;
  HtmlBody?: string;
  Headers?: { Name: string; Value: string }[];
}

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
    return {
      providerMessageId:
        (await answerOf<{ MessageID?: string }>("Postmark", res)).MessageID ?? null,
    };
  },
  inbound: {
    verify,
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
  // Inbound (replies): the inbound stream's webhook, JSON, with the same Basic credentials.
  inboundMail: {
    verify,
    async parse({ body }) {
      const m = JSON.parse(body) as PostmarkInbound;
      const headers = headerMap((m.Headers ?? []).map((h) => [h.Name, h.Value]));
      return {
        from: m.FromFull?.Email ?? m.From ?? "",
        to: [
          ...(m.ToFull ?? []).flatMap((t) => (t.Email ? [t.Email] : [])),
          ...(m.OriginalRecipient ? [m.OriginalRecipient] : []),
        ],
        subject: m.Subject ?? "",
        headers,
        contentType: headers["content-type"],
        text: m.TextBody || htmlToText(m.HtmlBody ?? ""),
        messageId: headers["message-id"],
        inReplyTo: headers["in-reply-to"],
        references: headers.references ? [headers.references] : [],
      };
    },
  },
});
