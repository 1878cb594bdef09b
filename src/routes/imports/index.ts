// Contact imports: JSON (≤ 10,000 contacts) or text/csv, processed in chunks through EVENT_QUEUE.
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { database, iso } from "../../db/client";
import { createImport, getImport, type ImportRow } from "../../db/imports";
import { getWorkflow } from "../../db/workflows";
import { IMPORT_CHUNK_SIZE } from "../../delivery/imports";
import { csvToContacts } from "../../engine/csv";
import type { AppEnv } from "../../env";
import { ApiError, errorResponses, notFound } from "../../http/errors";
import { newId } from "../../http/ids";
import { json, pathId, router, secured, Timestamp } from "../../http/openapi";

const MAX_ROWS = 10_000;
const ImportJson = z.object({ workflowId: z.string().min(1).max(100).optional(), contacts: z.array(z.unknown()) }).openapi("ImportInput");
const Import = z
  .object({
    id: z.string(),
    workflowId: z.string().nullable(),
    status: z.enum(["queued", "processing", "completed", "failed"]),
    total: z.number().int(),
    processed: z.number().int(),
    created: z.number().int().openapi({ description: "New enrollments (with workflowId) or new contacts (without)" }),
    skipped: z.number().int().openapi({ description: "Already enrolled / re-entry refused (with workflowId) or existing contacts updated (without)" }),
    failed: z.number().int(),
    errors: z.array(z.object({ row: z.number().int(), message: z.string() })),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("Import");

const importJson = (i: ImportRow) => ({
  id: i.id,
  workflowId: i.workflowId,
  status: i.status,
  total: i.total,
  processed: i.processed,
  created: i.created,
  skipped: i.skipped,
  failed: i.failed,
  errors: i.errors,
  createdAt: iso(i.createdAt) as string,
  updatedAt: iso(i.updatedAt) as string,
});

const routes = {
  create: createRoute({
    method: "post",
    path: "/v1/imports",
    tags: ["Imports"],
    security: secured,
    summary: "Import contacts (JSON or text/csv with ?workflowId=) and optionally enroll them",
    request: {
      query: z.object({ workflowId: z.string().optional().openapi({ description: "For text/csv bodies" }) }),
      // Not `required`: the JSON validator must not run on text/csv bodies; readRows() validates both.
      body: {
        required: false,
        content: {
          "application/json": { schema: ImportJson },
          "text/csv": { schema: z.string().openapi({ example: "email,firstName,plan\nada@example.com,Ada,pro" }) },
        },
      },
    },
    responses: { 202: json(z.object({ id: z.string(), status: z.string() }), "Accepted; poll GET /v1/imports/{id}"), ...errorResponses(404) },
  }),
  get: createRoute({
    method: "get",
    path: "/v1/imports/{id}",
    tags: ["Imports"],
    security: secured,
    request: { params: pathId("id", "imp_01JD0000000000000000000000") },
    responses: { 200: json(Import, "Progress and per-row errors"), ...errorResponses(404) },
  }),
};

async function readRows(c: Context<AppEnv>): Promise<{ workflowId?: string; rows: unknown[] }> {
  const type = c.req.header("content-type") ?? "";
  if (/^text\/csv\b/i.test(type)) return { workflowId: c.req.query("workflowId") || undefined, rows: csvToContacts(await c.req.text()) };
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw new ApiError("invalid_json", "The request body is not valid JSON");
  }
  const parsed = ImportJson.safeParse(body);
  if (!parsed.success)
    throw new ApiError("validation_failed", "The request is invalid", {
      details: parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
    });
  return { workflowId: parsed.data.workflowId, rows: parsed.data.contacts };
}

export default router()
  .openapi(routes.create, async (c) => {
    const { workflowId, rows } = await readRows(c);
    if (rows.length === 0) throw new ApiError("contacts_empty", "The import has no rows");
    if (rows.length > MAX_ROWS) throw new ApiError("too_many_contacts", `At most ${MAX_ROWS} contacts per import (got ${rows.length})`);
    const db = database(c.env.DB);
    const orgId = c.get("orgId");
    if (workflowId) {
      const w = await getWorkflow(db, orgId, workflowId);
      if (!w) throw notFound("Workflow");
      if (w.status === "archived") throw new ApiError("workflow_archived", "The workflow is archived");
      if (w.status !== "active") throw new ApiError("workflow_not_active", `The workflow is ${w.status}; activate it to enroll contacts`);
    }
    const now = Date.now();
    const chunks: unknown[][] = [];
    for (let i = 0; i < rows.length; i += IMPORT_CHUNK_SIZE) chunks.push(rows.slice(i, i + IMPORT_CHUNK_SIZE));
    const row: ImportRow = {
      id: newId("imp", now),
      orgId,
      workflowId: workflowId ?? null,
      status: "queued",
      total: rows.length,
      processed: 0,
      created: 0,
      skipped: 0,
      failed: 0,
      errors: [],
      createdAt: now,
      updatedAt: now,
    };
    await createImport(db, row, chunks);
    const jobs = chunks.map((_, chunk) => ({ body: { kind: "import" as const, importId: row.id, chunk } }));
    for (let i = 0; i < jobs.length; i += 100) await c.env.EVENT_QUEUE.sendBatch(jobs.slice(i, i + 100));
    return c.json({ id: row.id, status: row.status }, 202);
  })
  .openapi(routes.get, async (c) => {
    const i = await getImport(database(c.env.DB), c.get("orgId"), c.req.valid("param").id);
    if (!i) throw notFound("Import");
    return c.json(importJson(i), 200);
  });
