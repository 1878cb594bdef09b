// The Hono app: middleware order, every resource router, the OpenAPI document and docs.
//   request id → edge routes (no key) → body limit + JSON-only → API key (rate limit,
//   usage) → idempotency for POSTs → resource routes. Errors leave in one shape (errors.ts).
import { Scalar } from "@scalar/hono-api-reference";
import edge from "./edge";
import type { AppEnv } from "./ground/env";
import { requireAdmin, requireApiKey } from "./http/auth";
import { errorJson, renderError } from "./http/errors";
import { idempotency } from "./http/idempotency";
import { router } from "./http/openapi";
import { limitBody, requestId, requireJsonBody } from "./http/request";
import account from "./routes/account";
import admin from "./routes/admin";
import apiKeys from "./routes/api-keys";
import connections from "./routes/connections";
import contacts from "./routes/contacts";
import { SKILLS_MD } from "./routes/docs/skills.md";
import enrollments from "./routes/enrollments";
import events from "./routes/events";
import imports from "./routes/imports";
import messages from "./routes/messages";
import templates from "./routes/templates";
import webhooks from "./routes/webhooks";
import workflows from "./routes/workflows";

export function buildApp() {
  const app = router();
  app.use("*", requestId);
  app.get("/health", (c) => c.json({ status: "ok" }));
  app.get("/v1/health", (c) => c.json({ status: "ok" }));
  // Provider webhooks and one-click unsubscribes have bodies too: the same 1 MiB limit.
  app.use("/inbound/*", limitBody);
  app.use("/t/u/*", limitBody);
  app.route("/", edge);

  app.use("/v1/*", limitBody, requireJsonBody({ "/v1/imports": /^text\/csv\b/i }));
  app.use("/v1/admin/*", requireAdmin);
  app.use("/v1/*", async (c, next) => {
    if (c.req.path === "/v1/health" || c.req.path.startsWith("/v1/admin/")) {
      return next();
    }
    return requireApiKey(c, next);
  });
  app.use("/v1/*", idempotency);

  app.route("/", admin);
  app.route("/", account);
  app.route("/", apiKeys);
  app.route("/", contacts);
  app.route("/", events);
  app.route("/", templates);
  // Workflow routes before enrollments: /v1/workflows/step-types must not match /v1/workflows/{id}.
  app.route("/", workflows);
  app.route("/", enrollments);
  app.route("/", imports);
  app.route("/", messages);
  app.route("/", connections);
  // The catalog before /v1/webhooks/{id}.
  app.route("/", webhooks);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description: "An API key: `nk_live_...`",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "adminToken", {
    type: "http",
    scheme: "bearer",
  });
  app.doc31("/openapi.json", (c) => ({
    openapi: "3.1.0",
    info: {
      title: "Nudge API",
      version: "1.0.0",
      description: "Drip and outreach automation at the edge.",
    },
    servers: [{ url: new URL(c.req.url).origin }],
  }));
  app.get("/docs", Scalar({ url: "/openapi.json", pageTitle: "Nudge API reference" }));
  app.get("/docs/skills.md", (c) =>
    c.body(SKILLS_MD, 200, { "content-type": "text/markdown; charset=utf-8" }),
  );

  app.notFound((c) => errorJson(c, "not_found", `No route for ${c.req.method} ${c.req.path}`));
  app.onError(renderError);
  return app;
}

export type App = ReturnType<typeof buildApp>;
export const app: App = buildApp();
export type { AppEnv };
