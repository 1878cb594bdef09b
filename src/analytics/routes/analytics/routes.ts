// Analytics: metrics over time, charts (JSON or SVG) and a workflow's funnel, from daily rollups.
import { createRoute } from "@hono/zod-openapi";
import { errorResponses } from "../../../http/errors";
import { json, secured } from "../../../http/openapi";
import { Chart, ChartQuery, Funnel, FunnelQuery, MetricsQuery, MetricsResult } from "./schemas";

export const metrics = createRoute({
  method: "get",
  path: "/v1/analytics/metrics",
  operationId: "getAnalyticsMetrics",
  tags: ["Analytics"],
  summary: "Metrics over time, grouped, with rates",
  description:
    "Counts kept as they happen (daily rollups per org, zone, workflow, step, channel, connection, category and variant), read without scanning events or messages: a year costs what a day does. Rates are computed from the counts of the same bucket and group; null when their denominator is 0.",
  security: secured,
  request: { query: MetricsQuery },
  responses: { 200: json(MetricsResult, "Series of points, and totals"), ...errorResponses(404) },
});

export const charts = createRoute({
  method: "get",
  path: "/v1/analytics/charts",
  operationId: "getAnalyticsChart",
  tags: ["Analytics"],
  summary: "The same metrics shaped for plotting, or as an SVG chart",
  description:
    "`format=svg` returns a self-contained, accessible SVG (title, description, axis labels, legend; one point or bar per bucket and dataset). Datasets: one per metric, or per group and metric with `groupBy`.",
  security: secured,
  request: { query: ChartQuery },
  responses: {
    200: {
      description: "A chart",
      content: {
        "application/json": { schema: Chart },
        "image/svg+xml": { schema: { type: "string" } },
      },
    },
    ...errorResponses(404),
  },
});

export const funnel = createRoute({
  method: "get",
  path: "/v1/analytics/funnel",
  operationId: "getAnalyticsFunnel",
  tags: ["Analytics"],
  summary: "A workflow's funnel: conversion and drop-off per step, time between steps",
  description:
    "Counts what happened in the period (steps entered, completed, failed; enrollments ended at each step). Drop-off: enrollments cancelled, failed or exited at the step.",
  security: secured,
  request: { query: FunnelQuery },
  responses: { 200: json(Funnel, "The funnel"), ...errorResponses(404) },
});
