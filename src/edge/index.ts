// The edge: public, unauthenticated, latency-critical. Pixel, click and unsubscribe answer
// from the signed token alone — no D1 before the response; what happened goes to
// EVENT_QUEUE with waitUntil. Inbound provider webhooks check signatures before anything.
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { EventJob } from "../delivery/events";
import type { AppEnv } from "../env";
import { ErrorBody, errorJson } from "../http/errors";
import { newId } from "../http/ids";
import { json, router } from "../http/openapi";
import { handleInbound } from "./inbound";
import { machineReason } from "./machine";
import { verifyToken } from "./tokens";

// A transparent 1×1 GIF.
const PIXEL = Uint8Array.from(atob("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"), (c) => c.charCodeAt(0));
const NO_STORE = { "cache-control": "no-store, no-cache, must-revalidate, private", pragma: "no-cache" };

const token = z.object({
  token: z
    .string()
    .min(1)
    .max(8192)
    .openapi({ param: { name: "token", in: "path" } }),
});
const tags = ["Edge"];
/** An error answer in the one shape every route uses. */
const failure = (description: string) => ({ description, content: { "application/json": { schema: ErrorBody } } });

function enqueue(c: Context<AppEnv>, job: EventJob) {
  c.executionCtx.waitUntil(
    c.env.EVENT_QUEUE.send(job).catch((err) => console.error(JSON.stringify({ level: "error", msg: "edge event not queued", job, error: String(err) }))),
  );
}

function machineOf(c: Context<AppEnv>) {
  return machineReason(c.req.method, c.req.header("user-agent") ?? null, c.req.header("cf-connecting-ip") ?? null);
}

const notFoundToken = (c: Context<AppEnv>) => errorJson(c, "not_found", "Unknown or invalid link");

const routes = {
  open: createRoute({
    method: "get",
    path: "/t/o/{token}",
    tags,
    summary: "Open pixel",
    request: { params: token },
    responses: {
      200: { description: "A 1×1 GIF", content: { "image/gif": { schema: z.string().openapi({ format: "binary" }) } } },
      404: failure("Unknown, altered or foreign token (`not_found`)"),
    },
  }),
  click: createRoute({
    method: "get",
    path: "/t/c/{token}",
    tags,
    summary: "Click redirect",
    request: { params: token },
    responses: {
      302: { description: "Redirect to the signed destination" },
      404: failure("Unknown, altered or foreign token (`not_found`); never a redirect"),
    },
  }),
  unsubscribePage: createRoute({
    method: "get",
    path: "/t/u/{token}",
    tags,
    summary: "Unsubscribe confirmation page (a GET never unsubscribes)",
    request: { params: token },
    responses: {
      200: { description: "HTML page", content: { "text/html": { schema: z.string() } } },
      404: failure("Unknown, altered or foreign token (`not_found`)"),
    },
  }),
  unsubscribe: createRoute({
    method: "post",
    path: "/t/u/{token}",
    tags,
    summary: "RFC 8058 one-click unsubscribe",
    request: { params: token },
    responses: {
      200: { description: "Unsubscribed", content: { "text/html": { schema: z.string() } } },
      404: failure("Unknown, altered or foreign token (`not_found`)"),
    },
  }),
  inbound: createRoute({
    method: "post",
    path: "/inbound/{provider}/{connectionId}",
    tags,
    summary: "Provider event webhooks (bounces, complaints, deliveries); signature checked first",
    request: {
      params: z.object({
        provider: z
          .string()
          .openapi({ param: { name: "provider", in: "path" }, description: "`sendgrid`, `resend`, `postmark` or `ses`; any other answers 404" }),
        connectionId: z.string().openapi({ param: { name: "connectionId", in: "path" } }),
      }),
    },
    responses: {
      200: json(z.object({ received: z.number().int(), applied: z.number().int() }), "Processed"),
      400: failure("The verified payload could not be parsed (`invalid_json`)"),
      401: failure("Missing or wrong signature (`unauthorized`)"),
      404: failure("No such connection of that provider (`not_found`)"),
    },
  }),
};

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><title>${title}</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}button{font:inherit;padding:.6rem 1.2rem;border:0;border-radius:.4rem;background:#222;color:#fff;cursor:pointer}</style></head><body>${body}</body></html>`;

export default router()
  .openapi(routes.open, async (c) => {
    const p = await verifyToken(c.env, c.req.valid("param").token, "o");
    if (!p) return notFoundToken(c);
    enqueue(c, { kind: "open", id: newId("evt"), orgId: p.g, messageId: p.m, at: Date.now(), machine: machineOf(c) });
    return c.body(PIXEL, 200, { "content-type": "image/gif", ...NO_STORE });
  })
  .openapi(routes.click, async (c) => {
    const p = await verifyToken(c.env, c.req.valid("param").token, "c");
    if (!p?.u) return notFoundToken(c);
    enqueue(c, { kind: "click", id: newId("evt"), orgId: p.g, messageId: p.m, at: Date.now(), machine: machineOf(c), linkIndex: p.l, url: p.u });
    return c.body(null, 302, { location: p.u, ...NO_STORE });
  })
  .openapi(routes.unsubscribePage, async (c) => {
    const t = c.req.valid("param").token;
    if (!(await verifyToken(c.env, t, "u"))) return notFoundToken(c);
    const html = page(
      "Unsubscribe",
      `<h1>Unsubscribe</h1><p>Stop receiving these emails?</p><form method="post" action="/t/u/${t}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
    );
    return c.html(html, 200, NO_STORE);
  })
  .openapi(routes.unsubscribe, async (c) => {
    const p = await verifyToken(c.env, c.req.valid("param").token, "u");
    if (!p?.c) return notFoundToken(c);
    // RFC 8058: the body carries List-Unsubscribe=One-Click (form-encoded or multipart); no cookies are needed.
    enqueue(c, { kind: "unsubscribe", id: newId("evt"), orgId: p.g, messageId: p.m, contactId: p.c, at: Date.now() });
    return c.html(page("Unsubscribed", "<h1>You are unsubscribed</h1><p>You will not receive these emails any more.</p>"), 200, NO_STORE);
  })
  .openapi(routes.inbound, async (c) => {
    const { provider, connectionId } = c.req.valid("param");
    // The handler answers in the contract's shapes; its union of statuses is wider than the route's typed map.
    return (await handleInbound(c, provider, connectionId)) as never;
  });
