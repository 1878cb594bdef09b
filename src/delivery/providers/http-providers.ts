// Providers written against their HTTP APIs: Resend, Postmark, SendGrid, Amazon SES v2, Mailgun.
import { AwsClient } from "aws4fetch";
import { failUnlessOk, headerList, httpSend, type Provider, parseAddress } from "./provider";

type Json = Record<string, unknown>;

/** https://resend.com/docs/api-reference/emails/send-email */
export const resend: Provider = {
  name: "resend",
  requiredCredentials: ["apiKey"],
  async send(email, { credentials }) {
    const res = await httpSend("Resend", "https://api.resend.com/emails", {
      method: "POST",
      headers: { authorization: `Bearer ${credentials.apiKey}`, "content-type": "application/json", "idempotency-key": email.idempotencyKey },
      body: JSON.stringify({
        from: email.from,
        to: [email.to],
        subject: email.subject,
        html: email.html,
        text: email.text,
        ...(email.replyTo ? { reply_to: email.replyTo } : {}),
        headers: email.headers,
        tags: [{ name: "nudge_message_id", value: email.messageId.replace(/[^\w-]/g, "_") }],
      }),
    });
    await failUnlessOk("Resend", res, (b) => (b as Json)?.message as string | undefined);
    return { providerMessageId: ((await res.json()) as { id?: string }).id ?? null };
  },
};

/** https://postmarkapp.com/developer/api/email-api */
export const postmark: Provider = {
  name: "postmark",
  requiredCredentials: ["serverToken"],
  async send(email, { credentials }) {
    const res = await httpSend("Postmark", "https://api.postmarkapp.com/email", {
      method: "POST",
      headers: { accept: "application/json", "content-type": "application/json", "x-postmark-server-token": credentials.serverToken },
      body: JSON.stringify({
        From: email.from,
        To: email.to,
        Subject: email.subject,
        HtmlBody: email.html,
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
};

/** https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send */
export const sendgrid: Provider = {
  name: "sendgrid",
  requiredCredentials: ["apiKey"],
  async send(email, { credentials }) {
    const res = await httpSend("SendGrid", "https://api.sendgrid.com/v3/mail/send", {
      method: "POST",
      headers: { authorization: `Bearer ${credentials.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({
        personalizations: [{ to: [{ email: email.to }], custom_args: { nudge_message_id: email.messageId } }],
        from: parseAddress(email.from),
        ...(email.replyTo ? { reply_to: parseAddress(email.replyTo) } : {}),
        subject: email.subject,
        content: [
          { type: "text/plain", value: email.text },
          { type: "text/html", value: email.html },
        ],
        headers: email.headers,
        tracking_settings: { click_tracking: { enable: false }, open_tracking: { enable: false } },
      }),
    });
    await failUnlessOk("SendGrid", res, (b) => ((b as { errors?: { message: string }[] })?.errors ?? []).map((e) => e.message).join("; ") || undefined);
    return { providerMessageId: res.headers.get("x-message-id") };
  },
};

/** https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html — signed SigV4, aws4fetch's own retries off. */
export const ses: Provider = {
  name: "ses",
  requiredCredentials: ["accessKeyId", "secretAccessKey", "region"],
  async send(email, { credentials }) {
    const aws = new AwsClient({
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      region: credentials.region,
      service: "ses",
      retries: 0,
    });
    const url = `https://email.${credentials.region}.amazonaws.com/v2/email/outbound-emails`;
    const body = JSON.stringify({
      FromEmailAddress: email.from,
      Destination: { ToAddresses: [email.to] },
      ...(email.replyTo ? { ReplyToAddresses: [email.replyTo] } : {}),
      Content: {
        Simple: {
          Subject: { Data: email.subject, Charset: "UTF-8" },
          Body: { Html: { Data: email.html, Charset: "UTF-8" }, Text: { Data: email.text, Charset: "UTF-8" } },
          Headers: headerList(email.headers),
        },
      },
      EmailTags: [{ Name: "nudge_message_id", Value: email.messageId }],
      ...(credentials.configurationSet ? { ConfigurationSetName: credentials.configurationSet } : {}),
    });
    let signed: Request;
    try {
      signed = await aws.sign(url, { method: "POST", headers: { "content-type": "application/json" }, body });
    } catch (err) {
      throw new Error(`SES request signing failed: ${String(err)}`);
    }
    const res = await httpSend("SES", signed.url, { method: "POST", headers: signed.headers, body });
    await failUnlessOk("SES", res, (b) => (b as Json | null)?.message as string | undefined);
    return { providerMessageId: ((await res.json()) as { MessageId?: string }).MessageId ?? null };
  },
};

/** https://documentation.mailgun.com/docs/mailgun/api-reference/openapi-final/tag/Messages/ */
export const mailgun: Provider = {
  name: "mailgun",
  requiredCredentials: ["apiKey", "domain"],
  async send(email, { credentials }) {
    const base = credentials.region === "eu" ? "https://api.eu.mailgun.net" : "https://api.mailgun.net";
    const form = new FormData();
    form.set("from", email.from);
    form.set("to", email.to);
    form.set("subject", email.subject);
    form.set("html", email.html);
    form.set("text", email.text);
    if (email.replyTo) form.set("h:Reply-To", email.replyTo);
    for (const [k, v] of Object.entries(email.headers)) form.set(`h:${k}`, v);
    form.set("o:tracking", "no");
    form.set("v:nudge_message_id", email.messageId);
    const res = await httpSend("Mailgun", `${base}/v3/${encodeURIComponent(credentials.domain)}/messages`, {
      method: "POST",
      headers: { authorization: `Basic ${btoa(`api:${credentials.apiKey}`)}` },
      body: form,
    });
    await failUnlessOk("Mailgun", res, (b) => (b as Json | null)?.message as string | undefined);
    const id = ((await res.json()) as { id?: string }).id ?? null;
    return { providerMessageId: id ? id.replace(/^<|>$/g, "") : null };
  },
};
