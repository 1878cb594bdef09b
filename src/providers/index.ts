// The provider registry: every list of provider names derives from this one. Adding a
// provider is two edits: its module, and its line here.

import capture, { PHONE_CAPTURE } from "./capture";
import cloudflare from "./cloudflare";
import { LLM_PROVIDER_NAMES } from "./llm";
import mailgun from "./mailgun";
import type { PhoneProvider } from "./phone";
import postmark from "./postmark";
import type { Provider } from "./provider";
import resend from "./resend";
import sendgrid from "./sendgrid";
import ses from "./ses";
import smtp from "./smtp";
import twilio from "./twilio";
import vapi from "./vapi";

const REGISTRY = [capture, resend, postmark, sendgrid, ses, mailgun, smtp, cloudflare] as const;

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

/** Captures what it is given instead of sending it: the sender of an org with no connection. */
export const CAPTURE_PROVIDER: Provider = capture;

/** The provider of that name, or undefined. */
export const providerOf = (name: string): Provider | undefined =>
  Object.hasOwn(PROVIDERS, name) ? PROVIDERS[name as ProviderName] : undefined;

/** SMS and voice providers: connections of these send texts and place calls, not email. */
const PHONE_REGISTRY = [twilio, vapi] as const;

export type PhoneProviderName = (typeof PHONE_REGISTRY)[number]["name"];

export const PHONE_PROVIDER_NAMES = PHONE_REGISTRY.map((p) => p.name) as [
  PhoneProviderName,
  ...PhoneProviderName[],
];

/** Every name a connection's `provider` may take: email, phone, then LLM providers. */
export const CONNECTION_PROVIDER_NAMES = [
  ...PROVIDER_NAMES,
  ...PHONE_PROVIDER_NAMES,
  ...LLM_PROVIDER_NAMES,
] as [string, ...string[]];

export const PHONE_CAPTURE_PROVIDER: PhoneProvider = PHONE_CAPTURE;

/** The phone provider of that name, or undefined. */
export const phoneProviderOf = (name: string): PhoneProvider | undefined =>
  (PHONE_REGISTRY as readonly PhoneProvider[]).find((p) => p.name === name);
