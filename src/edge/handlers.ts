// The edge's handlers. Pixel, click and unsubscribe answer from the signed token alone — no D1
// before the response; what happened goes to EVENT_QUEUE with waitUntil. Inbound provider
// webhooks (delivery events, and received mail: replies) check the provider's signature
// before anything else. Abuse is limited where it
// enters (src/http/rate-limit.ts): per token, per IP only for tokens that fail verification,
// per inbound connection (signed requests apart from failing ones), per IP for unknown ones.
import type { Context } from "hono";
import { html } from "hono/html";
import { fileOf, getReport } from "../analytics";
import { ownerOf, shardFor } from "../db/shards";
import { config } from "../ground/config";
import type { AppEnv } from "../ground/env";
import { DomainError } from "../ground/errors";
import { newId } from "../ground/ids";
import { errorText } from "../ground/log";
import type { Handler } from "../http/openapi";
import { Blocklist, clientIp, LocalCounter, rateLimited, spend } from "../http/rate-limit";
import {
  applyDeliveryEvents,
  applyPhoneEvents,
  claimSignatureNonce,
  confirmSubscription,
  getConnectionById,
  parseRawMail,
  type ReceivedMail,
  receiveMail,
  savePreferences as saveChoices,
} from "../messaging";
import { phoneProviderOf, providerOf } from "../providers";
import type { PhoneEvent } from "../providers/phone";
import {
  badSignature,
  type Credentials,
  type DeliveryEvent,
  type InboundRequest,
  type Verdict,
} from "../providers/provider";
import { decrypt } from "../security/credentials";
import {
  LINK_LIFETIME_DAYS,
  linkExpired,
  type PreferenceSnapshot,
  type TokenKind,
  type TokenPayload,
  verifyToken,
} from "../security/tokens";
import { record } from "./batcher";
import { machineReason } from "./machine";
import type * as routes from "./routes";

// A transparent 1×1 GIF.
const PIXEL = Uint8Array.from(
  atob("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"),
  (c) => c.charCodeAt(0),
);
const NO_STORE = {
  "cache-control": "no-store, no-cache, must-revalidate, private",
  pragma: "no-cache",
};
const gif = (c: Context<AppEnv>) =>
  c.body(PIXEL, 200, { "content-type": "image/gif", ...NO_STORE });

/** Hits of one token in a minute, in one isolate, before its rate limit is consulted. */
const HOT_TOKEN_HITS = 20;
const tokenHits = new LocalCounter();

const machineOf = (c: Context<AppEnv>) =>
  machineReason(
    c.req.method,
    c.req.header("user-agent") ?? null,
    c.req.header("cf-connecting-ip") ?? null,
  );

const badToken = () => new DomainError("not_found", "Unknown or invalid link");
const unknownEndpoint = () => new DomainError("not_found", "Unknown inbound endpoint");

/**
 * The verified token, after its rate limit: per token when it verifies, per IP when it does
 * not (then 404, or 429 once that IP is over its limit).
 */
async function trackingToken(
  c: Context<AppEnv>,
  kind: TokenKind,
  token: string,
): Promise<TokenPayload> {
  const p = await verifyToken(c.env, token, kind);
  if (!p) {
    const ip = clientIp((name) => c.req.header(name));
    if (ip) {
      await spend(c.env.BAD_TOKEN_LIMITER, ip, "Too many invalid links from this address");
    }
    throw badToken();
  }
  // The binding is asked only once a token is hot in this isolate (real opens never are).
  const key = `${kind}:${p.m}:${p.l ?? ""}`;
  if (tokenHits.hit(key) > HOT_TOKEN_HITS) {
    await spend(c.env.TRACKING_LIMITER, key, "Too many requests for this link; retry later");
  }
  return p;
}

/** Seconds since the token was issued; null for tokens made before they carried the time. */
const ageSeconds = (p: TokenPayload, now = Date.now()) =>
  p.t === undefined ? null : now / 1000 - p.t;

const maxClickAgeSeconds = (c: Context<AppEnv>) => config(c.env).clickTokenMaxAgeDays * 86_400;

const page = (title: string, body: ReturnType<typeof html>) =>
  html`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><title>${title}</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}a{word-break:break-all}button{font:inherit;padding:.6rem 1.2rem;border:0;border-radius:.4rem;background:#222;color:#fff;cursor:pointer}</style></head><body>${body}</body></html>`;

