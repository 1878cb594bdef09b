// Contact imports: JSON (≤ 10,000 contacts) or text/csv, processed in chunks through the event queue.
import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../../http/errors";
import { json, pathId, secured } from "../../../http/openapi";
import { Import, ImportJson } from "./schemas";

export const create = createRoute({
  method: "post",
  path: "/v1/imports",
  operationId: "createImport",
  tags: ["Imports"],
  security: secured,
  summary: "Import contacts (JSON or text/csv with ?workflowId=) and optionally enroll them",
  description:
    "CSV: RFC 4180, UTF-8 (a BOM is fine). The delimiter is detected among `,` `;` tab and `|` (Excel in EU locales writes `;`), or set by an Excel `sep=;` first line. The header names the columns: `email`, `phone`, `externalId`, `name` (a full name, split into first and last), `firstName`, `lastName`, `timezone`, `subscribed` (camelCase or snake_case); any other column goes into `data`. Blank lines are skipped. An unterminated quote makes the whole file 422 `validation_failed`, naming the line. A row with more fields than the header is rejected; a row that is not a valid contact is rejected; each rejected row is listed in the import's `errors` with its `row`, `line` and reason, and the other rows are imported.",
  request: {
    query: z.object({
      workflowId: z.string().optional().openapi({ description: "For text/csv bodies" }),
    }),
    // Not `required`: the JSON validator must not run on text/csv bodies; the handler validates both.
    body: {
      required: false,
      content: {
        "application/json": {
          schema: ImportJson,
          example: {
            workflowId: "wf_01JD0000000000000000000000",
            contacts: [
              { email: "ada@example.com", firstName: "Ada" },
              { email: "grace@example.com", firstName: "Grace" },
            ],
          },
        },
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
  operationId: "getImport",
  summary: "Get an import's progress and rejected rows",
  tags: ["Imports"],
  security: secured,
  request: { params: pathId("id", "imp_01JD0000000000000000000000") },
  responses: { 200: json(Import, "Progress and per-row errors"), ...errorResponses(404) },
});
