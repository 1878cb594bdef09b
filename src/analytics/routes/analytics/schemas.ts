// Analytics query and response shapes.
import { z } from "@hono/zod-openapi";
import { COUNTS, isDay, METRIC_NAMES, type MetricName, RATES } from "../../../engine/metrics";
import { GROUP_COLUMNS } from "../../store";

const Day = (what: string) =>
  z
    .string()
    .refine(isDay, "A calendar day: YYYY-MM-DD")
    .optional()
    .openapi({ description: what, example: "2026-11-01" });

const METRIC_DOC = [
  ...Object.entries(COUNTS).map(([k, v]) => `\`${k}\`: ${v}`),
  ...Object.entries(RATES).map(([k, v]) => `\`${k}\`: ${v.doc}`),
].join("; ");

const MetricList = z
  .string()
  .optional()
  .transform((s, ctx) => {
    if (!s) {
      return undefined;
    }
    const names = [
      ...new Set(
        s
          .split(",")
          .map((x) => x.trim())
          .filter(Boolean),
      ),
    ];
    const unknown = names.filter((n) => !METRIC_NAMES.includes(n as MetricName));
    if (unknown.length > 0) {
      ctx.addIssue({
        code: "custom",
        message: `Unknown metric${unknown.length > 1 ? "s" : ""}: ${unknown.join(", ")}`,
      });
      return z.NEVER;
    }
    return names as MetricName[];
  })
  .openapi({
    description: `Comma-separated. Default: a common set. Counts — ${METRIC_DOC}.`,
    example: "sent,uniqueOpened,openRate",
  });

export const MetricsQuery = z.strictObject({
  from: Day("First day, inclusive, in `timezone` (default: 29 days before `to`)"),
  to: Day("Last day, inclusive (default: today)"),
  interval: z.enum(["day", "week", "month"]).optional().openapi({
    description: "Bucket size: days, ISO weeks (starting Monday), or calendar months",
  }),
  groupBy: z
    .enum(Object.keys(GROUP_COLUMNS) as [keyof typeof GROUP_COLUMNS])
    .optional()
    .openapi({
      description: "One series per workflow, step, channel, connection, category or A/B variant",
    }),
  workflowId: z.string().max(100).optional(),
  metrics: MetricList,
  timezone: z.string().max(100).optional().openapi({
    description:
      "The zone days are counted in: `UTC` or the org's reporting time zone (the default; PATCH /v1/account)",
    example: "UTC",
  }),
});

const Values = z.record(z.string(), z.number().nullable());

export const MetricsResult = z
  .object({
    from: z.string(),
    to: z.string(),
    timezone: z.string(),
    interval: z.enum(["day", "week", "month"]),
    groupBy: z.string().nullable(),
    metrics: z.array(z.string()),
    series: z.array(
      z.object({
        key: z
          .string()
          .nullable()
          .openapi({ description: "The group's value (null: ungrouped, or not applicable)" }),
        label: z.string().nullable(),
        points: z.array(
          z.object({
            t: z.string().openapi({ description: "The bucket's first day" }),
            values: Values,
          }),
        ),
        totals: Values,
      }),
    ),
    totals: Values,
  })
  .openapi("Metrics");

export const ChartQuery = MetricsQuery.extend({
  type: z.enum(["line", "bar"]).optional().openapi({ description: "Default `line`" }),
  format: z.enum(["json", "svg"]).optional().openapi({ description: "Default `json`" }),
  title: z.string().max(200).optional(),
});

export const Chart = z
  .object({
    type: z.enum(["line", "bar"]),
    title: z.string(),
    xLabel: z.string(),
    yLabel: z.string(),
    labels: z.array(z.string()),
    datasets: z.array(
      z.object({
        label: z.string(),
        metric: z.string(),
        key: z.string().nullable(),
        data: z.array(z.number().nullable()),
      }),
    ),
  })
  .openapi("Chart");

export const FunnelQuery = z.strictObject({
  workflowId: z.string().min(1).max(100),
  from: MetricsQuery.shape.from,
  to: MetricsQuery.shape.to,
  timezone: MetricsQuery.shape.timezone,
});

export const Funnel = z
  .object({
    workflowId: z.string(),
    from: z.string(),
    to: z.string(),
    timezone: z.string(),
    enrolled: z.number().int(),
    completed: z.number().int(),
    converted: z.number().int(),
    conversionRate: z.number().nullable(),
    steps: z.array(
      z.object({
        stepId: z.string(),
        type: z.string(),
        name: z.string().nullable(),
        entered: z.number().int(),
        completed: z.number().int(),
        failed: z.number().int(),
        endedHere: z.record(z.string(), z.number().int()),
        dropOff: z
          .number()
          .int()
          .openapi({ description: "Enrollments cancelled, failed or exited at this step" }),
        dropOffRate: z.number().nullable(),
        conversionFromStart: z.number().nullable().openapi({ description: "entered ÷ enrolled" }),
        conversionFromPrevious: z
          .number()
          .nullable()
          .openapi({ description: "entered ÷ entered of the step before it" }),
        medianSecondsFromPrevious: z.number().nullable().openapi({
          description:
            "Median time from entering the previous step to entering this one (within 5 %)",
        }),
      }),
    ),
  })
  .openapi("Funnel");
