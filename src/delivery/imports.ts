// Import chunks: each row is validated like POST /v1/contacts, upserted, and enrolled when the import names a workflow.
import { database } from "../db/client";
import { completeChunk, getChunk, getImportById } from "../db/imports";
import { getWorkflow } from "../db/workflows";
import { ContactInput, saveContact } from "../domain/contacts";
import { enroll } from "../domain/enrollments";
import type { Env } from "../ground/env";
import type { Logger } from "../ground/log";
import { IMPORT_CHUNK_SIZE } from "../ground/queues";

export async function processImportChunk(env: Env, importId: string, chunk: number, log: Logger) {
  const db = database(env.DB);
  const [imp, rows] = await Promise.all([
    getImportById(db, importId),
    getChunk(db, importId, chunk),
  ]);
  if (!imp || !rows) {
    return; // already processed
  }
  const workflow = imp.workflowId ? await getWorkflow(db, imp.orgId, imp.workflowId) : undefined;
  const counts = { processed: 0, created: 0, skipped: 0, failed: 0 };
  const errors: { row: number; message: string }[] = [];
  const items = rows.rows as unknown[];
  for (let i = 0; i < items.length; i++) {
    const rowNumber = chunk * IMPORT_CHUNK_SIZE + i;
    counts.processed++;
    const parsed = ContactInput.safeParse(items[i]);
    if (!parsed.success) {
      counts.failed++;
      errors.push({
        row: rowNumber,
        message: parsed.error.issues
          .map((x) => `${x.path.join(".") || "row"}: ${x.message}`)
          .join("; "),
      });
      continue;
    }
    const { contact, created } = await saveContact(env, db, imp.orgId, parsed.data);
    if (!imp.workflowId) {
      if (created) {
        counts.created++;
      } else {
        counts.skipped++;
      }
      continue;
    }
    if (!workflow) {
      counts.failed++;
      errors.push({ row: rowNumber, message: "The workflow no longer exists" });
      continue;
    }
    const r = await enroll(env, db, { workflow, contact }, log);
    if (r.ok) {
      counts.created++;
    } else {
      counts.skipped++;
    }
  }
  await completeChunk(db, importId, chunk, counts, errors, Date.now());
}
