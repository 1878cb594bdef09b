// Tracking injection with HTMLRewriter: every <a href> becomes a signed click link, an open
// pixel is appended, and the RFC 8058 headers point at the signed unsubscribe URL.

import { signToken, trackingUrl } from "../edge/tokens";
import type { Env } from "../env";

export interface TrackingOptions {
  opens: boolean;
  clicks: boolean;
}

const TRACKABLE = /^https?:\/\//i;

export async function unsubscribeUrl(env: Env, orgId: string, messageId: string, contactId: string) {
  return trackingUrl(env, "u", await signToken(env, { k: "u", g: orgId, m: messageId, c: contactId }));
}

export function unsubscribeHeaders(url: string): Record<string, string> {
  return { "List-Unsubscribe": `<${url}>`, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" };
}

export async function injectTracking(env: Env, html: string, orgId: string, messageId: string, opts: TrackingOptions): Promise<string> {
  const hrefs: string[] = [];
  if (opts.clicks) {
    // First pass collects the links so their tokens can be signed (async) before rewriting.
    await new HTMLRewriter()
      .on("a[href]", {
        element(el) {
          const href = el.getAttribute("href") ?? "";
          if (TRACKABLE.test(href)) hrefs.push(href);
        },
      })
      .transform(new Response(html))
      .text();
  }
  const links = await Promise.all(hrefs.map((u, l) => signToken(env, { k: "c", g: orgId, m: messageId, l, u }).then((t) => trackingUrl(env, "c", t))));
  const pixel = opts.opens ? trackingUrl(env, "o", await signToken(env, { k: "o", g: orgId, m: messageId })) : null;
  let index = 0;
  let pixelPlaced = false;
  const img = pixel ? `<img src="${pixel}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0" />` : "";
  const rewriter = new HTMLRewriter();
  if (opts.clicks) {
    rewriter.on("a[href]", {
      element(el) {
        const href = el.getAttribute("href") ?? "";
        if (TRACKABLE.test(href) && index < links.length) el.setAttribute("href", links[index++]);
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
