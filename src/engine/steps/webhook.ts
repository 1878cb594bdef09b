// webhook: an HTTP call (url, headers and body Liquid-templated), performed by the webhook queue.
import { z } from "zod";
import { renderDeep, renderString } from "../templates";
import { defineStep } from "./step";

export const WebhookStepConfig = z
  .object({
    url: z.string().url().max(2048),
    method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE"]).default("POST").optional(),
    headers: z
      .record(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/), z.string().max(4096))
      .optional(),
    body: z.unknown().optional(),
  })
  .strict();
export type WebhookStepConfig = z.infer<typeof WebhookStepConfig>;

/** A URL for the timeline: origin and path, never a query string that may carry a secret. */
function withoutQuery(raw: string) {
  try {
    const u = new URL(raw);
    return `${u.origin}${u.pathname}`;
  } catch {
    return "(an invalid URL)";
  }
}

export default defineStep<WebhookStepConfig>({
  type: "webhook",
  description:
    "Call an HTTP endpoint (url, headers and body are Liquid-templated; https only in production). Delivered through the webhook queue with retries.",
  config: WebhookStepConfig,
  outcomes: () => ["sent"],
  pauses: () => false,
  execute(config, ctx) {
    const url = renderString(config.url, ctx.scope);
    const body =
      config.body === undefined
        ? {
            contact: ctx.scope.contact,
            vars: ctx.scope.vars,
            event: ctx.scope.event,
            enrollment: ctx.scope.enrollment,
          }
        : renderDeep(config.body, ctx.scope);
    const headers = renderDeep(config.headers ?? {}, ctx.scope) as Record<string, string>;
    const method = config.method ?? "POST";
    return {
      kind: "outcome",
      outcome: "sent",
      message: `Webhook ${method} ${withoutQuery(url)} queued`,
      effects: [
        {
          type: "webhook",
          key: ctx.key,
          stepId: ctx.step.id,
          request: { url, method, headers, body },
        },
      ],
    };
  },
});
