// Inbound provider webhooks: verify the provider's signature before anything else, then turn
// bounces and complaints into suppression and events, deliveries into `delivered`.
import type { Context } from "hono";
import { type Db, database } from "../db/client";
import { getConnectionById } from "../db/connections";
import { suppressContact } from "../db/contacts";
import { markInboundSeen } from "../db/inbound";
import { findByProviderId, getMessage, settleMessage } from "../db/messages";
import { decrypt } from "../delivery/crypto";
import { systemEvent } from "../enrollments";
import type { AppEnv, Env } from "../env";
import { errorJson } from "../http/errors";
import { timingSafeEqual } from "../http/ids";
import { ecdsaDerToRaw, pemToDer, spkiFromCertificate } from "./der";

type Creds = Record<string, string>;

export interface ProviderEvent {
  eventId: string;
  kind: "bounced" | "complained" | "delivered" | "ignored";
  ourMessageId?: string;
  providerMessageId?: string;
  reason?: string;
}

const TOLERANCE_S = 5 * 60;
const b64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const enc = (s: string) => new TextEncoder().encode(s);
const fresh = (ts: string | null, now = Date.now()) => ts !== null && /^\d+$/.test(ts) && Math.abs(now / 1000 - Number(ts)) <= TOLERANCE_S;

// ---- SendGrid: ECDSA P-256 over timestamp + body ----------------------------------------------

async function verifySendgrid(h: Headers, body: string, creds: Creds) {
  const sig = h.get("x-twilio-email-event-webhook-signature");
  const ts = h.get("x-twilio-email-event-webhook-timestamp");
  if (!sig || !fresh(ts) || !creds.webhookVerificationKey) return false;
  const keyDer = creds.webhookVerificationKey.includes("BEGIN") ? pemToDer(creds.webhookVerificationKey) : b64(creds.webhookVerificationKey);
  const key = await crypto.subtle.importKey("spki", keyDer, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  return crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, ecdsaDerToRaw(b64(sig)), enc(ts + body));
}

function parseSendgrid(body: string): ProviderEvent[] {
  const events = JSON.parse(body) as Record<string, unknown>[];
  return events.map((e) => {
    const type = String(e.event);
    const kind = type === "bounce" && e.type !== "blocked" ? "bounced" : type === "spamreport" ? "complained" : type === "delivered" ? "delivered" : "ignored";
    return {
      eventId: String(e.sg_event_id ?? `${e.sg_message_id}:${type}:${e.timestamp}`),
      kind,
      ourMessageId: typeof e.nudge_message_id === "string" ? e.nudge_message_id : undefined,
      providerMessageId: typeof e.sg_message_id === "string" ? e.sg_message_id.split(".")[0] : undefined,
      reason: typeof e.reason === "string" ? e.reason : undefined,
    };
  });
}

// ---- Resend: Svix signatures --------------------------------------------------------------------

async function verifyResend(h: Headers, body: string, creds: Creds) {
  const id = h.get("svix-id");
  const ts = h.get("svix-timestamp");
  const sigs = h.get("svix-signature");
  if (!id || !sigs || !fresh(ts) || !creds.webhookSecret) return false;
  const key = await crypto.subtle.importKey("raw", b64(creds.webhookSecret.replace(/^whsec_/, "")), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const expected = btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.sign("HMAC", key, enc(`${id}.${ts}.${body}`)))));
  return sigs.split(" ").some((s) => {
    const [version, sig] = s.split(",");
    return version === "v1" && sig !== undefined && timingSafeEqual(sig, expected);
  });
}

function parseResend(body: string, h: Headers): ProviderEvent[] {
  const e = JSON.parse(body) as { type?: string; data?: { email_id?: string; bounce?: { message?: string; type?: string } } };
  const kind = e.type === "email.bounced" ? "bounced" : e.type === "email.complained" ? "complained" : e.type === "email.delivered" ? "delivered" : "ignored";
  return [{ eventId: h.get("svix-id") as string, kind, providerMessageId: e.data?.email_id, reason: e.data?.bounce?.message }];
}

