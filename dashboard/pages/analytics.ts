// Analytics: metrics over time as charts (the API's own SVG) and the totals as a table.
import { api, chartUrl } from "../api";
import { empty, field, h, pct, table } from "../dom";
import { go } from "../nav";

const DAY = 86_400_000;
const COUNTS = ["sent", "delivered", "uniqueOpened", "uniqueClicked", "replied", "bounced", "unsubscribed", "enrolled", "completed"];
const RATES = ["openRate", "clickRate", "replyRate", "bounceRate"];

export async function analyticsPage(_p: Record<string, string>, query: URLSearchParams) {
  const days = Math.min(365, Math.max(7, Number(query.get("days")) || 30));
  const workflowId = query.get("workflowId") || undefined;
  const now = Date.now();
  const range = {
    from: new Date(now - (days - 1) * DAY).toISOString().slice(0, 10),
    to: new Date(now).toISOString().slice(0, 10),
    timezone: "UTC",
    ...(workflowId ? { workflowId } : {}),
  };
  const [metrics, chart] = await Promise.all([
    api.getAnalyticsMetrics({ query: { ...range, interval: days > 90 ? "week" : "day", metrics: [...COUNTS, ...RATES].join(",") } }),
    chartUrl({ ...range, interval: days > 90 ? "week" : "day", metrics: "sent,uniqueOpened,uniqueClicked,replied", title: "Email over time" }),
  ]);
  const t = metrics.totals ?? {};
  const select = h(
    "select",
    { name: "days" },
    [7, 30, 90, 365].map((d) => h("option", { value: d, selected: d === days }, `Last ${d} days`)),
  );
  const form = h(
    "form",
    {
      class: "filters",
      onsubmit: (e: Event) => {
        e.preventDefault();
        go(`/analytics?days=${select.value}${workflowId ? `&workflowId=${workflowId}` : ""}`);
      },
    },
    field("Period", select),
    h("button", { type: "submit" }, "Show"),
  );
  const anything = COUNTS.some((k) => (t[k] ?? 0) > 0);
  return [
    h("h1", {}, workflowId ? "Analytics of one workflow" : "Analytics"),
    workflowId ? h("p", {}, h("a", { href: `#/workflows/${workflowId}` }, "Back to the workflow"), " · ", h("a", { href: `#/analytics?days=${days}` }, "All workflows")) : null,
    form,
    anything
      ? h("figure", {}, h("img", { src: chart, alt: `Emails sent, opened (unique), clicked (unique) and replied per ${days > 90 ? "week" : "day"} over the last ${days} days`, class: "chart" }))
      : empty("Nothing counted in this period yet.", "Counts appear as soon as workflows send: activate one and enroll a contact."),
    table(
      `Totals over the last ${days} days`,
      ["Metric", "Value"],
      [...COUNTS.map((k) => [k, String(t[k] ?? 0)]), ...RATES.map((k) => [k, pct(t[k])])],
      false,
    ),
  ];
}
