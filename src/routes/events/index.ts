// POST /v1/events: store a tracked event and fan it out to enrollments.
import { createRoute, z } from "@hono/zod-openapi";
import { database, iso } from "../../db/client";
import type { EventRow } from "../../db/events";
import { trackEvent } from "../../enrollments";
import { errorResponses } from "../../http/errors";
import { json, jsonBody, router, secured } from "../../http/openapi";
import { Email } from "../contacts/schemas";

export const eventJson = (e: EventRow) => ({
  id: e.id,
  name: e.name,
  contactId: e.contactId,
  data: e.data,
  occurredAt: iso(e.occurredAt) as string,
  receivedAt: iso(e.receivedAt) as string,
});

export const EventName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[\w.:-]+$/, "Letters, digits, and . _ : - only");

const TrackEvent = z
  .object({
    name: EventName,
    contactId: z.string().min(1).max(100).optional(),
    email: Email.optional(),
    externalId: z.string().trim().min(1).max(255).optional(),
    data: z.record(z.string(), z.unknown()).optional(),
    occurredAt: z.iso.datetime({ offset: true }).optional(),
  })
  .refine((e) => e.contactId || e.email || e.externalId, { message: "Give contactId, email or externalId", path: ["contactId"] })
  .openapi("TrackEvent");

const track = createRoute({
  method: "post",
  path: "/v1/events",
  tags: ["Events"],
  security: secured,
  summary: "Track an event: starts, resumes and exits enrollments",
  request: { body: jsonBody(TrackEvent) },
  responses: {
    202: json(z.object({ id: z.string(), enrolled: z.array(z.string()), resumed: z.array(z.string()), exited: z.array(z.string()) }), "Stored and fanned out"),
    ...errorResponses(404),
  },
});

export default router().openapi(track, async (c) => {
  const body = c.req.valid("json");
  const result = await trackEvent(c.env, database(c.env.DB), c.get("orgId"), {
    name: body.name,
    contact: body.contactId ? { id: body.contactId } : body.email ? { email: body.email } : { externalId: body.externalId as string },
    data: body.data ?? {},
    occurredAt: body.occurredAt ? Date.parse(body.occurredAt) : undefined,
  });
  return c.json(result, 202);
});
