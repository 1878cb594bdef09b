// Report shapes.
import { z } from "@hono/zod-openapi";
import { iso } from "../../../db/client";
import { REPORT_TYPES } from "../../../db/schema";
import { Timestamp } from "../../../http/openapi";
import type { ReportRow } from "../../reports-store";

export const ReportParams = z
  .strictObject({
    from: z.string().optional().openapi({ description: "First day (YYYY-MM-DD), inclusive" }),
    to: z.string().optional().openapi({ description: "Last day (YYYY-MM-DD), inclusive" }),
    lastDays: z.number().int().min(1).max(1096).optional().openapi({
      description:
        "Instead of from/to: the last N days up to the day the report runs (for schedules)",
    }),
    timezone: z.string().max(100).optional().openapi({
      description:
        "The zone days are in (default: the org's reporting zone). Rollup reports (workflow_performance, deliverability) accept UTC or the reporting zone.",
    }),
    workflowId: z.string().max(100).optional(),
    status: z.string().max(40).optional().openapi({
      description:
        "enrollments_export: an enrollment status; messages_export: a message status; contacts_export: subscribed | unsubscribed",
    }),
  })
  .openapi("ReportParams");

export const ReportInput = z
  .strictObject({
    type: z.enum(REPORT_TYPES).openapi({
      description:
        "`workflow_performance` (a row per workflow: counts and rates over the period), `deliverability` (a row per connection and day), `enrollments_export`, `messages_export`, `contacts_export` (a row per record; no period: everything)",
    }),
    format: z.enum(["csv", "json"]).default("csv"),
    params: ReportParams.default({}),
  })
  .openapi("ReportInput");

export const ScheduleInput = z
  .strictObject({
    cron: z.string().min(1).max(100).openapi({
      description: "Five fields: minute hour day-of-month month day-of-week",
      example: "0 8 * * MON",
    }),
    timezone: z.string().max(100).optional().openapi({
      description: "The zone the expression is read in (default: the org's reporting zone)",
    }),
    emails: z.array(z.email()).max(20).default([]).openapi({
      description: "Addresses that get a download link (valid 7 days) after each run",
    }),
  })
  .openapi("ReportSchedule");

export const Report = z
  .object({
    id: z.string(),
    type: z.enum(REPORT_TYPES),
    format: z.enum(["csv", "json"]),
    params: z.record(z.string(), z.unknown()),
    status: z.enum(["queued", "running", "completed", "failed"]),
    generation: z
      .number()
      .int()
      .openapi({ description: "The run: 1, then one more per scheduled re-run" }),
    rows: z.number().int().nullable(),
    bytes: z.number().int().nullable(),
    pages: z.number().int().nullable().openapi({ description: "Pages of rows read to build it" }),
    error: z.string().nullable(),
    schedule: z
      .object({
        cron: z.string(),
        timezone: z.string(),
        emails: z.array(z.string()),
        nextRunAt: Timestamp.nullable(),
      })
      .nullable(),
    download: z.object({ url: z.string(), expiresAt: Timestamp }).nullable().openapi({
      description:
        "When completed (single reads only): a signed link to the file that needs no API key, valid one hour. GET /v1/reports/{id}/download streams it with the key.",
    }),
    createdAt: Timestamp,
    startedAt: Timestamp.nullable(),
    completedAt: Timestamp.nullable(),
    updatedAt: Timestamp,
  })
  .openapi("Report");

export const reportJson = (
  r: ReportRow,
  download: { url: string; expiresAt: string } | null = null,
) => ({
  id: r.id,
  type: r.type,
  format: r.format,
  params: r.params,
  status: r.status,
  generation: r.generation,
  rows: r.rows,
  bytes: r.bytes,
  pages: r.pages,
  error: r.error,
  schedule: r.schedule ? { ...r.schedule, nextRunAt: iso(r.nextRunAt) } : null,
  download,
  createdAt: iso(r.createdAt) as string,
  startedAt: iso(r.startedAt),
  completedAt: iso(r.completedAt),
  updatedAt: iso(r.updatedAt) as string,
});