// ---- Postmark: basic auth -------------------------------------------------------------------------

async function verifyPostmark(h: Headers, _body: string, creds: Creds) {
  if (!creds.webhookUsername || !creds.webhookPassword) return false;
  const got = h.get("authorization") ?? "";
  return timingSafeEqual(got, `Basic ${btoa(`${creds.webhookUsername}:${creds.webhookPassword}`)}`);
}

function parsePostmark(body: string): ProviderEvent[] {
  const e = JSON.parse(body) as Record<string, unknown>;
  const record = String(e.RecordType);
  const hard = record === "Bounce" && ["HardBounce", "BadEmailAddress", "ManuallyDeactivated", "SpamNotification"].includes(String(e.Type));
  const kind = hard ? "bounced" : record === "SpamComplaint" ? "complained" : record === "Delivery" ? "delivered" : "ignored";
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
}

// ---- Amazon SES via SNS: certificate-signed messages ------------------------------------------

const SNS_HOST = /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;
const certKeys = new Map<string, Promise<CryptoKey>>();

interface SnsMessage {
  Type: string;
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp: string;
  Subject?: string;
  Token?: string;
  SubscribeURL?: string;
  SignatureVersion: string;
  Signature: string;
  SigningCertURL: string;
}

function snsStringToSign(m: SnsMessage) {
  const fields =
    m.Type === "Notification"
      ? ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
      : ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"];
  return fields
    .filter((f) => m[f as keyof SnsMessage] !== undefined)
    .map((f) => `${f}\n${m[f as keyof SnsMessage]}\n`)
    .join("");
}

async function snsKey(url: string, hash: "SHA-1" | "SHA-256") {
  const id = `${hash} ${url}`;
  let k = certKeys.get(id);
  if (!k) {
    k = (async () => {
      const res = await fetch(url);
      if (!res.ok) throw new Error(`certificate fetch failed: ${res.status}`);
      const spki = spkiFromCertificate(pemToDer(await res.text()));
      return crypto.subtle.importKey("spki", spki, { name: "RSASSA-PKCS1-v1_5", hash }, false, ["verify"]);
    })();
    certKeys.set(id, k);
    k.catch(() => certKeys.delete(id));
  }
  return k;
}

async function verifySes(_h: Headers, body: string, creds: Creds) {
  let m: SnsMessage;
  try {
    m = JSON.parse(body) as SnsMessage;
  } catch {
    return false;
  }
  let certUrl: URL;
  try {
    certUrl = new URL(m.SigningCertURL);
  } catch {
    return false;
  }
  if (certUrl.protocol !== "https:" || !SNS_HOST.test(certUrl.hostname) || !certUrl.pathname.endsWith(".pem")) return false;
  if (m.SignatureVersion !== "1" && m.SignatureVersion !== "2") return false;
  const key = await snsKey(certUrl.toString(), m.SignatureVersion === "1" ? "SHA-1" : "SHA-256");
  const ok = await crypto.subtle.verify("RSASSA-PKCS1-v1_5", key, b64(m.Signature), enc(snsStringToSign(m)));
  // The topic must be the one configured on the connection.
  return ok && (!creds.topicArn || m.TopicArn === creds.topicArn);
}

function parseSes(body: string): ProviderEvent[] {
  const m = JSON.parse(body) as SnsMessage;
  if (m.Type !== "Notification") return [];
  const n = JSON.parse(m.Message) as {
    notificationType?: string;
    eventType?: string;
    mail?: { messageId?: string; tags?: Record<string, string[]> };
    bounce?: { bounceType?: string; bouncedRecipients?: { diagnosticCode?: string }[] };
  };
  const type = n.notificationType ?? n.eventType;
  const kind =
    type === "Bounce"
      ? n.bounce?.bounceType === "Permanent"
        ? "bounced"
        : "ignored"
      : type === "Complaint"
        ? "complained"
        : type === "Delivery"
          ? "delivered"
          : "ignored";
  return [
    {
      eventId: m.MessageId,
      kind,
      providerMessageId: n.mail?.messageId,
      ourMessageId: n.mail?.tags?.nudge_message_id?.[0],
      reason: n.bounce?.bouncedRecipients?.[0]?.diagnosticCode,
    },
  ];
}

