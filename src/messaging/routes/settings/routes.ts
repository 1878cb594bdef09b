// GET/PUT /v1/settings/sending: frequency caps and quiet hours.
import { createRoute } from "@hono/zod-openapi";
import { errorResponses } from "../../../http/errors";
import { json, jsonBody, secured } from "../../../http/openapi";
import { SendingSettings } from "./schemas";

export const get = createRoute({
  method: "get",
  path: "/v1/settings/sending",
  operationId: "getSendingSettings",
  tags: ["Account"],
  summary: "The org's frequency caps and quiet hours",
  security: secured,
  responses: { 200: json(SendingSettings, "The sending policy"), ...errorResponses() },
});

export const put = createRoute({
  method: "put",
  path: "/v1/settings/sending",
  operationId: "setSendingSettings",
  tags: ["Account"],
  summary: "Replace the org's frequency caps and quiet hours",
  description:
    "The whole policy: what is left out is removed. Running enrollments apply it from their next step (within a minute).",
  security: secured,
  request: {
    body: jsonBody(SendingSettings, {
      caps: { "email.marketing": { perDay: 2, perWeek: 5 }, "sms.marketing": { perDay: 1 } },
      quietHours: {
        days: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        start: "21:00",
        end: "08:00",
      },
    }),
  },
  responses: { 200: json(SendingSettings, "The sending policy now"), ...errorResponses() },
});
