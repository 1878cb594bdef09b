// Contact imports: JSON (≤ 10,000 contacts) or text/csv, processed in chunks through the event queue.
import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../http/errors";
import { json, pathId, secured } from "../../http/openapi";
import { Import, ImportJson } from "./schemas";

export const create = createRoute({
  method: "post",
  path: "/v1/imports",
  tags: ["Imports"],
  security: secured,
  summary: "Import contacts (JSON or text/csv with ?workflowId=) and optionally enroll them",
  request: {
    query: z.object({
      workflowId: z.string().optional().openapi({ description: "For text/csv bodies" }),
    }),
    // Not `required`: the JSON validator must not run on text/csv bodies; the handler validates both.
    body: {
      required: false,
      content: {
        "application/json": { schema: ImportJson },
        "text/csv": {
          schema: z.string().openapi({ example: "email,firstName,plan\nada@example.com,Ada,pro" }),
        },
      },
    },
  },
  responses: {
    202: json(
      z.object({ id: z.string(), status: z.string() }),
      "Accepted; poll GET /v1/imports/{id}",
    ),
    ...errorResponses(404),
  },
});

export const get = createRoute({
  method: "get",
  path: "/v1/imports/{id}",
  tags: ["Imports"],
  security: secured,
  request: { params: pathId("id", "imp_01JD0000000000000000000000") },
  responses: { 200: json(Import, "Progress and per-row errors"), ...errorResponses(404) },
});
