// Import handlers: the rows are read (JSON or CSV), stored in chunks, and one queue job per chunk is sent.
import type { Context } from "hono";

import type { ImportError, RowAt } from "../../../db/schema";
import { shardFor } from "../../../db/shards";
import type { AppEnv } from "../../../ground/env";
import { DomainError, notFound, validationFailed, zodDetails } from "../../../ground/errors";
import { newId } from "../../../ground/ids";
import { IMPORT_CHUNK_SIZE } from "../../../ground/queues";
import { sendInSlices } from "../../../ground/retry";
import type { Handler } from "../../../http/openapi";
import { type CsvContacts, CsvError, csvToContacts } from "../../../lib/csv";
import { getWorkflow } from "../../../workflows";
import { createImport, getImport, type ImportChunk, type ImportRow } from "../../imports-store";
import type * as routes from "./routes";
import { ImportJson, importJson, MAX_ROWS } from "./schemas";

interface ReadRows {
  workflowId?: string;
  rows: unknown[];
  /** Where each row was in the CSV file; null for JSON. */
  lines: RowAt[] | null;
  /** CSV rows refused while reading the file (too many fields). */
  rejected: ImportError[];
}

async function readRows(c: Context<AppEnv>): Promise<ReadRows> {
  const type = c.req.header("content-type") ?? "";
  if (/^text\/csv\b/i.test(type)) {
    let csv: CsvContacts;
    try {
      csv = csvToContacts(await c.req.text());
    } catch (err) {
      if (err instanceof CsvError) {
        throw validationFailed([{ path: `line ${err.line}`, message: err.message }], err.message);
      }
      throw err;
    }
    // Rows are numbered in file order, rejected ones included.
    const order = [...csv.rows.map((r) => r.line), ...csv.rejected.map((r) => r.line)].sort(
      (x, y) => x - y,
    );
    const index = new Map(order.map((line, i) => [line, i]));
    return {
      workflowId: c.req.query("workflowId") || undefined,
      rows: csv.rows.map((r) => r.contact),
      lines: csv.rows.map((r) => ({ row: index.get(r.line) ?? 0, line: r.line })),
      rejected: csv.rejected.map((r) => ({ row: index.get(r.line) ?? 0, ...r })),
    };
  }
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw new DomainError("invalid_json", "The request body is not valid JSON");
  }
  const parsed = ImportJson.safeParse(body);
  if (!parsed.success) {
    throw validationFailed(zodDetails(parsed.error));
  }
  return {
    workflowId: parsed.data.workflowId,
    rows: parsed.data.contacts,
    lines: null,
    rejected: [],
  };
}

export const create: Handler<typeof routes.create> = async (c) => {
  const { workflowId, rows, lines, rejected } = await readRows(c);
  const total = rows.length + rejected.length;
  if (total === 0) {
    throw new DomainError("contacts_empty", "The import has no rows");
  }
  if (total > MAX_ROWS) {
    throw new DomainError(
      "too_many_contacts",
      `At most ${MAX_ROWS} contacts per import (got ${total})`,
    );
  }
  const db = await shardFor(c.env, c.get("orgId"));
  const orgId = c.get("orgId");
  if (workflowId) {
    const w = await getWorkflow(db, orgId, workflowId);
    if (!w) {
      throw notFound("Workflow");
    }
    if (w.status === "archived") {
      throw new DomainError("workflow_archived", "The workflow is archived");
    }
    if (w.status !== "active") {
      throw new DomainError(
        "workflow_not_active",
        `The workflow is ${w.status}; activate it to enroll contacts`,
      );
    }
  }
  const now = Date.now();
  const chunks: ImportChunk[] = [];
  for (let i = 0; i < rows.length; i += IMPORT_CHUNK_SIZE) {
    chunks.push({
      rows: rows.slice(i, i + IMPORT_CHUNK_SIZE),
      lines: lines ? lines.slice(i, i + IMPORT_CHUNK_SIZE) : null,
    });
  }
  const done = chunks.length === 0;
  const row: ImportRow = {
    id: newId("imp", now),
    orgId,
    workflowId: workflowId ?? null,
    status: done ? "completed" : "queued",
    total,
    // Rows refused while reading count as processed and failed from the start.
    processed: rejected.length,
    created: 0,
    skipped: 0,
    failed: rejected.length,
    errors: rejected,
    createdAt: now,
    updatedAt: now,
  };
  await createImport(db, row, chunks);
  await sendInSlices(
    c.env.EVENT_QUEUE,
    chunks.map((_, chunk) => ({
      kind: "import" as const,
      orgId: row.orgId,
      importId: row.id,
      chunk,
      trace: c.get("requestId"),
    })),
  );
  return c.json({ id: row.id, status: row.status }, 202);
};

export const get: Handler<typeof routes.get> = async (c) => {
  const i = await getImport(
    await shardFor(c.env, c.get("orgId")),
    c.get("orgId"),
    c.req.valid("param").id,
  );
  if (!i) {
    throw notFound("Import");
  }
  return c.json(importJson(i), 200);
};
