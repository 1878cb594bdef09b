// Report handlers: validate, store the row and queue its first job; stream files from R2.

import { readShardFor, shardFor } from "../../../db/shards";
import { isTimeZone } from "../../../engine/timezones";
import type { Env } from "../../../ground/env";
import { notFound, validationFailed } from "../../../ground/errors";
import { newId } from "../../../ground/ids";
import type { Handler } from "../../../http/openapi";
import { pageOf, toPage } from "../../../http/pagination";
import { getWorkflow } from "../../../workflows";
import { zoneOf } from "../../facts";
import { checkCron, checkParams, downloadLink, fileOf, nextRun, ROLLUP_TYPES } from "../../reports";
import {
  deleteReport,
  getReport,
  insertReport,
  listReports,
  type ReportRow,
  updateReport,
} from "../../reports-store";
import type * as routes from "./routes";
import { reportJson } from "./schemas";

/** Signed links shown by GET /v1/reports/{id} stay valid this long. */
const SHOWN_LINK_TTL_MS = 3_600_000;

async function owned(c: { env: Env; get(k: "orgId"): string }, id: string) {
  const r = await getReport(await shardFor(c.env, c.get("orgId")), c.get("orgId"), id);
  if (!r) {
    throw notFound("Report");
  }
  return r;
}

export const create: Handler<typeof routes.create> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const orgId = c.get("orgId");
  const input = c.req.valid("json");
  const problems = checkParams(input.type, input.params);
  if (problems.length > 0) {
    throw validationFailed(problems);
  }
  if (input.params.workflowId && !(await getWorkflow(db, orgId, input.params.workflowId))) {
    throw notFound("Workflow");
  }
  const zone = input.params.timezone;
  if (ROLLUP_TYPES.has(input.type) && zone && zone !== "UTC") {
    const reporting = await zoneOf(db, orgId);
    if (zone !== reporting) {
      throw validationFailed([
        {
          path: "params.timezone",
          message: `A ${input.type} report counts days in UTC or the org's reporting time zone (${reporting})`,
        },
      ]);
    }
  }
  const now = Date.now();
  const row: ReportRow = {
    id: newId("rpt", now),
    orgId,
    type: input.type,
    format: input.format,
    params: input.params,
    status: "queued",
    generation: 1,
    rows: null,
    bytes: null,
    pages: null,
    error: null,
    objectKey: null,
    progress: null,
    schedule: null,
    nextRunAt: null,
    startedAt: null,
    completedAt: null,
    createdAt: now,
    updatedAt: now,
  };
  await insertReport(db, row);
  await c.env.EVENT_QUEUE.send({
    kind: "report",
    orgId: row.orgId,
    reportId: row.id,
    generation: 1,
    trace: c.get("requestId"),
  });
  return c.json(reportJson(row), 202);
};

export const list: Handler<typeof routes.list> = async (c) => {
  const page = toPage(c.req.valid("query"));
  const { data, nextCursor } = pageOf(
    await listReports(
      await readShardFor(c.env, c.get("orgId")),
      c.get("orgId"),
      page.limit,
      page.before,
    ),
    page,
  );
  return c.json({ data: data.map((r) => reportJson(r)), nextCursor }, 200);
};

export const get: Handler<typeof routes.get> = async (c) => {
  const r = await owned(c, c.req.valid("param").id);
  const link =
    r.status === "completed"
      ? await downloadLink(c.env, await shardFor(c.env, c.get("orgId")), r, SHOWN_LINK_TTL_MS)
      : null;
  return c.json(reportJson(r, link), 200);
};

export const download: Handler<typeof routes.download> = async (c) => {
  const r = await owned(c, c.req.valid("param").id);
  return fileOf(c.env.REPORTS, r);
};

export const remove: Handler<typeof routes.remove> = async (c) => {
  const r = await owned(c, c.req.valid("param").id);
  if (r.progress) {
    await c.env.REPORTS.resumeMultipartUpload(
      r.objectKey ?? `reports/${r.orgId}/${r.id}/${r.generation}.${r.format}`,
      r.progress.uploadId,
    )
      .abort()
      .catch(() => undefined);
  }
  // Every file of every run, carries included.
  const prefix = `reports/${r.orgId}/${r.id}/`;
  let cursor: string | undefined;
  do {
    const listed = await c.env.REPORTS.list({ prefix, cursor });
    if (listed.objects.length > 0) {
      await c.env.REPORTS.delete(listed.objects.map((o) => o.key));
    }
    cursor = listed.truncated ? listed.cursor : undefined;
  } while (cursor);
  await deleteReport(await shardFor(c.env, c.get("orgId")), r.orgId, r.id);
  return c.body(null, 204);
};

export const schedule: Handler<typeof routes.schedule> = async (c) => {
  const db = await shardFor(c.env, c.get("orgId"));
  const r = await owned(c, c.req.valid("param").id);
  const input = c.req.valid("json");
  const timezone = input.timezone ?? (await zoneOf(db, r.orgId));
  if (!isTimeZone(timezone)) {
    throw validationFailed([{ path: "timezone", message: "Not an IANA time zone" }]);
  }
  const problem = checkCron(input.cron, timezone);
  if (problem) {
    throw validationFailed([{ path: "cron", message: problem }]);
  }
  const now = Date.now();
  const fields = {
    schedule: { cron: input.cron.trim(), timezone, emails: input.emails },
    nextRunAt: nextRun(input.cron, timezone, now),
    updatedAt: now,
  };
  await updateReport(db, r.id, r.generation, fields);
  return c.json(reportJson({ ...r, ...fields }), 200);
};

export const unschedule: Handler<typeof routes.unschedule> = async (c) => {
  const r = await owned(c, c.req.valid("param").id);
  const fields = { schedule: null, nextRunAt: null, updatedAt: Date.now() };
  await updateReport(await shardFor(c.env, c.get("orgId")), r.id, r.generation, fields);
  return c.json(reportJson({ ...r, ...fields }), 200);
};
