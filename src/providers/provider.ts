// The one interface every email provider implements: its sender and, where the provider has
// one, its inbound webhook (verify the signature, parse the payload into Nudge's delivery
// events). Plus the HTTP helpers the senders share.
import type { MailFacts } from "../engine/replies";
import type { Env } from "../ground/env";
import { retryAfterSeconds } from "../ground/retry";
import { timingSafeEqual } from "../security/encoding";
import { jsonCapped, RESPONSE_CAPS, ResponseTooLarge, textCapped } from "../security/read-capped";

export interface OutgoingEmail {
  /** Our message id (`msg_...`). */
  messageId: string;
  /** The effect key; passed to providers that accept an idempotency key. */
  idempotencyKey: string;
  from: string;
  to: string;
  replyTo?: string | null;
  subject: string;
  /** null: a text-only email (`plainText` steps). */
  html: string | null;
  text: string;
  headers: Record<string, string>;
}

export interface SendResult {
  providerMessageId: string | null;
}

/** A provider failure: `retryable` for 429/5xx/network, permanent otherwise. */
/** A provider call gives up after this long (a claim on the message outlives it: see delivery/email). */
export const PROVIDER_TIMEOUT_MS = 15_000;

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

export type Credentials = Record<string, string>;

export interface SendContext {
  env: Env;
  orgId: string;
  credentials: Credentials;
}

/** What a provider told us happened to a message we sent. */
export interface DeliveryEvent {
  /** The provider's id of this event: a redelivered webhook carries the same one. */
  eventId: string;
  kind: "bounced" | "complained" | "delivered" | "ignored";
  ourMessageId?: string;
  providerMessageId?: string;
  reason?: string;
}

export interface InboundRequest {
  headers: Headers;
  body: string;
}

/** A signed request this connection accepts — or why not: a bad signature (401), or one it must not take (403). */
export type Verdict = { ok: true } | { ok: false; status: 401 | 403; reason: string };

export const accepted: Verdict = { ok: true };
export const badSignature: Verdict = { ok: false, status: 401, reason: "Invalid signature" };

export interface InboundWebhook {
  /** Whether the request carries the provider's valid signature and this connection accepts it. */
  verify(req: InboundRequest, credentials: Credentials): Promise<Verdict>;
  /**
   * The value in a verified request that its signature covers and that may be used once (when
   * the signature covers neither body nor URL: Mailgun's token); the edge refuses it a second time.
   */
  nonce?(req: InboundRequest): Promise<string | null>;
  /** Answers a control message (e.g. an SNS subscription confirmation); true when it was one. */
  handshake?(req: InboundRequest, credentials: Credentials): Promise<boolean>;
  /** The verified payload as delivery events; throws on a payload it cannot read. */
  parse(req: InboundRequest): DeliveryEvent[];
}

/**
 * A received email as a provider's inbound webhook hands it over: the raw MIME when the
 * provider sends it, else the fields it parsed (headers in lower case).
 */
export type InboundMailPayload =
  | { raw: string; from?: string; to?: string[] }
  | (MailFacts & {
      to: string[];
      messageId?: string;
      inReplyTo?: string;
      references?: string[];
    });

/** Mail received at the provider (replies), posted to /inbound/{provider}/{connectionId}/mail. */
export interface InboundMailHook {
  verify(req: InboundRequest, credentials: Credentials): Promise<Verdict>;
  /** As {@link InboundWebhook.nonce}. */
  nonce?(req: InboundRequest): Promise<string | null>;
  /**
   * The verified payload as one received email (providers that send metadata only fetch the
   * content with the connection's credentials); throws on a payload it cannot read.
   */
  parse(req: InboundRequest, credentials: Credentials): Promise<InboundMailPayload>;
}

/**
 * A verifier for providers that sign nothing and send the Basic credentials configured on the
 * connection (`userField`/`passwordField` of its credentials) instead.
 */
export const basicAuth =
  (userField: string, passwordField: string) =>
  async ({ headers }: InboundRequest, credentials: Credentials): Promise<Verdict> => {
    const user = credentials[userField];
    const password = credentials[passwordField];
    if (!user || !password) {
      return badSignature;
    }
    const signed = timingSafeEqual(
      headers.get("authorization") ?? "",
      `Basic ${btoa(`${user}:${password}`)}`,
    );
    return signed ? accepted : badSignature;
  };

/** A form body (urlencoded or multipart) of a verified request. */
export const formOf = (req: InboundRequest) =>
  new Request("https://inbound.invalid/", {
    method: "POST",
    headers: { "content-type": req.headers.get("content-type") ?? "" },
    body: req.body,
  }).formData();

