// Reports: generated in pages by a queue consumer into R2, downloadable, schedulable.
import { createRoute } from "@hono/zod-openapi";
import { errorResponses } from "../../../http/errors";
import { json, jsonBody, pathId, secured } from "../../../http/openapi";
import { listOf, PageQuery } from "../../../http/pagination";
import { Report, ReportInput, ScheduleInput } from "./schemas";

const id = pathId("id", "rpt_01JD0000000000000000000000");

export const create = createRoute({
  method: "post",
  path: "/v1/reports",
  operationId: "createReport",
  tags: ["Reports"],
  summary: "Generate a report (CSV or JSON), in the background",
  description:
    "202 with the report `queued`; it moves to `running` and `completed` (or `failed`) as a queue consumer writes it to storage in pages — an export of a million rows never sits in memory. CSV is RFC 4180, UTF-8 with a header row; cells starting with = + - @ tab or CR are prefixed with ' (formula injection). JSON is an array of objects. `report.ready` is published to webhooks when it completes.",
  security: secured,
  request: {
    body: jsonBody(ReportInput, {
      type: "messages_export",
      format: "csv",
      params: { from: "2026-11-01", to: "2026-11-30", workflowId: "wf_01JD0000000000000000000000" },
    }),
  },
  responses: { 202: json(Report, "Queued"), ...errorResponses(404) },
});

export const list = createRoute({
  method: "get",
  path: "/v1/reports",
  operationId: "listReports",
  tags: ["Reports"],
  summary: "List reports, newest first",
  security: secured,
  request: { query: PageQuery },
  responses: { 200: json(listOf(Report), "Reports"), ...errorResponses() },
});

export const get = createRoute({
  method: "get",
  path: "/v1/reports/{id}",
  operationId: "getReport",
  tags: ["Reports"],
  summary: "Get a report's status, size, and a signed download link",
  security: secured,
  request: { params: id },
  responses: { 200: json(Report, "The report"), ...errorResponses(404) },
});

export const download = createRoute({
  method: "get",
  path: "/v1/reports/{id}/download",
  operationId: "downloadReport",
  tags: ["Reports"],
  summary: "Stream a completed report's file",
  security: secured,
  request: { params: id },
  responses: {
    200: {
      description: "The file (text/csv or application/json), as an attachment",
      content: {
        "text/csv": { schema: { type: "string" } },
        "application/json": { schema: { type: "string" } },
      },
    },
    ...errorResponses(404, 409),
  },
});

export const remove = createRoute({
  method: "delete",
  path: "/v1/reports/{id}",
  operationId: "deleteReport",
  tags: ["Reports"],
  summary: "Delete a report and its file",
  security: secured,
  request: { params: id },
  responses: { 204: { description: "Deleted" }, ...errorResponses(404) },
});

export const schedule = createRoute({
  method: "post",
  path: "/v1/reports/{id}/schedule",
  operationId: "scheduleReport",
  tags: ["Reports"],
  summary: "Re-generate a report on a cron schedule",
  description:
    "Each run re-generates the report in place (its `generation` goes up; the previous file is replaced when the new one completes), publishes `report.ready`, and emails a download link to `emails`. Runs are driven by the Worker's cron trigger (every minute), so a run starts within a minute of its time. Give `params.lastDays` for a rolling period.",
  security: secured,
  request: {
    params: id,
    body: jsonBody(ScheduleInput, {
      cron: "0 8 * * MON",
      timezone: "Europe/Paris",
      emails: ["revops@example.com"],
    }),
  },
  responses: { 200: json(Report, "The report with its schedule"), ...errorResponses(404) },
});

export const unschedule = createRoute({
  method: "delete",
  path: "/v1/reports/{id}/schedule",
  operationId: "unscheduleReport",
  tags: ["Reports"],
  summary: "Stop re-generating a report",
  security: secured,
  request: { params: id },
  responses: { 200: json(Report, "The report, unscheduled"), ...errorResponses(404) },
});
