// Outbound webhook subscriptions: secrets shown once, rotation, test deliveries, delivery log, catalog.
import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../../http/errors";
import { json, jsonBody, pathId, secured } from "../../../http/openapi";
import { listOf, PageQuery } from "../../../http/pagination";
import {
  CatalogEntry,
  Delivery,
  Webhook,
  WebhookInput,
  WebhookPatch,
  WebhookWithSecret,
} from "./schemas";

const tags = ["Webhooks"];
const params = pathId("id", "whk_01JD0000000000000000000000");

export const catalog = createRoute({
  method: "get",
  path: "/v1/webhooks/catalog",
  operationId: "listWebhookEventTypes",
  summary: "The event types a webhook can subscribe to, with payload schemas",
  tags,
  security: secured,
  responses: {
    200: json(z.array(CatalogEntry), "Event types with their JSON Schema"),
    ...errorResponses(),
  },
});

export const create = createRoute({
  method: "post",
  path: "/v1/webhooks",
  operationId: "createWebhook",
  summary: "Subscribe an HTTPS endpoint to events",
  tags,
  security: secured,
  request: {
    body: jsonBody(WebhookInput, {
      url: "https://hooks.acme.example/nudge",
      events: ["enrollment.completed", "email.bounced"],
    }),
  },
  responses: {
    201: json(WebhookWithSecret, "Created; the secret is shown only here"),
    ...errorResponses(),
  },
});

export const list = createRoute({
  method: "get",
  path: "/v1/webhooks",
  operationId: "listWebhooks",
  summary: "List webhook subscriptions",
  tags,
  security: secured,
  request: { query: PageQuery },
  responses: { 200: json(listOf(Webhook), "Subscriptions"), ...errorResponses() },
});

export const get = createRoute({
  method: "get",
  path: "/v1/webhooks/{id}",
  operationId: "getWebhook",
  summary: "Get one webhook subscription",
  tags,
  security: secured,
  request: { params },
  responses: { 200: json(Webhook, "The subscription"), ...errorResponses(404) },
});

export const patch = createRoute({
  method: "patch",
  path: "/v1/webhooks/{id}",
  operationId: "updateWebhook",
  summary: "Update a webhook subscription",
  tags,
  security: secured,
  request: { params, body: jsonBody(WebhookPatch, { active: false }) },
  responses: {
    200: json(Webhook, "Updated (active: true re-enables a disabled endpoint)"),
    ...errorResponses(404),
  },
});

export const remove = createRoute({
  method: "delete",
  path: "/v1/webhooks/{id}",
  operationId: "deleteWebhook",
  summary: "Delete a webhook subscription",
  tags,
  security: secured,
  request: { params },
  responses: { 204: { description: "Deleted" }, ...errorResponses(404) },
});

export const rotate = createRoute({
  method: "post",
  path: "/v1/webhooks/{id}/rotate-secret",
  operationId: "rotateWebhookSecret",
  tags,
  security: secured,
  summary: "New secret; for 24 h deliveries are signed with both",
  request: { params },
  responses: {
    200: json(WebhookWithSecret, "The new secret, shown only here"),
    ...errorResponses(404),
  },
});

export const test = createRoute({
  method: "post",
  path: "/v1/webhooks/{id}/test",
  operationId: "testWebhook",
  summary: "Send a test delivery to a webhook",
  tags,
  security: secured,
  request: { params },
  responses: {
    202: json(z.object({ deliveryId: z.string() }), "A webhook.test delivery is queued"),
    ...errorResponses(404),
  },
});

export const deliveries = createRoute({
  method: "get",
  path: "/v1/webhooks/{id}/deliveries",
  operationId: "listWebhookDeliveries",
  summary: "List a webhook's deliveries with their attempts",
  tags,
  security: secured,
  request: { params, query: PageQuery },
  responses: {
    200: json(listOf(Delivery), "Deliveries with every attempt, newest first"),
    ...errorResponses(404),
  },
});
