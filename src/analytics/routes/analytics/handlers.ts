// Analytics handlers: parse, read the rollups (src/analytics/analytics.ts), shape.

import { readShardFor } from "../../../db/shards";
import { type MetricName, RATES } from "../../../engine/metrics";
import { validationFailed } from "../../../ground/errors";
import type { Handler } from "../../../http/openapi";
import { renderSvg } from "../../../lib/charts";
import { readFunnel, readMetrics } from "../../analytics";
import type * as routes from "./routes";

export const metrics: Handler<typeof routes.metrics> = async (c) =>
  c.json(
    await readMetrics(
      await readShardFor(c.env, c.get("orgId")),
      c.get("orgId"),
      c.req.valid("query"),
    ),
    200,
  );

const CHART_DEFAULT: MetricName[] = ["sent", "uniqueOpened", "uniqueClicked"];

export const charts: Handler<typeof routes.charts> = async (c) => {
  const q = c.req.valid("query");
  const names = q.metrics ?? CHART_DEFAULT;
  const rates = names.filter((n) => n in RATES);
  if (rates.length > 0 && rates.length < names.length) {
    throw validationFailed([
      { path: "metrics", message: "A chart plots counts or rates, not both: ask for one kind" },
    ]);
  }
  const m = await readMetrics(await readShardFor(c.env, c.get("orgId")), c.get("orgId"), {
    ...q,
    metrics: names,
  });
  const datasets = m.series.flatMap((s) =>
    names.map((metric) => ({
      label:
        s.key === null && !q.groupBy
          ? metric
          : names.length > 1
            ? `${s.label ?? s.key ?? "none"} · ${metric}`
            : (s.label ?? s.key ?? "none"),
      metric,
      key: s.key,
      data: s.points.map((p) => p.values[metric] ?? null),
    })),
  );
  const chart = {
    type: q.type ?? ("line" as const),
    title:
      q.title ??
      `${names.join(", ")} per ${m.interval}${q.groupBy ? ` by ${q.groupBy}` : ""}, ${m.from} – ${m.to} (${m.timezone})`,
    xLabel: m.interval === "day" ? "Day" : m.interval === "week" ? "Week (from Monday)" : "Month",
    yLabel: rates.length > 0 ? "Rate" : "Count",
    labels: m.series[0]?.points.map((p) => p.t) ?? [],
    datasets,
  };
  if (q.format === "svg") {
    return c.body(renderSvg({ ...chart, percent: rates.length > 0 }), 200, {
      "content-type": "image/svg+xml; charset=utf-8",
      "cache-control": "private, max-age=60",
    });
  }
  return c.json(chart, 200);
};

export const funnel: Handler<typeof routes.funnel> = async (c) => {
  const q = c.req.valid("query");
  return c.json(
    await readFunnel(await readShardFor(c.env, c.get("orgId")), c.get("orgId"), q.workflowId, q),
    200,
  );
};
