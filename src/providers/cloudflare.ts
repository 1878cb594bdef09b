// Cloudflare Email Service through the `SEND_EMAIL` binding.
import { defineProvider, ProviderError } from "./provider";

export default defineProvider({
  name: "cloudflare",
  requiredCredentials: [],
  async send(email, { env }) {
    if (!env.SEND_EMAIL) {
      throw new ProviderError("The SEND_EMAIL binding is not configured", false);
    }
    try {
      const res = await env.SEND_EMAIL.send({
        from: email.from,
        to: email.to,
        subject: email.subject,
        ...(email.html !== null ? { html: email.html } : {}),
        text: email.text,
        headers: email.headers,
        ...(email.replyTo ? { replyTo: email.replyTo } : {}),
      });
      return { providerMessageId: res.messageId ?? null };
    } catch (err) {
      throw new ProviderError(`Cloudflare send_email: ${String(err)}`, true);
    }
  },
});
