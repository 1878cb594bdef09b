// The report builder (event queue, kind "report"): one job writes one part of the report's file
// to R2, a multipart upload whose parts are all REPORT_PART_BYTES long (R2 requires equal
// parts) except the last. A job reads pages of rows from its cursor until it has a part's worth,
// uploads it, keeps the bytes past the cut in a carry object, saves the cursor and queues the
// next job — so memory holds one part and one page, whatever the report's size. The last job
// completes the upload, marks the report completed and publishes `report.ready`.
import type { Db } from "../../db/client";
import type { ReportProgress } from "../../db/schema";
import { shardFor } from "../../db/shards";
import { config } from "../../ground/config";
import type { Env } from "../../ground/env";
import { DomainError } from "../../ground/errors";
import { errorText, type Logger } from "../../ground/log";
import type { ReportJob } from "../../ground/queues";
import { csvLines } from "../../lib/csv";
import { loadSender } from "../../messaging";
import { publish } from "../../webhooks";
import { downloadLink, objectKey, sourceOf } from "../reports";
import { getReportById, type ReportRow, updateReport } from "../reports-store";

/** Links in report emails and webhooks stay valid this long. */
export const LINK_TTL_MS = 7 * 86_400_000;

const encoder = new TextEncoder();

/** Bytes gathered for the next parts. */
class Buffer {
  private chunks: Uint8Array[] = [];
  size = 0;
  push(bytes: Uint8Array) {
    if (bytes.length > 0) {
      this.chunks.push(bytes);
      this.size += bytes.length;
    }
  }
  /** The first `n` bytes, removed from the buffer. */
  take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0];
      const want = n - at;
      if (c.length <= want) {
        out.set(c, at);
        at += c.length;
        this.chunks.shift();
      } else {
        out.set(c.subarray(0, want), at);
        this.chunks[0] = c.subarray(want);
        at += want;
      }
    }
    this.size -= n;
    return out;
  }
}

/** The text of a page: CSV lines (the header before the first), or JSON array items. */
function encodePage(
  format: ReportRow["format"],
  columns: readonly string[],
  rows: Record<string, unknown>[],
  rowsBefore: number,
  first: boolean,
): string {
  if (format === "csv") {
    return csvLines(columns, rows, first);
  }
  const items = rows.map((r) =>
    JSON.stringify(Object.fromEntries(columns.map((c) => [c, r[c] ?? null]))),
  );
  const head = first ? "[\n" : "";
  if (items.length === 0) {
    return head;
  }
  return `${head}${rowsBefore > 0 ? ",\n" : ""}${items.join(",\n")}`;
}

export async function buildReport(env: Env, job: ReportJob, log: Logger, now = Date.now()) {
  const db = await shardFor(env, job.orgId);
  const r = await getReportById(db, job.reportId);
  if (!r || r.generation !== job.generation || r.status === "completed" || r.status === "failed") {
    return; // deleted, re-run since, or done: this job has nothing to do
  }
  try {
    await buildPart(env, db, r, log, now);
  } catch (err) {
    if (err instanceof ReportFailure) {
      await failReport(db, job, err.message);
      return;
    }
    throw err;
  }
}

/** Marks the run of a job failed (when it is still the report's current run). */
/** A report whose build kept failing: failed, with what happened, never stuck "running". */
export const reportDeadLettered = async (env: Env, job: ReportJob) =>
  failReport(
    await shardFor(env, job.orgId),
    job,
    "Building the report kept failing; create it again or retry later",
  );

export async function failReport(db: Db, job: ReportJob, error: string) {
  await updateReport(db, job.reportId, job.generation, {
    status: "failed",
    error,
    updatedAt: Date.now(),
  });
}

/** A report that cannot be built (bad parameters found at run time): failed, not retried. */
class ReportFailure extends Error {}

