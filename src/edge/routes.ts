// The edge's routes: public, unauthenticated, latency-critical — the open pixel, the click
// redirect, one-click unsubscribe, and inbound provider webhooks.
import { createRoute, z } from "@hono/zod-openapi";
import { ErrorBody } from "../http/errors";
import { json } from "../http/openapi";
import {
  INBOUND_MAIL_PROVIDER_NAMES,
  INBOUND_PROVIDER_NAMES,
  PHONE_PROVIDER_NAMES,
} from "../providers";
import { LINK_LIFETIME_DAYS } from "../security/tokens";

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
const tooMany = failure(
  "Rate limited (`rate_limited`, see `Retry-After`): 600 requests a minute per token, and 30 invalid tokens a minute per IP (valid tokens are never limited per IP)",
);
const tracking =
  "Human hits of one message (opens) or one link (clicks) within 60 s count once; machine hits (privacy proxies, scanners, HEAD requests, clicks within 5 s of sending) are counted apart and resume nothing.";

const page200 = (description: string) => ({
  description,
  content: { "text/html": { schema: z.string() } },
});

/** A consent link past its lifetime (src/security/tokens.ts LINK_LIFETIME_DAYS). */
const expired = (days: number) => ({
  description: `The link is more than ${days} days old (\`link_expired\`): a page saying so and what to do instead when the request accepts \`text/html\` (a browser), the error otherwise`,
  content: {
    "application/json": { schema: ErrorBody },
    "text/html": { schema: z.string() },
  },
});

export const open = createRoute({
  method: "get",
  path: "/t/o/{token}",
  operationId: "trackOpen",
  tags,
  summary: "Open pixel",
  description: `${tracking} A pixel older than CLICK_TOKEN_MAX_AGE_DAYS (default 365) still answers the GIF but records nothing.`,
  request: { params: token },
  responses: {
    200: {
      description: "A 1×1 GIF",
      content: { "image/gif": { schema: z.string().openapi({ format: "binary" }) } },
    },
    404: badToken,
    429: tooMany,
  },
});

export const click = createRoute({
  method: "get",
  path: "/t/c/{token}",
  operationId: "trackClick",
  tags,
  summary: "Click redirect",
  description: `${tracking} A click token older than CLICK_TOKEN_MAX_AGE_DAYS (default 365) shows a page naming the destination instead of redirecting.`,
  request: { params: token },
  responses: {
    200: {
      description: "An expired link: a page with the destination as a plain link, no redirect",
      content: { "text/html": { schema: z.string() } },
    },
    302: { description: "Redirect to the signed destination" },
    404: failure("Unknown, altered or foreign token (`not_found`); never a redirect"),
    429: tooMany,
  },
});

export const unsubscribePage = createRoute({
  method: "get",
  path: "/t/u/{token}",
  operationId: "showUnsubscribePage",
  tags,
  summary: "Unsubscribe confirmation page (a GET never unsubscribes)",
  description: `Unsubscribe links work for ${LINK_LIFETIME_DAYS.u} days from the email's sending.`,
  request: { params: token },
  responses: {
    200: { description: "HTML page", content: { "text/html": { schema: z.string() } } },
    404: badToken,
    410: expired(LINK_LIFETIME_DAYS.u),
    429: tooMany,
  },
});

export const unsubscribe = createRoute({
  method: "post",
  path: "/t/u/{token}",
  operationId: "unsubscribeOneClick",
  tags,
  summary: "RFC 8058 one-click unsubscribe",
  description: `The body must be the form field \`List-Unsubscribe=One-Click\` (form-encoded or multipart), as mail clients send it; the confirmation page's button sends the same. The link works for ${LINK_LIFETIME_DAYS.u} days from the email's sending.`,
  request: { params: token },
  responses: {
    200: { description: "Unsubscribed", content: { "text/html": { schema: z.string() } } },
    400: failure("The body is not `List-Unsubscribe=One-Click` (`bad_request`)"),
    404: badToken,
    410: expired(LINK_LIFETIME_DAYS.u),
    413: failure("The body is larger than 1 MiB (`payload_too_large`)"),
    429: tooMany,
  },
});

