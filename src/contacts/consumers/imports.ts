// Import chunks: each row is validated like POST /v1/contacts, upserted, and enrolled when the import names a workflow.

import { quotaExceeded } from "../../db/quotas";
import type { ImportError } from "../../db/schema";
import { shardFor } from "../../db/shards";
import { enroll } from "../../enrollments";
import type { Env } from "../../ground/env";
import { detailsLine, zodDetails } from "../../ground/errors";
import type { Logger } from "../../ground/log";
import { IMPORT_CHUNK_SIZE, type ImportJob } from "../../ground/queues";
import { getWorkflow } from "../../workflows";
import { ContactInput, saveContact } from "../contacts";
import { completeChunk, getChunk, getImportById } from "../imports-store";

export async function processImportChunk(
  env: Env,
  { orgId, importId, chunk }: ImportJob,
  log: Logger,
) {
  const db = await shardFor(env, orgId);
  const [imp, rows] = await Promise.all([
    getImportById(db, importId),
    getChunk(db, importId, chunk),
  ]);
  if (!imp || !rows) {
    return; // already processed
  }
  const workflow = imp.workflowId ? await getWorkflow(db, imp.orgId, imp.workflowId) : undefined;
  const counts = { processed: 0, created: 0, skipped: 0, failed: 0 };
  const errors: ImportError[] = [];
  const items = rows.rows as unknown[];
  for (let i = 0; i < items.length; i++) {
    const at = rows.lines?.[i] ?? { row: chunk * IMPORT_CHUNK_SIZE + i };
    counts.processed++;
    const parsed = ContactInput.safeParse(items[i]);
    if (!parsed.success) {
      counts.failed++;
      errors.push({ ...at, message: detailsLine(zodDetails(parsed.error)) });
      continue;
    }
    let saved: Awaited<ReturnType<typeof saveContact>>;
    try {
      saved = await saveContact(env, db, imp.orgId, parsed.data);
    } catch (err) {
      const resource = quotaExceeded(err);
      if (!resource) {
        throw err; // the chunk is retried; upserts make that safe
      }
      counts.failed++;
      errors.push({ ...at, message: `quota_exceeded: the org's ${resource} quota is reached` });
      continue;
    }
    const { contact, created } = saved;
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
      errors.push({ ...at, message: "The workflow no longer exists" });
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
