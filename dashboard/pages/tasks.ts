// A rep's task inbox: open tasks (filter by assignee), completed with one of their outcomes or skipped.
import { api } from "../api";
import { announce, badge, busy, empty, field, h, table, time } from "../dom";
import { go, reload } from "../nav";

const STATUSES = ["open", "completed", "skipped", "expired"] as const;

export async function tasksPage(_p: Record<string, string>, query: URLSearchParams) {
  const status = STATUSES.find((s) => s === query.get("status")) ?? "open";
  const assignee = query.get("assignee") || undefined;
  const page = await api.listTasks({ query: { status, assignee, limit: 50 } });
  const who = h("input", { name: "assignee", value: assignee ?? "", placeholder: "sam@acme.example" });
  const statusSelect = h("select", { name: "status" }, STATUSES.map((s) => h("option", { value: s, selected: s === status }, s)));
  const filters = h(
    "form",
    {
      class: "filters",
      onsubmit: (e: Event) => {
        e.preventDefault();
        const q = new URLSearchParams({ status: statusSelect.value });
        if (who.value.trim()) {
          q.set("assignee", who.value.trim());
        }
        go(`/tasks?${q}`);
      },
    },
    field("Status", statusSelect),
    field("Assignee", who),
    h("button", { type: "submit" }, "Show"),
  );
  const act = (label: string, run: () => Promise<{ title: string; outcome: string | null; status: string }>, cls = "") => {
    const b = h("button", { type: "button", class: cls }, label);
    b.addEventListener("click", () =>
      busy(b, async () => {
        const t = await run();
        announce(`Task "${t.title}" ${t.status}${t.outcome && t.status === "completed" ? ` with outcome ${t.outcome}` : ""}; its enrollment moves on`);
        reload();
      }),
    );
    return b;
  };
  return [
    h("h1", {}, "Tasks"),
    filters,
    page.data.length === 0
      ? empty(status === "open" ? "No open tasks." : `No ${status} tasks.`, "A workflow's task steps hand work to people here (a call to make, a LinkedIn touch).")
      : table(
          "Tasks, newest first",
          ["Task", "Type", "Assignee", "Due", "Contact", "Status", status === "open" ? "Complete with" : "Outcome"],
          page.data.map((t) => [
            [h("strong", {}, t.title), t.instructions ? h("p", { class: "muted" }, t.instructions) : null],
            t.taskType,
            t.assignee ?? "—",
            time(t.dueAt),
            h("a", { href: `#/contacts/${t.contactId}` }, "contact"),
            badge(t.status),
            t.status === "open"
              ? h(
                  "div",
                  { class: "buttons" },
                  t.outcomes
                    .filter((o) => o !== "skipped" && o !== "timeout")
                    .map((o) => act(o, () => api.completeTask({ path: { id: t.id }, body: { outcome: o } }))),
                  act("Skip", () => api.skipTask({ path: { id: t.id }, body: {} }), "secondary"),
                )
              : (t.outcome ?? "—"),
          ]),
        ),
  ];
}
