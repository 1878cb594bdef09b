// SMTP over `cloudflare:sockets` (worker-mailer): host, port, username, password, secure?/startTls?.
import { refuseHost } from "../security/ssrf";
import { defineProvider, ProviderError, parseAddress, sanitizedReason } from "./provider";

export default defineProvider({
  name: "smtp",
  requiredCredentials: ["host", "port"],
  refuseCredentials: (credentials, env) => {
    const refused =
      credentials.host === undefined
        ? null
        : refuseHost(env, credentials.host, credentials.port ?? "");
    return refused ? [{ path: "host", message: refused }] : [];
  },
  async send(email, { env, credentials }) {
    const refused = refuseHost(env, credentials.host, credentials.port);
    if (refused) {
      throw new ProviderError(`SMTP: ${refused}`, false);
    }
    try {
      // Loaded on first use: it pulls in `cloudflare:sockets`, which only SMTP needs.
      const { WorkerMailer } = await import("worker-mailer");
      await WorkerMailer.send(
        {
          host: credentials.host,
          port: Number(credentials.port),
          secure: credentials.secure === "true",
          startTls: credentials.startTls !== "false",
          ...(credentials.username
            ? {
                credentials: {
                  username: credentials.username,
                  password: credentials.password ?? "",
                },
              }
            : {}),
          authType: ["plain", "login"],
          // Each SMTP step waits at most this; a whole exchange stays well inside a message's claim.
          socketTimeoutMs: 10_000,
          responseTimeoutMs: 10_000,
        },
        {
          // worker-mailer takes the display name apart from the address (the envelope needs the bare address).
          from: parseAddress(email.from),
          to: email.to,
          reply: email.replyTo ? parseAddress(email.replyTo) : undefined,
          subject: email.subject,
          html: email.html ?? undefined,
          text: email.text,
          headers: { ...email.headers, "X-Nudge-Message-Id": email.messageId },
        },
      );
      return { providerMessageId: null };
    } catch (err) {
      const message = sanitizedReason(String(err)) ?? "failed";
      // SMTP 5xx replies are permanent; connection problems and 4xx replies are worth retrying.
      const permanent = /\b5\d\d\b/.test(message);
      throw new ProviderError(`SMTP: ${message}`, !permanent);
    }
  },
});
