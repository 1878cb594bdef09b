// The provider registry: every list of provider names derives from this one. Adding a
// provider is two edits: its module, and its line here.
import cloudflare from "./cloudflare";
import mailgun from "./mailgun";
import outbox from "./outbox";
import postmark from "./postmark";
import type { Provider } from "./provider";
import resend from "./resend";
import sendgrid from "./sendgrid";
import ses from "./ses";
import smtp from "./smtp";

const REGISTRY = [outbox, resend, postmark, sendgrid, ses, mailgun, smtp, cloudflare] as const;

export type ProviderName = (typeof REGISTRY)[number]["name"];

/** Every provider's name: the `provider` enum of connections. */
export const PROVIDER_NAMES = REGISTRY.map((p) => p.name) as [ProviderName, ...ProviderName[]];

/** Providers that post events back to /inbound/{provider}/{connectionId}. */
export const INBOUND_PROVIDER_NAMES = REGISTRY.filter((p) => p.inbound).map((p) => p.name);
export const INBOUND_MAIL_PROVIDER_NAMES = REGISTRY.filter((p) => p.inboundMail).map((p) => p.name);

/** Every provider by name. */
export const PROVIDERS = Object.fromEntries(REGISTRY.map((p) => [p.name, p])) as Record<
  ProviderName,
  Provider
>;

export const OUTBOX: Provider = outbox;

/** The provider of that name, or undefined. */
export const providerOf = (name: string): Provider | undefined =>
  Object.hasOwn(PROVIDERS, name) ? PROVIDERS[name as ProviderName] : undefined;
