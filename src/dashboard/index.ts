// GET /app: the dashboard's page. The script and styles are static assets built from
// dashboard/ (public/app/app.js, app.css); this page is served by the Worker so it carries a
// strict Content-Security-Policy: scripts and connections to this origin only, no inline
// script, no framing. The dashboard calls only the public API, with the key the user signs in
// with (kept in the tab's session storage).
import { createRoute, z } from "@hono/zod-openapi";
import { router } from "../http/openapi";

/**
 * Styles may be inline (an email's own markup in the preview frame); images may be data: and
 * blob: URLs (charts fetched with the key). Frames: only the preview's `srcdoc` (sandboxed, no
 * scripts), which is same-document — nothing may frame the dashboard itself.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "frame-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Nudge</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/app/app.css">
<script type="module" src="/app/app.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<div id="root"><p class="loading" role="status">Loading Nudge…</p></div>
<noscript><p>The Nudge dashboard needs JavaScript. The API works without it: see <a href="/docs">/docs</a>.</p></noscript>
</body>
</html>
`;

const route = createRoute({
  method: "get",
  path: "/app",
  operationId: "showDashboard",
  tags: ["Documents"],
  summary: "The dashboard (sign in with an API key)",
  description:
    "An HTML page whose script and styles are static assets of this Worker (`/app/app.js`, `/app/app.css`); it calls only this API, with the key you sign in with. Served with `Content-Security-Policy` (own scripts only, no framing) and `X-Frame-Options: DENY`.",
  responses: {
    200: { content: { "text/html": { schema: z.string() } }, description: "The dashboard's page" },
  },
});

export default router().openapi(route, (c) => {
  c.header("content-security-policy", DASHBOARD_CSP);
  c.header("x-frame-options", "DENY");
  c.header("x-content-type-options", "nosniff");
  c.header("referrer-policy", "no-referrer");
  c.header("cache-control", "no-cache");
  return c.html(PAGE);
});
