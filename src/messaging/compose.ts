// What an email looks like when it leaves: the template (or the step's inline sources)
// rendered for the contact, every <a href> rewritten to a signed click link, an open pixel
// appended (HTMLRewriter), a text part, and RFC 8058 headers pointing at the signed
// unsubscribe URL.

import { publicUrl } from "../accounts";
import type { ContactRow } from "../contacts";
import { contactSnapshot } from "../contacts";
import { getBranding } from "../db/api-keys";
import type { Db } from "../db/client";
import { renderTemplate } from "../engine/templates";
import type { Env } from "../ground/env";
import { Memo } from "../ground/memo";
import type { EmailJob } from "../ground/queues";
import { htmlToText } from "../lib/text";
import type { OutgoingEmail } from "../providers/provider";
import { replyToken, signToken, trackingUrl } from "../security/tokens";
import { getTemplate } from "./templates-store";
import { allTopics } from "./topics-store";

const DEFAULT_FROM = "Nudge <no-reply@nudge.local>";
const TRACKABLE = /^https?:\/\//i;

export interface TrackingOptions {
  opens: boolean;
  clicks: boolean;
}

/** An email that cannot be composed (a missing template, a template that fails to render): retrying will not help. */
export class CompositionError extends Error {}

export async function unsubscribeUrl(
  env: Env,
  base: string,
  orgId: string,
  messageId: string,
  contactId: string,
) {
  return trackingUrl(
    base,
    "u",
    await signToken(env, { k: "u", g: orgId, m: messageId, c: contactId }),
  );
}

/**
 * The contact's preference page: its topics, its choices and the org's branding signed into
 * the link, so the page opens without a database read (a later visit shows the choices as of
 * this email; saving applies them).
 */
export async function preferencesUrl(
  env: Env,
  db: Db,
  base: string,
  contact: ContactRow,
  messageId: string,
  memo?: Memo,
) {
  const load = () => Promise.all([allTopics(db, contact.orgId), getBranding(db, contact.orgId)]);
  const [topicRows, branding] = memo
    ? await memo.get(`preferences ${contact.orgId}`, load)
    : await load();
  const b = { name: branding?.name, ...branding?.b };
  return trackingUrl(
    base,
    "p",
    await signToken(env, {
      k: "p",
      g: contact.orgId,
      m: messageId,
      c: contact.id,
      s: {
        b: { n: b.name, l: b.logoUrl, a: b.accentColor },
        t: topicRows.map((t) => [t.key, t.name, contact.topics[t.key] ?? t.defaultSubscribed]),
        u: contact.subscribed ? 0 : 1,
      },
    }),
  );
}

