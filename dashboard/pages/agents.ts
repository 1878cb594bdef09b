// Agents: the fleet over the last 24 hours, as GET /v1/monitoring/agents reports it.
import { api } from "../api";
import { badge, empty, h, table } from "../dom";

export async function agentsPage() {
  const fleet = await api.monitorAgents();
  return [
    h("h1", {}, "Agents"),
    h("p", { class: "muted" }, "The last 24 hours of each agent: executions, failures, duration and spend."),
    fleet.agents.length === 0
      ? empty("No agents yet.", "Deploy one with POST /v1/agents (a workflow, an LLM template or your own code).")
      : table(
          "Agents over the last 24 hours",
          ["Agent", "Type", "State", "Executions", "Failures", "p95 duration", "Spend", "Queued now"],
          fleet.agents.map((a) => [
            a.name,
            a.type,
            badge(a.paused ? "paused" : "active"),
            String(a.executions),
            String(a.failures),
            a.p95DurationMs === null ? "—" : `${a.p95DurationMs} ms`,
            `$${a.spendUsd.toFixed(4)}`,
            String(a.queuedNow),
          ]),
        ),
  ];
}
