// The edge's routes: public, unauthenticated, latency-critical — the open pixel, the click
// redirect, one-click unsubscribe, and inbound provider webhooks.
import { createRoute, z } from "@hono/zod-openapi";
import { ErrorBody } from "../http/errors";
import { json } from "../http/openapi";
import { INBOUND_PROVIDER_NAMES } from "../providers";

const token = z.object({
  token: z
    .string()
    .min(1)
    .max(8192)
    .openapi({ param: { name: "token", in: "path" } }),
});
const tags = ["Edge"];
/** An error answer in the one shape every route uses. */
const failure = (description: string) => ({
  description,
  content: { "application/json": { schema: ErrorBody } },
});
const badToken = failure("Unknown, altered or foreign token (`not_found`)");

export const open = createRoute({
  method: "get",
  path: "/t/o/{token}",
  tags,
  summary: "Open pixel",
  request: { params: token },
  responses: {
    200: {
      description: "A 1×1 GIF",
      content: { "image/gif": { schema: z.string().openapi({ format: "binary" }) } },
    },
    404: badToken,
  },
});

export const click = createRoute({
  method: "get",
  path: "/t/c/{token}",
  tags,
  summary: "Click redirect",
  request: { params: token },
  responses: {
    302: { description: "Redirect to the signed destination" },
    404: failure("Unknown, altered or foreign token (`not_found`); never a redirect"),
  },
});

export const unsubscribePage = createRoute({
  method: "get",
  path: "/t/u/{token}",
  tags,
  summary: "Unsubscribe confirmation page (a GET never unsubscribes)",
  request: { params: token },
  responses: {
    200: { description: "HTML page", content: { "text/html": { schema: z.string() } } },
    404: badToken,
  },
});

export const unsubscribe = createRoute({
  method: "post",
  path: "/t/u/{token}",
  tags,
  summary: "RFC 8058 one-click unsubscribe",
  request: { params: token },
  responses: {
    200: { description: "Unsubscribed", content: { "text/html": { schema: z.string() } } },
    404: badToken,
  },
});

export const inbound = createRoute({
  method: "post",
  path: "/inbound/{provider}/{connectionId}",
  tags,
  summary: "Provider event webhooks (bounces, complaints, deliveries); signature checked first",
  request: {
    params: z.object({
      provider: z.string().openapi({
        param: { name: "provider", in: "path" },
        description: `One of ${INBOUND_PROVIDER_NAMES.map((n) => `\`${n}\``).join(", ")}; any other answers 404`,
      }),
      connectionId: z.string().openapi({ param: { name: "connectionId", in: "path" } }),
    }),
  },
  responses: {
    200: json(z.object({ received: z.number().int(), applied: z.number().int() }), "Processed"),
    400: failure("The verified payload could not be parsed (`invalid_json`)"),
    401: failure("Missing or wrong signature (`unauthorized`)"),
    404: failure("No such connection of that provider (`not_found`)"),
  },
});