export function unsubscribeHeaders(url: string): Record<string, string> {
  return { "List-Unsubscribe": `<${url}>`, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" };
}

export async function injectTracking(
  env: Env,
  base: string,
  html: string,
  orgId: string,
  messageId: string,
  opts: TrackingOptions,
): Promise<string> {
  const hrefs: string[] = [];
  // Links to Nudge's own pages (preferences, unsubscribe, confirmation) are not click-tracked.
  const tracked = (href: string) => TRACKABLE.test(href) && !href.startsWith(`${base}/t/`);
  // No anchor at all (a common plain email): nothing to collect.
  if (opts.clicks && /<a[\s>]/i.test(html)) {
    // First pass collects the links so their tokens can be signed (async) before rewriting.
    await new HTMLRewriter()
      .on("a[href]", {
        element(el) {
          const href = el.getAttribute("href") ?? "";
          if (tracked(href)) {
            hrefs.push(href);
          }
        },
      })
      .transform(new Response(html))
      .text();
  }
  const links = await Promise.all(
    hrefs.map((u, l) =>
      signToken(env, { k: "c", g: orgId, m: messageId, l, u }).then((t) =>
        trackingUrl(base, "c", t),
      ),
    ),
  );
  const pixel = opts.opens
    ? trackingUrl(base, "o", await signToken(env, { k: "o", g: orgId, m: messageId }))
    : null;
  let index = 0;
  let pixelPlaced = false;
  const img = pixel
    ? `<img src="${pixel}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0" />`
    : "";
  const rewriter = new HTMLRewriter();
  if (opts.clicks) {
    rewriter.on("a[href]", {
      element(el) {
        const href = el.getAttribute("href") ?? "";
        if (tracked(href) && index < links.length) {
          el.setAttribute("href", links[index++]);
        }
      },
    });
  }
  if (pixel) {
    rewriter.on("body", {
      element(el) {
        el.append(img, { html: true });
        pixelPlaced = true;
      },
    });
  }
  const out = await rewriter.transform(new Response(html)).text();
  return pixel && !pixelPlaced ? out + img : out;
}

/** Where an email comes from: its connection's From and reply domain. */
export interface Sender {
  from: string | null;
  replyDomain: string | null;
}

/** The email a threaded follow-up answers (the enrollment's previous one). */
export interface ThreadParent {
  subject: string | null;
  rfcMessageId: string | null;
}

const domainOf = (address: string) => /@([^>\s]+)>?\s*$/.exec(address)?.[1]?.toLowerCase() ?? null;
const reSubject = (subject: string) => (/^re:/i.test(subject) ? subject : `Re: ${subject}`);

/** Links in a text-only email, rewritten to signed click links. */
async function trackTextLinks(
  env: Env,
  base: string,
  text: string,
  orgId: string,
  messageId: string,
) {
  const URL_IN_TEXT = /https?:\/\/[^\s<>")\]]+/g;
  const urls = [...new Set(text.match(URL_IN_TEXT) ?? [])];
  const links = new Map<string, string>();
  for (const [l, u] of urls.entries()) {
    const token = await signToken(env, { k: "c", g: orgId, m: messageId, l, u });
    links.set(u, trackingUrl(base, "c", token));
  }
  // One pass: each URL is replaced where it stands, never inside a link already written.
  return text.replace(URL_IN_TEXT, (u) => links.get(u) ?? u);
}

/**
 * The email for one send_email job, ready for a provider. Every email gets a Message-ID
 * (`<msg_...@domain>`, what replies point at) and, when its connection has a reply domain, a
 * signed reply address. `parent`: the previous email, for `thread: "previous"`.
 */
export async function composeEmail(
  env: Env,
  db: Db,
  job: EmailJob,
  messageId: string,
  contact: ContactRow & { email: string },
  sender: Sender,
  memo = new Memo(),
  parent: ThreadParent | null = null,
): Promise<OutgoingEmail> {
  const config = job.config;
  let source: { subject?: string; html: string; text?: string | null } & {
    from?: string | null;
    replyTo?: string | null;
  };
  if ("templateId" in config) {
    const t = await memo.get(`template ${job.orgId} ${config.templateId}`, () =>
      getTemplate(db, job.orgId, config.templateId),
    );
    if (!t) {
      throw new CompositionError(`Template ${config.templateId} does not exist`);
    }
    source = t;
  } else {
    source = { subject: config.subject, html: config.html, text: config.text ?? null };
  }
  const threaded = config.thread === "previous" && parent?.rfcMessageId ? parent : null;
  const subject = source.subject ?? (threaded?.subject ? reSubject(threaded.subject) : null);
  if (subject === null) {
    throw new CompositionError(
      'thread: "previous" found no earlier email of this enrollment to take the subject from; give the step a subject',
    );
  }
  const base = await publicUrl(env, db, job.orgId);
  const unsubscribe = await unsubscribeUrl(env, base, job.orgId, messageId, contact.id);
  const preferences = await preferencesUrl(env, db, base, contact, messageId, memo);
  let rendered: ReturnType<typeof renderTemplate>;
  try {
    rendered = renderTemplate(
      { subject: source.subject ?? "-", html: source.html, text: source.text ?? null },
      {
        contact: contactSnapshot(contact),
        vars: job.vars,
        event: job.event,
        workflow: { id: job.workflowId, name: job.workflowName },
        enrollment: { id: job.enrollmentId },
        unsubscribeUrl: unsubscribe,
        unsubscribe_url: unsubscribe,
        preferencesUrl: preferences,
        preferences_url: preferences,
      },
    );
  } catch (err) {
    throw new CompositionError((err as Error).message);
  }
  const plain = config.plainText === true;
  const text = rendered.text ?? htmlToText(rendered.html);
  const html = plain
    ? null
    : await injectTracking(env, base, rendered.html, job.orgId, messageId, {
        opens: config.track?.opens ?? true,
        clicks: config.track?.clicks ?? true,
      });
  const from = config.from ?? source.from ?? sender.from ?? DEFAULT_FROM;
  const domain = sender.replyDomain ?? domainOf(from) ?? new URL(base).hostname;
  const replyAddress = sender.replyDomain
    ? `reply+${await replyToken(env, messageId)}@${sender.replyDomain}`
    : null;
  return {
    messageId,
    idempotencyKey: job.key,
    from,
    to: contact.email,
    replyTo: config.replyTo ?? source.replyTo ?? replyAddress,
    subject: source.subject === undefined ? subject : rendered.subject,
    html,
    text:
      plain && config.track?.clicks === true
        ? await trackTextLinks(env, base, text, job.orgId, messageId)
        : text,
    headers: {
      // Transactional mail carries no unsubscribe link unless the step asks for one.
      ...((config.category ?? "marketing") === "marketing" || config.unsubscribeLink
        ? unsubscribeHeaders(unsubscribe)
        : {}),
      "Message-ID": `<${messageId}@${domain}>`,
      ...(threaded?.rfcMessageId
        ? { "In-Reply-To": threaded.rfcMessageId, References: threaded.rfcMessageId }
        : {}),
    },
  };
}