async function confirmSnsSubscription(body: string) {
  const m = JSON.parse(body) as SnsMessage;
  if (m.Type !== "SubscriptionConfirmation" || !m.SubscribeURL) return false;
  const url = new URL(m.SubscribeURL);
  if (url.protocol !== "https:" || !SNS_HOST.test(url.hostname)) return false;
  const res = await fetch(url.toString());
  await res.body?.cancel();
  return res.ok;
}

// ---- dispatch ----------------------------------------------------------------------------------

type Verifier = (h: Headers, body: string, creds: Creds, env: Env) => Promise<boolean>;
const PROVIDERS: Record<string, { verify: Verifier; parse: (body: string, h: Headers) => ProviderEvent[] }> = {
  sendgrid: { verify: verifySendgrid, parse: parseSendgrid },
  resend: { verify: verifyResend, parse: parseResend },
  postmark: { verify: verifyPostmark, parse: parsePostmark },
  ses: { verify: verifySes, parse: parseSes },
};

async function applyEvent(env: Env, db: Db, orgId: string, provider: string, e: ProviderEvent): Promise<boolean> {
  if (!(await markInboundSeen(db, provider, e.eventId))) return false;
  if (e.kind === "ignored") return false;
  let msg = e.ourMessageId ? await getMessage(db, orgId, e.ourMessageId) : undefined;
  if (!msg && e.providerMessageId) {
    const found = await findByProviderId(db, e.providerMessageId);
    msg = found?.orgId === orgId ? found : undefined;
  }
  if (!msg) return false;
  const data = { messageId: msg.id, enrollmentId: msg.enrollmentId, stepId: msg.stepId, ...(e.reason ? { reason: e.reason } : {}) };
  if (e.kind === "delivered") {
    if (msg.status !== "sent") return false;
    await settleMessage(db, msg.id, { status: "delivered", deliveredAt: Date.now() });
    await systemEvent(env, db, orgId, msg.contactId, "email.delivered", data, `${provider}:${e.eventId}`);
    return true;
  }
  await settleMessage(db, msg.id, { status: e.kind, error: e.reason ?? null });
  await suppressContact(db, orgId, msg.contactId, e.kind);
  await systemEvent(env, db, orgId, msg.contactId, e.kind === "bounced" ? "email.bounced" : "email.complained", data, `${provider}:${e.eventId}`);
  return true;
}

export async function handleInbound(c: Context<AppEnv>, provider: string, connectionId: string) {
  const handler = Object.hasOwn(PROVIDERS, provider) ? PROVIDERS[provider] : undefined;
  if (!handler) return errorJson(c, "not_found", "Unknown inbound endpoint");
  const db = database(c.env.DB);
  const conn = await getConnectionById(db, connectionId);
  if (!conn || conn.provider !== provider) return errorJson(c, "not_found", "Unknown inbound endpoint");
  const body = await c.req.text();
  const creds = JSON.parse(await decrypt(c.env, conn.credentials)) as Creds;
  let verified = false;
  try {
    verified = await handler.verify(c.req.raw.headers, body, creds, c.env);
  } catch (err) {
    console.error(JSON.stringify({ level: "warn", msg: "inbound signature check errored", provider, error: String(err) }));
  }
  if (!verified) return errorJson(c, "unauthorized", "Invalid signature");
  if (provider === "ses" && (await confirmSnsSubscription(body))) return c.json({ received: 0, applied: 0 }, 200);
  let events: ProviderEvent[];
  try {
    events = handler.parse(body, c.req.raw.headers);
  } catch {
    return errorJson(c, "invalid_json", "The provider payload could not be parsed");
  }
  let applied = 0;
  for (const e of events) if (await applyEvent(c.env, db, conn.orgId, provider, e)) applied++;
  return c.json({ received: events.length, applied }, 200);
}