async function buildPart(env: Env, db: Db, r: ReportRow, log: Logger, now: number) {
  const key = objectKey(r, r.generation);
  // The bytes past the last full part, after n parts (each saved progress has its own).
  const carryKey = (n: number) => `${key}.carry.${n}`;
  let progress: ReportProgress | null = r.progress;
  if (!progress) {
    const upload = await env.REPORTS.createMultipartUpload(key, {
      httpMetadata: {
        contentType: r.format === "csv" ? "text/csv; charset=utf-8" : "application/json",
      },
    });
    progress = { uploadId: upload.uploadId, parts: [], cursor: null, rows: 0, bytes: 0, pages: 0 };
  }
  const upload = env.REPORTS.resumeMultipartUpload(key, progress.uploadId);
  const source = await sourceOf(db, r, now).catch((err: unknown) => {
    throw new ReportFailure(errorText(err));
  });
  const buffer = new Buffer();
  if (progress.pages > 0) {
    const carry = await env.REPORTS.get(carryKey(progress.parts.length));
    if (carry) {
      buffer.push(new Uint8Array(await carry.arrayBuffer()));
    }
  }
  const { reportPartBytes: size, reportPageRows } = config(env);
  let { cursor, rows, pages } = progress;
  let done = false;
  while (buffer.size < size) {
    const page = await source.page(cursor, reportPageRows).catch((err: unknown) => {
      // A request the data cannot answer (a workflow deleted since, a zone changed since).
      throw err instanceof DomainError ? new ReportFailure(err.message) : err;
    });
    const first = pages === 0;
    buffer.push(encoder.encode(encodePage(r.format, source.columns, page.rows, rows, first)));
    rows += page.rows.length;
    pages += 1;
    cursor = page.next;
    if (page.next === null) {
      done = true;
      break;
    }
  }
  if (done && r.format === "json") {
    buffer.push(encoder.encode("\n]\n"));
  }
  const parts = [...progress.parts];
  let bytes = progress.bytes;
  while (buffer.size >= size) {
    const part = await upload.uploadPart(parts.length + 1, buffer.take(size));
    parts.push({ partNumber: part.partNumber, etag: part.etag });
    bytes += size;
  }
  if (done) {
    if (buffer.size > 0 || parts.length === 0) {
      const last = buffer.take(buffer.size);
      const part = await upload.uploadPart(parts.length + 1, last);
      parts.push({ partNumber: part.partNumber, etag: part.etag });
      bytes += last.length;
    }
    try {
      await upload.complete(parts);
    } catch (err) {
      // Completed by an earlier try of this job whose report update was lost: the file is there.
      if (!(await env.REPORTS.head(key))) {
        throw err;
      }
    }
    await env.REPORTS.delete(carryKey(progress.parts.length));
    const completedAt = Date.now();
    const finished = await updateReport(db, r.id, r.generation, {
      status: "completed",
      rows,
      bytes,
      pages,
      objectKey: key,
      progress: null,
      error: null,
      startedAt: r.startedAt ?? now,
      completedAt,
      updatedAt: completedAt,
    });
    if (finished) {
      if (r.objectKey && r.objectKey !== key) {
        await env.REPORTS.delete(r.objectKey); // the previous run's file
      }
      await announce(env, db, { ...r, rows, bytes }, log);
    }
    return;
  }
  // Not done: the bytes past the last full part wait in the carry object for the next job.
  await env.REPORTS.put(carryKey(parts.length), buffer.take(buffer.size));
  const saved = await updateReport(
    db,
    r.id,
    r.generation,
    {
      status: "running",
      startedAt: r.startedAt ?? now,
      progress: { uploadId: progress.uploadId, parts, cursor, rows, bytes, pages },
      rows,
      pages,
      bytes,
      updatedAt: Date.now(),
    },
    r.updatedAt,
  );
  if (saved) {
    if (progress.parts.length !== parts.length) {
      await env.REPORTS.delete(carryKey(progress.parts.length));
    }
    await env.EVENT_QUEUE.send({
      kind: "report",
      orgId: r.orgId,
      reportId: r.id,
      generation: r.generation,
    });
  }
}

/** report.ready to the org's webhooks, and the link by email to the schedule's addresses. */
async function announce(env: Env, db: Db, r: ReportRow, log: Logger) {
  const link = await downloadLink(env, db, r, LINK_TTL_MS);
  const key = `${r.id}:${r.generation}:ready`;
  await publish(
    env,
    db,
    r.orgId,
    "report.ready",
    {
      reportId: r.id,
      type: r.type,
      format: r.format,
      generation: r.generation,
      rows: r.rows ?? 0,
      bytes: r.bytes ?? 0,
      downloadUrl: link.url,
      expiresAt: link.expiresAt,
    },
    { key },
  );
  const emails = r.schedule?.emails ?? [];
  if (emails.length === 0) {
    return;
  }
  try {
    const { provider, credentials, from } = await loadSender(env, db, r.orgId);
    const subject = `Your Nudge report is ready: ${r.type.replace(/_/g, " ")}`;
    const text = `${subject}\n\n${r.rows ?? 0} rows, ${r.bytes ?? 0} bytes (${r.format}).\nDownload (valid until ${link.expiresAt}): ${link.url}\n`;
    for (const to of emails) {
      await provider.send(
        {
          messageId: `${r.id}.${r.generation}.${to}`,
          idempotencyKey: `${key}:${to}`,
          from: from ?? "Nudge <reports@nudge.invalid>",
          to,
          subject,
          html: null,
          text,
          headers: {},
        },
        { env, orgId: r.orgId, credentials },
      );
    }
  } catch (err) {
    // The report is ready and announced by webhook; a failed email is logged, not retried.
    log.error("report email not sent", { reportId: r.id, error: errorText(err) });
  }
}
