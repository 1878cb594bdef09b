// The Hono app: middleware order, every resource router, the OpenAPI document and docs.
//   request id → health, documents and the dashboard's page → edge routes (no key) → body limit + JSON-only →
//   API key (rate limit, usage) → D1 sessions (x-d1-bookmark) → idempotency for POSTs → (the
//   org's link origin, when PUBLIC_URL is unset) → MCP → resource routes. Errors leave in one shape (errors.ts).

import { rememberOrigin } from "./accounts";
import account from "./accounts/routes/account";
import admin from "./accounts/routes/admin";
import apiKeys from "./accounts/routes/api-keys";
import agents from "./agents/routes/agents";
import agentTemplates from "./agents/routes/templates";
import analytics from "./analytics/routes/analytics";
import reports from "./analytics/routes/reports";
import contacts from "./contacts/routes/contacts";
import imports from "./contacts/routes/imports";
import dashboard from "./dashboard";
import { shardFor } from "./db/shards";
import docs from "./docs";
import edge from "./edge";
import enrollments from "./enrollments/routes/enrollments";
import events from "./events/routes/events";
import { config } from "./ground/config";
import type { AppEnv } from "./ground/env";
import { errorText } from "./ground/log";
import { requireAdmin, requireApiKey } from "./http/auth";
import { d1Bookmarks, documentBookmarks, inSessions } from "./http/bookmarks";
import { errorJson, renderError } from "./http/errors";
import { idempotency } from "./http/idempotency";
import { router } from "./http/openapi";
import { limitBody, requestId, requireJsonBody } from "./http/request";
import mcp from "./mcp";
import connections from "./messaging/routes/connections";
import messages from "./messaging/routes/messages";
import settings from "./messaging/routes/settings";
import tasks from "./messaging/routes/tasks";
import templates from "./messaging/routes/templates";
import topics from "./messaging/routes/topics";
import webhooks from "./webhooks/routes/webhooks";
import workflows from "./workflows/routes/workflows";

const documentConfig = (origin: string) => ({
  openapi: "3.1.0",
  info: {
    title: "Nudge API",
    version: "1.0.0",
    description:
      "Drip and outreach automation at the edge. Agents: start at /llms.txt and /docs/skills-v1.md; MCP at POST /mcp.",
  },
  servers: [{ url: origin }],
  tags: TAGS,
});

/** Tags in the order the reference shows them. */
const TAGS = [
  { name: "Workflows", description: "Trigger → steps; drafts, versions, dry runs" },
  { name: "Enrollments", description: "Contacts going through workflows" },
  { name: "Events", description: "What contacts do: starts, resumes and exits enrollments" },
  { name: "Contacts", description: "People, their attributes and subscription" },
  { name: "Imports", description: "Many contacts at once, JSON or CSV" },
  {
    name: "Messages",
    description: "Emails, texts and calls sent, their delivery, engagement and outcomes",
  },
  { name: "Tasks", description: "Work a task step hands to a person; completing it moves on" },
  { name: "Templates", description: "Reusable email content (Liquid)" },
  { name: "Connections", description: "Email, SMS and voice providers" },
  { name: "Webhooks", description: "Signed deliveries of events to your endpoints" },
  {
    name: "Agents",
    description:
      "Workflow, LLM-template and code agents: idempotent executions under an execution policy, scoring, monitoring",
  },
  { name: "API keys", description: "Keys, scopes and usage" },
  { name: "Analytics", description: "Metrics over time, charts, funnels (daily rollups)" },
  {
    name: "Reports",
    description: "CSV and JSON exports and performance reports, on demand or on a schedule",
  },
  { name: "Account", description: "The org, its quotas and reporting time zone" },
  {
    name: "Outbox",
    description:
      "Emails, texts and calls captured when no provider is connected; call outcomes recorded by hand",
  },
  { name: "Edge", description: "Opens, clicks, unsubscribes and provider webhooks (no key)" },
  { name: "Documents", description: "Health, this document, the reference, the brief" },
  { name: "Admin", description: "Operator routes (ADMIN_TOKEN)" },
];

export function buildApp() {
  const app = router();
  app.use("*", requestId);
  // Health and the documents (the OpenAPI document is this app's own, built once per origin).
  const documents = new Map<string, ReturnType<typeof app.getOpenAPI31Document>>();
  const documentOf = (origin: string) => {
    let doc = documents.get(origin);
    if (!doc) {
      doc = documentBookmarks(app.getOpenAPI31Document(documentConfig(origin)));
      documents.clear(); // one origin in practice; never a growing map
      documents.set(origin, doc);
    }
    return doc;
  };
  app.route("/", docs(documentOf));
  // The dashboard's page (its script and styles are static assets); it calls the API below.
  app.route("/", dashboard);
  // Provider webhooks and one-click unsubscribes have bodies too: the same 1 MiB limit.
  app.use("/inbound/*", limitBody);
  app.use("/t/u/*", limitBody);
  app.use("/t/p/*", limitBody);
  app.use("/t/s/*", limitBody);
  app.route("/", edge);

  app.use("/v1/*", limitBody, requireJsonBody({ "/v1/imports": /^text\/csv\b/i }));
  app.use("/v1/admin/*", requireAdmin);
  app.use("/v1/*", async (c, next) => {
    if (c.req.path === "/v1/health" || c.req.path.startsWith("/v1/admin/")) {
      return next();
    }
    return requireApiKey(c, next);
  });
  // The org's databases as D1 sessions: reads at the client's bookmark, the newest one back.
  // The same paths the document marks with the bookmark header.
  app.use("/v1/*", (c, next) => (inSessions(c.req.path) ? d1Bookmarks(c, next) : next()));
  app.use("/v1/*", idempotency);
  // With PUBLIC_URL unset, an org's links use the origin its own API requests come to.
  app.use("/v1/*", async (c, next) => {
    await next();
    const orgId = c.get("orgId");
    if (!config(c.env).publicUrl && orgId) {
      const log = c.get("log");
      c.executionCtx.waitUntil(
        shardFor(c.env, orgId)
          .then((db) => rememberOrigin(c.env, db, orgId, new URL(c.req.url).origin, log))
          .catch((err) => log.warn("origin not remembered", { error: errorText(err) })),
      );
    }
  });
  // MCP for agents: the same key; each tool calls the routes below in-process.
  app.use("/mcp", limitBody, requireApiKey);
  app.route(
    "/",
    mcp((req, env, ctx) => app.fetch(req, env, ctx), documentOf),
  );

  app.route("/", admin);
  app.route("/", account);
  app.route("/", settings);
  app.route("/", apiKeys);
  app.route("/", contacts);
  app.route("/", topics);
  app.route("/", events);
  app.route("/", templates);
  // Workflow routes before enrollments: /v1/workflows/step-types must not match /v1/workflows/{id}.
  app.route("/", workflows);
  app.route("/", enrollments);
  app.route("/", imports);
  app.route("/", messages);
  app.route("/", tasks);
  app.route("/", connections);
  app.route("/", analytics);
  app.route("/", reports);
  app.route("/", agents);
  app.route("/", agentTemplates);
  // The catalog before /v1/webhooks/{id}.
  app.route("/", webhooks);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description:
      "An API key: `Authorization: Bearer nk_live_...`; the header `x-api-key: nk_live_...` is accepted as the same key.",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "adminToken", {
    type: "http",
    scheme: "bearer",
  });

  app.notFound((c) => errorJson(c, "not_found", `No route for ${c.req.method} ${c.req.path}`));
  app.onError(renderError);
  return app;
}

export type App = ReturnType<typeof buildApp>;
export const app: App = buildApp();
export type { AppEnv };