export const open: Handler<typeof routes.open> = async (c) => {
  const p = await trackingToken(c, "o", c.req.valid("param").token);
  // Pixels of old tokens still answer; they record nothing.
  if ((ageSeconds(p) ?? 0) > maxClickAgeSeconds(c)) {
    return gif(c);
  }
  record(c, {
    kind: "open",
    id: newId("evt"),
    orgId: p.g,
    messageId: p.m,
    at: Date.now(),
    machine: machineOf(c),
  });
  return gif(c);
};

export const click: Handler<typeof routes.click> = async (c) => {
  const p = await trackingToken(c, "c", c.req.valid("param").token);
  const url = p.u as string;
  if ((ageSeconds(p) ?? 0) > maxClickAgeSeconds(c)) {
    // An old link may have been forwarded or scraped: show where it goes instead of going there.
    return c.html(
      page(
        "This link has expired",
        html`<h1>This link has expired</h1><p>It led to:</p><p><a href="${url}" rel="noopener noreferrer nofollow">${url}</a></p>`,
      ),
      200,
      NO_STORE,
    );
  }
  record(c, {
    kind: "click",
    id: newId("evt"),
    orgId: p.g,
    messageId: p.m,
    at: Date.now(),
    machine: machineOf(c),
    linkIndex: p.l,
    url,
  });
  return c.body(null, 302, { location: url, ...NO_STORE });
};

/** What to do instead, per kind of consent link that expired. */
const EXPIRED_ADVICE = {
  s: `Links to confirm a subscription work for ${LINK_LIFETIME_DAYS.s} days. Sign up again to get a new one.`,
  p: `Links to your email preferences work for ${LINK_LIFETIME_DAYS.p} days. Use the link in a recent email from us.`,
  u: `Unsubscribe links work for ${LINK_LIFETIME_DAYS.u} days. Use the link in a recent email from us, or reply to it asking to be removed.`,
} as const;

/**
 * A consent link past its lifetime: 410 `link_expired` — a page a person can read for a browser
 * (it asks for HTML), the one error shape for anything else (a mail client's one-click POST).
 */
const expiredLink = (
  c: Context<AppEnv>,
  kind: keyof typeof EXPIRED_ADVICE,
  branding?: PreferenceSnapshot["b"],
) => {
  if (!(c.req.header("accept") ?? "").includes("text/html")) {
    throw new DomainError("link_expired", `This link has expired. ${EXPIRED_ADVICE[kind]}`);
  }
  const body = html`<h1>This link has expired</h1><p>${EXPIRED_ADVICE[kind]}</p>`;
  return c.html(
    branding
      ? brandedPage("This link has expired", branding, body)
      : page("This link has expired", body),
    410,
    NO_STORE,
  );
};

