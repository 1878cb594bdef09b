// Cloudflare Email Service through the `SEND_EMAIL` binding. The binding sends as any address
// on the operator's Cloudflare account, so every tenant's connection would share the operator's
// domains: only the domains listed in CLOUDFLARE_SENDER_DOMAINS may be sent from, and without
// that list the provider is refused (src/ground/config.ts).
import { config } from "../ground/config";
import type { Env } from "../ground/env";
import { defineProvider, ProviderError, parseAddress } from "./provider";

/** Why `from` may not be sent from through the binding; null when it may. */
function refuseSender(from: string | null, env: Env): string | null {
  const domains = config(env).cloudflareSenderDomains;
  if (!domains) {
    return "The cloudflare provider is not enabled on this deployment: its operator sets CLOUDFLARE_SENDER_DOMAINS to the domains it may send from";
  }
  if (from === null) {
    return null;
  }
  const address = parseAddress(from).email;
  const at = address.lastIndexOf("@");
  const domain =
    at < 0
      ? ""
      : address
          .slice(at + 1)
          .toLowerCase()
          .replace(/\.+$/, "");
  return domains.includes(domain)
    ? null
    : `The cloudflare provider sends only from addresses at ${domains.join(", ")} (CLOUDFLARE_SENDER_DOMAINS), not from "${address}"`;
}

export default defineProvider({
  name: "cloudflare",
  requiredCredentials: [],
  refuseSender,
  async send(email, { env }) {
    const refused = refuseSender(email.from, env);
    if (refused) {
      throw new ProviderError(refused, false);
    }
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
