// POST /v1/events: track an event for a contact.
import { createRoute } from "@hono/zod-openapi";
import { errorResponses } from "../../http/errors";
import { json, jsonBody, secured } from "../../http/openapi";
import { TrackEvent, TrackResult } from "./schemas";

export const track = createRoute({
  method: "post",
  path: "/v1/events",
  tags: ["Events"],
  security: secured,
  summary: "Track an event: starts, resumes and exits enrollments",
  request: { body: jsonBody(TrackEvent) },
  responses: { 202: json(TrackResult, "Stored and fanned out"), ...errorResponses(404) },
});
