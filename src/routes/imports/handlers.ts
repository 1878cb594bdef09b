// Import handlers: the rows are read (JSON or CSV), stored in chunks, and one queue job per chunk is sent.
import type { Context } from "hono";
import { database } from "../../db/client";
import { createImport, getImport, type ImportRow } from "../../db/imports";
import { getWorkflow } from "../../db/workflows";
import { csvToContacts } from "../../engine/csv";
import type { AppEnv } from "../../ground/env";
import { newId } from "../../ground/ids";
import { IMPORT_CHUNK_SIZE } from "../../ground/queues";
import { sendInSlices } from "../../ground/retry";
import { ApiError, notFound } from "../../http/errors";
import type { Handler } from "../../http/openapi";
import type * as routes from "./routes";
import { ImportJson, importJson, MAX_ROWS } from "./schemas";

async function readRows(c: Context<AppEnv>): Promise<{ workflowId?: string; rows: unknown[] }> {
  const type = c.req.header("content-type") ?? "";
  if (/^text\/csv\b/i.test(type)) {
    return {
      workflowId: c.req.query("workflowId") || undefined,
      rows: csvToContacts(await c.req.text()),
    };
  }
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw new ApiError("invalid_json", "The request body is not valid JSON");
  }
  const parsed = ImportJson.safeParse(body);
  if (!parsed.success) {
    throw new ApiError("validation_failed", "The request is invalid", {
      details: parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
    });
  }
  return { workflowId: parsed.data.workflowId, rows: parsed.data.contacts };
}

export const create: Handler<typeof routes.create> = async (c) => {
  const { workflowId, rows } = await readRows(c);
  if (rows.length === 0) {
    throw new ApiError("contacts_empty", "The import has no rows");
  }
  if (rows.length > MAX_ROWS) {
    throw new ApiError(
      "too_many_contacts",
      `At most ${MAX_ROWS} contacts per import (got ${rows.length})`,
    );
  }
  const db = database(c.env.DB);
  const orgId = c.get("orgId");
  if (workflowId) {
    const w = await getWorkflow(db, orgId, workflowId);
    if (!w) {
      throw notFound("Workflow");
    }
    if (w.status === "archived") {
      throw new ApiError("workflow_archived", "The workflow is archived");
    }
    if (w.status !== "active") {
      throw new ApiError(
        "workflow_not_active",
        `The workflow is ${w.status}; activate it to enroll contacts`,
      );
    }
  }
  const now = Date.now();
  const chunks: unknown[][] = [];
  for (let i = 0; i < rows.length; i += IMPORT_CHUNK_SIZE) {
    chunks.push(rows.slice(i, i + IMPORT_CHUNK_SIZE));
  }
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
  await sendInSlices(
    c.env.EVENT_QUEUE,
    chunks.map((_, chunk) => ({ kind: "import" as const, importId: row.id, chunk })),
  );
  return c.json({ id: row.id, status: row.status }, 202);
};

export const get: Handler<typeof routes.get> = async (c) => {
  const i = await getImport(database(c.env.DB), c.get("orgId"), c.req.valid("param").id);
  if (!i) {
    throw notFound("Import");
  }
  return c.json(importJson(i), 200);
};
