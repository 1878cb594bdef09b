// Provider registry: the outbox (default), HTTP APIs, SMTP over sockets, and Cloudflare's send_email binding.
import { database } from "../../db/client";
import { captureInOutbox } from "../../db/outbox";
import { newId } from "../../http/ids";
import { mailgun, postmark, resend, sendgrid, ses } from "./http-providers";
import { type Provider, ProviderError, parseAddress } from "./provider";

export const outboxProvider: Provider = {
  name: "outbox",
  requiredCredentials: [],
  async send(email, { env, orgId }) {
    const id = newId("obx");
    await captureInOutbox(database(env.DB), {
      id,
      orgId,
      messageId: email.messageId,
      to: email.to,
      from: email.from,
      subject: email.subject,
      html: email.html,
      text: email.text,
      headers: email.headers,
      createdAt: Date.now(),
    });
    return { providerMessageId: id };
  },
};

/** SMTP over `cloudflare:sockets` (worker-mailer): host, port, username, password, secure?/startTls?. */
export const smtp: Provider = {
  name: "smtp",
  requiredCredentials: ["host", "port"],
  async send(email, { credentials }) {
    try {
      // Loaded on first use: it pulls in `cloudflare:sockets`, which only SMTP needs.
      const { WorkerMailer } = await import("worker-mailer");
      await WorkerMailer.send(
        {
          host: credentials.host,
          port: Number(credentials.port),
          secure: credentials.secure === "true",
          startTls: credentials.startTls !== "false",
          ...(credentials.username ? { credentials: { username: credentials.username, password: credentials.password ?? "" } } : {}),
          authType: ["plain", "login"],
          socketTimeoutMs: 30_000,
          responseTimeoutMs: 30_000,
        },
        {
          // worker-mailer takes the display name apart from the address (the envelope needs the bare address).
          from: parseAddress(email.from),
          to: email.to,
          reply: email.replyTo ? parseAddress(email.replyTo) : undefined,
          subject: email.subject,
          html: email.html,
          text: email.text,
          headers: { ...email.headers, "X-Nudge-Message-Id": email.messageId },
        },
      );
      return { providerMessageId: null };
    } catch (err) {
      const message = String(err);
      // SMTP 5xx replies are permanent; connection problems and 4xx replies are worth retrying.
      const permanent = /\b5\d\d\b/.test(message);
      throw new ProviderError(`SMTP: ${message}`, !permanent);
    }
  },
};

/** Cloudflare Email Service through the `SEND_EMAIL` binding. */
export const cloudflare: Provider = {
  name: "cloudflare",
  requiredCredentials: [],
  async send(email, { env }) {
    if (!env.SEND_EMAIL) throw new ProviderError("The SEND_EMAIL binding is not configured", false);
    try {
      const res = await env.SEND_EMAIL.send({
        from: email.from,
        to: email.to,
        subject: email.subject,
        html: email.html,
        text: email.text,
        headers: email.headers,
        ...(email.replyTo ? { replyTo: email.replyTo } : {}),
      });
      return { providerMessageId: res.messageId ?? null };
    } catch (err) {
      throw new ProviderError(`Cloudflare send_email: ${String(err)}`, true);
    }
  },
};

export const PROVIDERS: Record<string, Provider> = Object.fromEntries(
  [outboxProvider, resend, postmark, sendgrid, ses, mailgun, smtp, cloudflare].map((p) => [p.name, p]),
);
export const PROVIDER_NAMES = ["outbox", "resend", "postmark", "sendgrid", "ses", "mailgun", "smtp", "cloudflare"] as const;
