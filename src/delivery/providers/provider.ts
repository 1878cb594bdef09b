// The one small interface every email provider implements, and HTTP error classification.
import type { Env } from "../../env";

export interface OutgoingEmail {
  /** Our message id (`msg_...`). */
  messageId: string;
  /** The effect key; passed to providers that accept an idempotency key. */
  idempotencyKey: string;
  from: string;
  to: string;
  replyTo?: string | null;
  subject: string;
  html: string;
  text: string;
  headers: Record<string, string>;
}

export interface SendResult {
  providerMessageId: string | null;
}

/** A provider failure: `retryable` for 429/5xx/network, permanent otherwise. */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterSeconds = 0,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface SendContext {
  env: Env;
  orgId: string;
  credentials: Record<string, string>;
}

export interface Provider {
  name: string;
  /** Credential fields a connection of this provider must have. */
  requiredCredentials: string[];
  send(email: OutgoingEmail, ctx: SendContext): Promise<SendResult>;
}

export function retryAfter(res: Response): number {
  const h = res.headers.get("retry-after");
  if (!h) return 0;
  const n = Number(h);
  if (Number.isFinite(n)) return Math.max(0, n);
  const at = Date.parse(h);
  return Number.isNaN(at) ? 0 : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** Throws a ProviderError for a non-2xx answer, with the provider's own message. */
export async function failUnlessOk(provider: string, res: Response, describe: (body: unknown, text: string) => string | undefined): Promise<void> {
  if (res.ok) return;
  const text = await res.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  const detail = describe(body, text) ?? text.slice(0, 500);
  const retryable = res.status === 429 || res.status >= 500;
  throw new ProviderError(`${provider} ${res.status}: ${detail}`, retryable, retryable ? retryAfter(res) : 0, res.status);
}

/** Network errors are retryable. */
export async function httpSend(provider: string, url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    throw new ProviderError(`${provider}: ${String(err)}`, true);
  }
}

export const headerList = (h: Record<string, string>) => Object.entries(h).map(([Name, Value]) => ({ Name, Value }));

/** "Acme <hi@acme.test>" → {name: "Acme", email: "hi@acme.test"}; a bare address has no name. */
export function parseAddress(address: string): { email: string; name?: string } {
  const m = /^\s*"?([^"<]*?)"?\s*<([^>]+)>\s*$/.exec(address);
  if (!m) return { email: address.trim() };
  return m[1] ? { name: m[1].trim(), email: m[2].trim() } : { email: m[2].trim() };
}
