// The edge's handlers. Pixel, click and unsubscribe answer from the signed token alone — no D1
// before the response; what happened goes to EVENT_QUEUE with waitUntil. Inbound provider
// webhooks check the provider's signature before anything else.
import type { Context } from "hono";
import { database } from "../db/client";
import { getConnectionById } from "../db/connections";
import { applyDeliveryEvents } from "../domain/deliveries";
import type { AppEnv } from "../ground/env";
import { newId } from "../ground/ids";
import { errorText } from "../ground/log";
import type { EventJob } from "../ground/queues";
import { ApiError } from "../http/errors";
import type { Handler } from "../http/openapi";
import { providerOf } from "../providers";
import type { Credentials, DeliveryEvent } from "../providers/provider";
import { decrypt } from "../security/credentials";
import { verifyToken } from "../security/tokens";
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

function enqueue(c: Context<AppEnv>, job: EventJob) {
  c.executionCtx.waitUntil(
    c.env.EVENT_QUEUE.send(job).catch((err) =>
      c.get("log").error("edge event not queued", { kind: job.kind, error: errorText(err) }),
    ),
  );
}

const machineOf = (c: Context<AppEnv>) =>
  machineReason(
    c.req.method,
    c.req.header("user-agent") ?? null,
    c.req.header("cf-connecting-ip") ?? null,
  );

const badToken = () => new ApiError("not_found", "Unknown or invalid link");
const unknownEndpoint = () => new ApiError("not_found", "Unknown inbound endpoint");

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><title>${title}</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}button{font:inherit;padding:.6rem 1.2rem;border:0;border-radius:.4rem;background:#222;color:#fff;cursor:pointer}</style></head><body>${body}</body></html>`;

export const open: Handler<typeof routes.open> = async (c) => {
  const p = await verifyToken(c.env, c.req.valid("param").token, "o");
  if (!p) {
    throw badToken();
  }
  enqueue(c, {
    kind: "open",
    id: newId("evt"),
    orgId: p.g,
    messageId: p.m,
    at: Date.now(),
    machine: machineOf(c),
  });
  return c.body(PIXEL, 200, { "content-type": "image/gif", ...NO_STORE });
};

export const click: Handler<typeof routes.click> = async (c) => {
  const p = await verifyToken(c.env, c.req.valid("param").token, "c");
  if (!p?.u) {
    throw badToken();
  }
  enqueue(c, {
    kind: "click",
    id: newId("evt"),
    orgId: p.g,
    messageId: p.m,
    at: Date.now(),
    machine: machineOf(c),
    linkIndex: p.l,
    url: p.u,
  });
  return c.body(null, 302, { location: p.u, ...NO_STORE });
};

export const unsubscribePage: Handler<typeof routes.unsubscribePage> = async (c) => {
  const t = c.req.valid("param").token;
  if (!(await verifyToken(c.env, t, "u"))) {
    throw badToken();
  }
  const html = page(
    "Unsubscribe",
    `<h1>Unsubscribe</h1><p>Stop receiving these emails?</p><form method="post" action="/t/u/${t}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
  );
  return c.html(html, 200, NO_STORE);
};

export const unsubscribe: Handler<typeof routes.unsubscribe> = async (c) => {
  const p = await verifyToken(c.env, c.req.valid("param").token, "u");
  if (!p?.c) {
    throw badToken();
  }
  // RFC 8058: the body carries List-Unsubscribe=One-Click (form-encoded or multipart); no cookies are needed.
  enqueue(c, {
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
      "<h1>You are unsubscribed</h1><p>You will not receive these emails any more.</p>",
    ),
    200,
    NO_STORE,
  );
};

export const inbound: Handler<typeof routes.inbound> = async (c) => {
  const { provider: name, connectionId } = c.req.valid("param");
  const webhook = providerOf(name)?.inbound;
  if (!webhook) {
    throw unknownEndpoint();
  }
  const db = database(c.env.DB);
  const conn = await getConnectionById(db, connectionId);
  if (!conn || conn.provider !== name) {
    throw unknownEndpoint();
  }
  const req = { headers: c.req.raw.headers, body: await c.req.text() };
  const credentials = JSON.parse(await decrypt(c.env, conn.credentials)) as Credentials;
  let verified = false;
  try {
    verified = await webhook.verify(req, credentials);
  } catch (err) {
    c.get("log").warn("inbound signature check errored", {
      provider: name,
      connectionId,
      error: errorText(err),
    });
  }
  if (!verified) {
    throw new ApiError("unauthorized", "Invalid signature");
  }
  if (await webhook.handshake?.(req, credentials)) {
    return c.json({ received: 0, applied: 0 }, 200);
  }
  let events: DeliveryEvent[];
  try {
    events = webhook.parse(req);
  } catch {
    throw new ApiError("invalid_json", "The provider payload could not be parsed");
  }
  const applied = await applyDeliveryEvents(c.env, db, conn.orgId, name, events);
  return c.json({ received: events.length, applied }, 200);
};