export const unsubscribePage: Handler<typeof routes.unsubscribePage> = async (c) => {
  const t = c.req.valid("param").token;
  const p = await trackingToken(c, "u", t);
  if (linkExpired(p, "u")) {
    return expiredLink(c, "u");
  }
  return c.html(
    page(
      "Unsubscribe",
      html`<h1>Unsubscribe</h1><p>Stop receiving these emails?</p><form method="post" action="/t/u/${t}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
    ),
    200,
    NO_STORE,
  );
};

/** RFC 8058: the POST body carries List-Unsubscribe=One-Click (form-encoded or multipart). */
async function saysOneClick(c: Context<AppEnv>): Promise<boolean> {
  try {
    const form = await c.req.parseBody();
    const value = form["List-Unsubscribe"];
    return typeof value === "string" && value.trim() === "One-Click";
  } catch {
    return false;
  }
}

export const unsubscribe: Handler<typeof routes.unsubscribe> = async (c) => {
  const p = await trackingToken(c, "u", c.req.valid("param").token);
  if (!p.c) {
    throw badToken();
  }
  if (linkExpired(p, "u")) {
    return expiredLink(c, "u");
  }
  if (!(await saysOneClick(c))) {
    throw new DomainError(
      "bad_request",
      "A one-click unsubscribe carries the form body List-Unsubscribe=One-Click (RFC 8058)",
    );
  }
  // No cookies are needed: the signed token names the message and the contact.
  record(c, {
    kind: "unsubscribe",
    id: newId("evt"),
    orgId: p.g,
    messageId: p.m,
    contactId: p.c,
    at: Date.now(),
  });
  return c.html(
    page(
      "Unsubscribed",
      html`<h1>You are unsubscribed</h1><p>You will not receive these emails any more.</p>`,
    ),
    200,
    NO_STORE,
  );
};

/** IPs over their limit of unknown connection ids: refused before the D1 lookup until it ends. */
const unknownIdIps = new Blocklist();
const TOO_MANY_UNKNOWN = "Too many webhook requests for unknown connections from this address";

/**
 * A provider's request for one of its connections: refused (404) when the connection is not
 * that provider's — counted per IP, so random ids cannot cost a D1 read each without end — and
 * verified with its credentials. The connection's budget is spent only by requests that pass
 * its signature check; failing ones count under a key of their own, so unsigned junk can never
 * starve the provider's signed traffic.
 */
async function verifiedInbound(
  c: Context<AppEnv>,
  name: string,
  connectionId: string,
  verify: (req: InboundRequest, credentials: Credentials) => Promise<Verdict>,
  nonce?: (req: InboundRequest) => Promise<string | null>,
) {
  const ip = clientIp((header) => c.req.header(header));
  const blockedFor = ip ? unknownIdIps.retryAfter(ip) : 0;
  if (blockedFor > 0) {
    throw rateLimited(TOO_MANY_UNKNOWN, blockedFor);
  }
  // The URL names the connection, not its org: the directory knows whose it is.
  const orgId = await ownerOf(
    c.env,
    "connection",
    connectionId,
    async (db) => (await getConnectionById(db, connectionId))?.orgId,
  );
  const db = orgId ? await shardFor(c.env, orgId) : undefined;
  const conn = db ? await getConnectionById(db, connectionId) : undefined;
  if (!db || !conn || conn.provider !== name) {
    if (ip) {
      const { success } = await c.env.INBOUND_UNKNOWN_LIMITER.limit({ key: ip });
      if (!success) {
        unknownIdIps.block(ip);
        throw rateLimited(TOO_MANY_UNKNOWN);
      }
    }
    throw unknownEndpoint();
  }
  const req = { headers: c.req.raw.headers, body: await c.req.text() };
  const credentials = JSON.parse(
    await decrypt(c.env, conn.credentials, {
      orgId: conn.orgId,
      table: "connections",
      rowId: conn.id,
    }),
  ) as Credentials;
  let verdict: Verdict = badSignature;
  try {
    verdict = await verify(req, credentials);
  } catch (err) {
    c.get("log").warn("inbound signature check errored", {
      provider: name,
      connectionId,
      error: errorText(err),
    });
  }
  const once = verdict.ok && nonce ? await nonce(req) : null;
  if (once && !(await claimSignatureNonce(db, conn.id, once))) {
    verdict = { ok: false, status: 401, reason: "This signature was already used" };
  }
  if (!verdict.ok) {
    await spend(
      c.env.INBOUND_LIMITER,
      `unverified:${connectionId}`,
      "Too many unverified webhook requests for this connection",
    );
    throw new DomainError(verdict.status === 403 ? "forbidden" : "unauthorized", verdict.reason);
  }
  await spend(c.env.INBOUND_LIMITER, connectionId, "Too many webhook requests for this connection");
  return { db, conn, req, credentials };
}

/**
 * A phone provider's webhook: Twilio's status callbacks and incoming texts (answered with
 * TwiML: empty, or the HELP reply), a voice agent's end-of-call report.
 */
async function phoneInbound(c: Context<AppEnv>, name: string, connectionId: string) {
  const hook = phoneProviderOf(name)?.inbound;
  if (!hook) {
    throw unknownEndpoint();
  }
  const url = c.req.url;
  const { db, conn, req } = await verifiedInbound(c, name, connectionId, (r, credentials) =>
    hook.verify({ ...r, url }, credentials),
  );
  let events: PhoneEvent[];
  try {
    events = hook.parse(req);
  } catch {
    throw new DomainError("invalid_json", "The provider payload could not be parsed");
  }
  const r = await applyPhoneEvents(c.env, db, conn, events, c.get("log"));
  if (name === "twilio") {
    const say = r.reply ? `<Message>${r.reply}</Message>` : "";
    return c.body(`<?xml version="1.0" encoding="UTF-8"?><Response>${say}</Response>`, 200, {
      "content-type": "text/xml; charset=utf-8",
    });
  }
  return c.json({ received: events.length, applied: r.applied }, 200);
}

export const inbound: Handler<typeof routes.inbound> = async (c) => {
  const { provider: name, connectionId } = c.req.valid("param");
  if (phoneProviderOf(name)) {
    return phoneInbound(c, name, connectionId) as never;
  }
  const webhook = providerOf(name)?.inbound;
  if (!webhook) {
    throw unknownEndpoint();
  }
  const { db, conn, req, credentials } = await verifiedInbound(
    c,
    name,
    connectionId,
    webhook.verify,
    webhook.nonce,
  );
  if (await webhook.handshake?.(req, credentials)) {
    return c.json({ received: 0, applied: 0 }, 200);
  }
  let events: DeliveryEvent[];
  try {
    events = webhook.parse(req);
  } catch {
    throw new DomainError("invalid_json", "The provider payload could not be parsed");
  }
  const applied = await applyDeliveryEvents(c.env, db, conn, events);
  return c.json({ received: events.length, applied }, 200);
};

/** Mail received at the provider (replies), matched and classified like the email() handler's. */
export const inboundMail: Handler<typeof routes.inboundMail> = async (c) => {
  const { provider: name, connectionId } = c.req.valid("param");
  const hook = providerOf(name)?.inboundMail;
  if (!hook) {
    throw unknownEndpoint();
  }
  const { db, conn, req, credentials } = await verifiedInbound(
    c,
    name,
    connectionId,
    hook.verify,
    hook.nonce,
  );
  let mail: ReceivedMail;
  try {
    const payload = await hook.parse(req, credentials);
    mail =
      "raw" in payload
        ? await parseRawMail(payload.raw, name, { from: payload.from, to: payload.to })
        : { ...payload, via: name };
  } catch {
    throw new DomainError("invalid_json", "The provider payload could not be parsed");
  }
  const r = await receiveMail(c.env, db, mail, c.get("log"), conn.orgId);
  return c.json({ id: r.id, kind: r.kind, match: r.match, messageId: r.messageId ?? null }, 200);
};

/** A report's file by its signed link: the run it was signed for, until it expires. */
export const reportFile: Handler<typeof routes.reportFile> = async (c) => {
  const p = await trackingToken(c, "r", c.req.valid("param").token);
  const r = await getReport(await shardFor(c.env, p.g), p.g, p.m);
  if (!r) {
    throw badToken();
  }
  if ((p.x ?? 0) * 1000 < Date.now() || p.n !== r.generation) {
    throw new DomainError(
      "link_expired",
      p.n !== r.generation
        ? "This link is for an earlier run of the report; ask for a new one with GET /v1/reports/{id}"
        : "This link has expired; ask for a new one with GET /v1/reports/{id}",
    );
  }
  return fileOf(c.env.REPORTS, r) as never;
};

/** A page in the org's colours, with its logo and name. */
const brandedPage = (title: string, b: PreferenceSnapshot["b"], body: ReturnType<typeof html>) => {
  const accent = /^#[0-9a-fA-F]{6}$/.test(b.a ?? "") ? (b.a as string) : "#222222";
  const logo = b.l?.startsWith("https://") ? html`<img src="${b.l}" alt="" height="40">` : "";
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><title>${title}</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}header{display:flex;gap:.8rem;align-items:center;border-bottom:3px solid ${accent};padding-bottom:.8rem;margin-bottom:1.2rem}label{display:block;margin:.5rem 0}small{color:#666;display:block;margin-left:1.6rem}button{font:inherit;padding:.6rem 1.2rem;border:0;border-radius:.4rem;background:${accent};color:#fff;cursor:pointer}</style></head><body><header>${logo}<strong>${b.n ?? ""}</strong></header>${body}</body></html>`;
};

/**
 * The preference form. `all_shown` carries how "unsubscribe from everything" was drawn: an
 * unticked box is not posted, so without it an unticked box the person left alone could not be
 * told from one they unticked.
 */
const preferencesForm = (t: string, topics: [string, string, boolean][], all: boolean) =>
  html`<form method="post" action="/t/p/${t}"><input type="hidden" name="all_shown" value="${all ? "on" : "off"}"><fieldset><legend>Emails you get</legend>${topics.map(
    ([key, name, on]) =>
      html`<label><input type="checkbox" name="topic" value="${key}"${on ? html` checked` : ""}> ${name}</label>`,
  )}</fieldset><label><input type="checkbox" name="all" value="on"${all ? html` checked` : ""}> Unsubscribe from everything</label><button type="submit">Save preferences</button></form>`;

export const preferencesPage: Handler<typeof routes.preferencesPage> = async (c) => {
  const t = c.req.valid("param").token;
  const p = await trackingToken(c, "p", t);
  const s = p.s ?? { b: {}, t: [], u: 0 };
  if (linkExpired(p, "p")) {
    return expiredLink(c, "p", s.b);
  }
  return c.html(
    brandedPage(
      "Email preferences",
      s.b,
      html`<h1>Email preferences</h1>${preferencesForm(t, s.t, s.u === 1)}`,
    ),
    200,
    NO_STORE,
  );
};

export const savePreferences: Handler<typeof routes.savePreferences> = async (c) => {
  const t = c.req.valid("param").token;
  const p = await trackingToken(c, "p", t);
  if (!p.c || !p.s) {
    throw badToken();
  }
  if (linkExpired(p, "p")) {
    return expiredLink(c, "p", p.s.b);
  }
  let form: Record<string, string | File | (string | File)[]>;
  try {
    form = await c.req.parseBody({ all: true });
  } catch {
    throw new DomainError("bad_request", "Send the preference form (form-encoded)");
  }
  const raw = form.topic;
  const chosen = new Set((Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map(String));
  const everything = form.all === "on";
  // A form drawn before it carried `all_shown` showed what its link's snapshot says.
  const everythingShown =
    typeof form.all_shown === "string" ? form.all_shown === "on" : p.s.u === 1;
  const shown = p.s.t.map(([key]) => key);
  const saved = await saveChoices(c.env, await shardFor(c.env, p.g), p.g, p.c, {
    shown,
    chosen,
    everything,
    everythingShown,
  });
  if (!saved) {
    throw badToken();
  }
  const topics = p.s.t.map(
    ([key, name]) => [key, name, chosen.has(key)] as [string, string, boolean],
  );
  // The page shows the contact as saved, which the form may not have changed (unsubscribed
  // from everything elsewhere since the form was drawn).
  const status = everything
    ? "You are unsubscribed from all our marketing emails."
    : saved.subscribed
      ? "Your choices are saved."
      : "Your choices are saved. You are still unsubscribed from all our marketing emails: untick “Unsubscribe from everything” to hear from us again.";
  return c.html(
    brandedPage(
      "Preferences saved",
      p.s.b,
      html`<h1>Preferences saved</h1><p role="status">${status}</p>${preferencesForm(t, topics, !saved.subscribed)}`,
    ),
    200,
    NO_STORE,
  );
};

/**
 * The confirmation link's page: a button, and nothing that presses it. Link scanners fetch —
 * and some render, scripts and all — every link of an email; consent is given only by a person
 * pressing the button (the POST below).
 */
export const confirmPage: Handler<typeof routes.confirmPage> = async (c) => {
  const t = c.req.valid("param").token;
  const p = await trackingToken(c, "s", t);
  if (linkExpired(p, "s")) {
    return expiredLink(c, "s");
  }
  return c.html(
    page(
      "Confirm your subscription",
      html`<h1>Confirm your subscription</h1><p>Press the button to confirm that you want to hear from us.</p><form method="post" action="/t/s/${t}"><button type="submit">Confirm my subscription</button></form>`,
    ),
    200,
    NO_STORE,
  );
};

export const confirm: Handler<typeof routes.confirm> = async (c) => {
  const p = await trackingToken(c, "s", c.req.valid("param").token);
  if (linkExpired(p, "s")) {
    return expiredLink(c, "s");
  }
  const contact = await confirmSubscription(c.env, await shardFor(c.env, p.g), p.g, p.c ?? p.m);
  if (!contact) {
    throw badToken();
  }
  return c.html(
    page("Subscription confirmed", html`<h1>Thank you</h1><p>Your subscription is confirmed.</p>`),
    200,
    NO_STORE,
  );
};