/** Headers given as [name, value] pairs, in lower case, repeated ones joined. */
export function headerMap(pairs: [string, string][]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of pairs) {
    const name = k.toLowerCase();
    out[name] = out[name] ? `${out[name]}, ${v}` : v;
  }
  return out;
}

export interface CredentialProblem {
  path: string;
  message: string;
}

export interface Provider<N extends string = string> {
  name: N;
  /** Credential fields a connection of this provider must have. */
  requiredCredentials: readonly string[];
  /**
   * What in these credentials the outbound policy refuses (a host inside the network, an
   * unknown region): checked when a connection is saved and again before each send.
   */
  refuseCredentials?(credentials: Credentials, env: Env): CredentialProblem[];
  /**
   * Why this deployment will not send from `from` through this provider (null: it will; `from`
   * null: whether the provider may be used at all): checked when a connection is saved, with
   * its default sender, and by the provider before each send.
   */
  refuseSender?(from: string | null, env: Env): string | null;
  send(email: OutgoingEmail, ctx: SendContext): Promise<SendResult>;
  inbound?: InboundWebhook;
  inboundMail?: InboundMailHook;
}

/** Keeps the provider's name as a literal type, so the registry can derive its name enum. */
export const defineProvider = <const N extends string>(p: Provider<N>): Provider<N> => p;

/**
 * A provider's reason as we keep it: its own error code/message fields only (never the raw
 * body), without control characters or markup, at most 200 characters.
 */
export function sanitizedReason(reason: string | undefined): string | undefined {
  const clean = reason
    ?.replace(/<[^>]*>/g, " ")
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
    .replace(/[\u0000-\u001f\u007f]+/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  return clean ? (clean.length > 200 ? `${clean.slice(0, 199)}…` : clean) : undefined;
}

/** Throws a ProviderError for a non-2xx answer: the status and the provider's sanitised reason, never its raw body. */
export async function failUnlessOk(
  provider: string,
  res: Response,
  describe: (body: unknown) => string | undefined,
): Promise<void> {
  if (res.ok) {
    return;
  }
  // Only the code/message fields are kept, so the first 64 KiB say all we use; a longer body is
  // cut (and no longer parses: the status alone is the reason).
  const text = await textCapped(res, RESPONSE_CAPS.error, { truncate: true });
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  const reason = body === null ? undefined : sanitizedReason(describe(body));
  const redirected = res.status >= 300 && res.status < 400;
  const retryable = res.status === 429 || res.status >= 500;
  throw new ProviderError(
    `${provider} ${res.status}${reason ? `: ${reason}` : redirected ? ": an unexpected redirect (not followed)" : ""}`,
    retryable,
    retryable ? retryAfterSeconds(res) : 0,
    res.status,
  );
}

/**
 * A provider's 2xx JSON answer, read up to {@link RESPONSE_CAPS.provider}: a longer one is a
 * permanent failure (the provider is not answering as it documents), not a read without end.
 */
export async function answerOf<T>(
  provider: string,
  res: Response,
  maxBytes: number = RESPONSE_CAPS.provider,
): Promise<T> {
  try {
    return (await jsonCapped(res, maxBytes)) as T;
  } catch (err) {
    if (err instanceof ResponseTooLarge) {
      throw new ProviderError(`${provider}: ${err.message}`, false, 0, res.status);
    }
    throw err;
  }
}

/** A provider call: never follows a redirect; network errors are retryable. */
export async function httpSend(
  provider: string,
  url: string,
  init: RequestInit,
): Promise<Response> {
  try {
    return await fetch(url, {
      ...init,
      redirect: "manual",
      signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
    });
  } catch (err) {
    throw new ProviderError(
      `${provider}: ${sanitizedReason(String(err)) ?? "network error"}`,
      true,
    );
  }
}

export const headerList = (h: Record<string, string>) =>
  Object.entries(h).map(([Name, Value]) => ({ Name, Value }));

/** "Acme <hi@acme.test>" → {name: "Acme", email: "hi@acme.test"}; a bare address has no name. */
export function parseAddress(address: string): { email: string; name?: string } {
  const m = /^\s*"?([^"<]*?)"?\s*<([^>]+)>\s*$/.exec(address);
  if (!m) {
    return { email: address.trim() };
  }
  return m[1] ? { name: m[1].trim(), email: m[2].trim() } : { email: m[2].trim() };
}

/** A signature timestamp (seconds) within `toleranceSeconds` of now. */
export const freshTimestamp = (ts: string | null, toleranceSeconds = 300, now = Date.now()) =>
  ts !== null && /^\d+$/.test(ts) && Math.abs(now / 1000 - Number(ts)) <= toleranceSeconds;
