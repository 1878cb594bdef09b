// webhook, update_contact, exit and log.
import { z } from "@hono/zod-openapi";
import { renderDeep, renderString } from "../templates";
import { defineStep } from "./step";

export const WebhookStepConfig = z
  .object({
    url: z.string().url().max(2048),
    method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE"]).default("POST").optional(),
    headers: z.record(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/), z.string().max(4096)).optional(),
    body: z.unknown().optional(),
  })
  .strict();
export type WebhookStepConfig = z.infer<typeof WebhookStepConfig>;

export const webhook = defineStep<WebhookStepConfig>({
  type: "webhook",
  description:
    "Call an HTTP endpoint (url, headers and body are Liquid-templated; https only in production). Delivered through the webhook queue with retries.",
  config: WebhookStepConfig,
  outcomes: () => ["sent"],
  pauses: false,
  execute(config, ctx) {
    const url = renderString(config.url, ctx.scope);
    const body =
      config.body === undefined
        ? { contact: ctx.scope.contact, vars: ctx.scope.vars, event: ctx.scope.event, enrollment: ctx.scope.enrollment }
        : renderDeep(config.body, ctx.scope);
    const headers = renderDeep(config.headers ?? {}, ctx.scope) as Record<string, string>;
    const method = config.method ?? "POST";
    return {
      kind: "outcome",
      outcome: "sent",
      message: `Webhook ${method} ${url} queued`,
      effects: [{ type: "webhook", key: ctx.key, stepId: ctx.step.id, request: { url, method, headers, body } }],
    };
  },
});

export const UpdateContactConfig = z.object({ data: z.record(z.string(), z.unknown()) }).strict();
export type UpdateContactConfig = z.infer<typeof UpdateContactConfig>;

export const updateContact = defineStep<UpdateContactConfig>({
  type: "update_contact",
  description: "Shallow-merge values (Liquid-templated) into the contact's data.",
  config: UpdateContactConfig,
  outcomes: () => ["done"],
  pauses: false,
  execute(config, ctx) {
    const data = renderDeep(config.data, ctx.scope) as Record<string, unknown>;
    return {
      kind: "outcome",
      outcome: "done",
      message: `Contact data updated: ${Object.keys(data).join(", ")}`,
      contactData: data,
      effects: [{ type: "update_contact", key: ctx.key, stepId: ctx.step.id, data }],
    };
  },
});

export const ExitConfig = z.object({ reason: z.string().max(200).optional() }).strict();
export const exit = defineStep<z.infer<typeof ExitConfig>>({
  type: "exit",
  description: "End the enrollment now (status completed) with an optional reason.",
  config: ExitConfig,
  outcomes: () => [],
  pauses: false,
  execute: (config) => ({ kind: "exit", reason: config.reason ?? "exit_step", message: `Exited: ${config.reason ?? "exit step"}` }),
});

export const LogConfig = z
  .object({ message: z.string().min(1).max(2000), level: z.enum(["debug", "info", "warn", "error"]).default("info").optional() })
  .strict();
export const log = defineStep<z.infer<typeof LogConfig>>({
  type: "log",
  description: "Write a (Liquid-templated) line to the enrollment's log.",
  config: LogConfig,
  outcomes: () => ["done"],
  pauses: false,
  execute: (config, ctx) => ({ kind: "outcome", outcome: "done", message: renderString(config.message, ctx.scope) }),
});