export const inboundMail = createRoute({
  method: "post",
  path: "/inbound/{provider}/{connectionId}/mail",
  operationId: "receiveProviderMail",
  tags,
  summary: "Mail received at the provider (replies): verified, then matched and classified",
  description:
    "Postmark's inbound stream (JSON, the connection's `webhookUsername`/`webhookPassword` as Basic auth), SendGrid Inbound Parse (multipart, parsed or raw; Basic credentials in the Parse URL matching `inboundUsername`/`inboundPassword`), Mailgun routes (form, signed with `webhookSigningKey`; parsed or `body-mime`). The mail is matched to its message and classified exactly as the email() handler does (human reply, automatic reply, bounce notification, unmatched). Bodies over 1 MiB answer 413: have the provider drop attachments.",
  request: {
    params: z.object({
      provider: z.string().openapi({
        param: { name: "provider", in: "path" },
        description: `One of ${INBOUND_MAIL_PROVIDER_NAMES.map((n) => `\`${n}\``).join(", ")}; any other answers 404`,
      }),
      connectionId: z.string().openapi({ param: { name: "connectionId", in: "path" } }),
    }),
  },
  responses: {
    200: json(
      z.object({
        id: z.string(),
        kind: z.enum(["reply", "auto_reply", "bounce", "unmatched", "duplicate"]),
        match: z.enum(["token", "header", "sender", "none"]),
        messageId: z.string().nullable(),
      }),
      "Received (a redelivered mail answers `duplicate`)",
    ),
    400: failure("The verified payload could not be parsed (`invalid_json`)"),
    401: failure("Missing or wrong credentials or signature (`unauthorized`)"),
    404: failure("No such connection of that provider (`not_found`)"),
    413: failure("The body is larger than 1 MiB (`payload_too_large`)"),
    429: failure("Rate limited per connection (`rate_limited`, see `Retry-After`)"),
  },
});

export const inbound = createRoute({
  method: "post",
  path: "/inbound/{provider}/{connectionId}",
  operationId: "receiveProviderWebhook",
  tags,
  summary:
    "Provider webhooks (bounces, complaints, deliveries; SMS statuses, incoming texts, call outcomes); signature checked first",
  description:
    "Email providers post delivery events. `twilio`: point the connection's status callbacks (set by Nudge on each text and call) and the number's incoming-message webhook here; requests are verified with `X-Twilio-Signature` (HMAC-SHA1 of the URL and the sorted form parameters with the auth token) and answered with TwiML — incoming STOP, STOPALL, UNSUBSCRIBE, CANCEL, END or QUIT set the contact's `smsSubscribed` to false, START, YES or UNSTOP set it true, HELP is answered with how to opt out. `vapi`: the end-of-call report (authenticated by `X-Vapi-Secret`) gives the call's outcome, duration and summary.",
  request: {
    params: z.object({
      provider: z.string().openapi({
        param: { name: "provider", in: "path" },
        description: `One of ${[...INBOUND_PROVIDER_NAMES, ...PHONE_PROVIDER_NAMES].map((n) => `\`${n}\``).join(", ")}; any other answers 404`,
      }),
      connectionId: z.string().openapi({ param: { name: "connectionId", in: "path" } }),
    }),
  },
  responses: {
    200: {
      description: "Processed (Twilio: a TwiML answer)",
      content: {
        "application/json": {
          schema: z.object({ received: z.number().int(), applied: z.number().int() }),
        },
        "text/xml": { schema: z.string() },
      },
    },
    400: failure("The verified payload could not be parsed (`invalid_json`)"),
    401: failure(
      "Missing or wrong signature, or a signed message older than an hour (`unauthorized`)",
    ),
    403: failure(
      "Validly signed but not for this connection, e.g. an SNS message from a topic other than the connection's `topicArn` (`forbidden`)",
    ),
    404: failure("No such connection of that provider (`not_found`)"),
    413: failure("The body is larger than 1 MiB (`payload_too_large`)"),
    429: failure("Rate limited per connection (`rate_limited`, see `Retry-After`)"),
  },
});

export const reportFile = createRoute({
  method: "get",
  path: "/t/r/{token}",
  operationId: "downloadReportByLink",
  tags,
  summary: "A report's file, by the signed link in report.ready and report emails",
  description:
    "No API key: the link is signed for one run of one report and expires (7 days for emails and webhooks, 1 hour for GET /v1/reports/{id}). A link to an earlier run of a scheduled report answers 410.",
  request: { params: token },
  responses: {
    200: {
      description: "The file, as an attachment",
      content: {
        "text/csv": { schema: z.string() },
        "application/json": { schema: z.string() },
      },
    },
    404: badToken,
    409: failure("The report is not completed (`report_not_ready`)"),
    410: failure("The link expired, or is for an earlier run (`link_expired`)"),
    429: tooMany,
  },
});

export const preferencesPage = createRoute({
  method: "get",
  path: "/t/p/{token}",
  operationId: "showPreferencePage",
  tags,
  summary: "A contact's preference page: topics and unsubscribe from everything",
  description: `The link is the \`{{ preferences_url }}\` merge tag of marketing emails, signed per contact. The page is drawn from what the link carries — the org's topics and branding, and the contact's choices when the email was sent — so opening it reads no database; saving (POST) applies the choices and shows them. The link works for ${LINK_LIFETIME_DAYS.p} days.`,
  request: { params: token },
  responses: {
    200: page200("HTML page"),
    404: badToken,
    410: expired(LINK_LIFETIME_DAYS.p),
    429: tooMany,
  },
});

export const savePreferences = createRoute({
  method: "post",
  path: "/t/p/{token}",
  operationId: "savePreferences",
  tags,
  summary: "Save a preference page: the topics ticked, or unsubscribe from everything",
  description:
    "A form (`application/x-www-form-urlencoded`): `topic` once per topic kept (the others shown are turned off; topics the page did not show are left alone), `all=on` to stop all marketing, and `all_shown` (`on` or `off`: how the page drew that box). A form changes only what it showed: without `all=on` the contact is subscribed again only when the page drew the box ticked (`all_shown=on`; a form without `all_shown`: as its link's snapshot), so an old page posted after the contact unsubscribed elsewhere leaves them unsubscribed. The page answered shows the contact as saved.",
  request: { params: token },
  responses: {
    200: page200("The page, saved"),
    404: badToken,
    410: expired(LINK_LIFETIME_DAYS.p),
    413: failure("The body is larger than 1 MiB (`payload_too_large`)"),
    429: tooMany,
  },
});

export const confirmPage = createRoute({
  method: "get",
  path: "/t/s/{token}",
  operationId: "showConfirmationPage",
  tags,
  summary: "Double opt-in: the confirmation link's page",
  description: `A page with a button; only pressing it (the POST) confirms, and nothing on the page presses it, so a mail scanner fetching the link — or rendering it, scripts and all — confirms nothing. The link works for ${LINK_LIFETIME_DAYS.s} days.`,
  request: { params: token },
  responses: {
    200: page200("HTML page"),
    404: badToken,
    410: expired(LINK_LIFETIME_DAYS.s),
    429: tooMany,
  },
});

export const confirm = createRoute({
  method: "post",
  path: "/t/s/{token}",
  operationId: "confirmSubscription",
  tags,
  summary: "Double opt-in: confirm the subscription",
  description: `Marks the contact \`confirmed\` and records \`contact.confirmed\` (a trigger, and an event \`wait_for_event\` can wait for), once. The link works for ${LINK_LIFETIME_DAYS.s} days.`,
  request: { params: token },
  responses: {
    200: page200("Confirmed"),
    404: badToken,
    410: expired(LINK_LIFETIME_DAYS.s),
    413: failure("The body is larger than 1 MiB (`payload_too_large`)"),
    429: tooMany,
  },
});
