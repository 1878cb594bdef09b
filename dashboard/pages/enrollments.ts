// Enrollments: the tab of a workflow (or all of them), filtered by status and step, searched by
// contact email or phone, paged by cursor; an enrollment's page with its timeline — log lines,
// the wait and its wake time, messages and their engagement — live while it runs.
import { api, contactSearch } from "../api";
import { announce, badge, busy, empty, field, h, table, time } from "../dom";
import { every, go, reload } from "../nav";

const STATUSES = ["running", "waiting", "completed", "cancelled", "failed"] as const;
type Status = (typeof STATUSES)[number];

export async function enrollmentsPage(params: Record<string, string>, query: URLSearchParams) {
  const workflowId = params.id ?? query.get("workflowId") ?? undefined;
  const status = (STATUSES as readonly string[]).includes(query.get("status") ?? "")
    ? (query.get("status") as Status)
    : undefined;
  const stepId = query.get("stepId") || undefined;
  const search = query.get("q")?.trim() || undefined;
  const cursor = query.get("cursor") || undefined;
  // The search names a contact: its id first (one call), then its enrollments.
  const contactLookup = search
    ? api.listContacts({ query: { ...contactSearch(search), limit: 1 } })
    : Promise.resolve(null);
  const [workflow, contacts] = await Promise.all([
    workflowId ? api.getWorkflow({ path: { id: workflowId } }) : Promise.resolve(null),
    contactLookup,
  ]);
  const contactId = contacts ? contacts.data[0]?.id : undefined;
  const page =
    search && !contactId
      ? { data: [], nextCursor: null }
      : await api.listEnrollments({
          query: { workflowId, status, stepId, contactId, cursor, limit: 25 },
        });

  const base = workflowId ? `/workflows/${workflowId}/enrollments` : "/enrollments";
  const statusSelect = h(
    "select",
    { name: "status" },
    h("option", { value: "" }, "Any status"),
    STATUSES.map((s) => h("option", { value: s, selected: s === status }, s)),
  );
  const stepSelect = workflow
    ? h(
        "select",
        { name: "stepId" },
        h("option", { value: "" }, "Any step"),
        workflow.steps.map((s) => h("option", { value: s.id, selected: s.id === stepId }, s.name || s.id)),
      )
    : null;
  const q = h("input", { type: "search", name: "q", value: search ?? "", placeholder: "ada@example.com or +14155550123" });
  const filters = h(
    "form",
    {
      class: "filters",
      role: "search",
      onsubmit: (e: Event) => {
        e.preventDefault();
        const next = new URLSearchParams();
        if (!workflowId && query.get("workflowId")) {
          next.set("workflowId", query.get("workflowId") as string);
        }
        for (const [k, v] of [["status", statusSelect.value], ["stepId", stepSelect?.value ?? ""], ["q", q.value.trim()]]) {
          if (v) {
            next.set(k, v);
          }
        }
        go(`${base}${next.size ? `?${next}` : ""}`);
      },
    },
    field("Status", statusSelect),
    stepSelect ? field("Current step", stepSelect) : null,
    field("Contact email or phone", q),
    h("button", { type: "submit" }, "Filter"),
  );
  const stepName = new Map(workflow?.steps.map((s) => [s.id, s.name || s.id]) ?? []);
  const nextLink = page.nextCursor
    ? (() => {
        const next = new URLSearchParams(query);
        next.set("cursor", page.nextCursor);
        return h("a", { href: `#${base}?${next}`, rel: "next" }, "Next page →");
      })()
    : null;
  return [
    workflow
      ? h("p", { class: "crumbs" }, h("a", { href: "#/workflows" }, "Workflows"), " / ", h("a", { href: `#/workflows/${workflow.id}` }, workflow.name), " / enrollments")
      : null,
    h("h1", {}, workflow ? `Enrollments of ${workflow.name}` : "Enrollments"),
    filters,
    page.data.length === 0
      ? empty(
          search && !contactId ? `No contact is ${search}.` : "No enrollments match.",
          workflow
            ? ["Enroll a contact from ", h("a", { href: `#/workflows/${workflow.id}` }, "the workflow page"), ", with POST /v1/enrollments, or clear the filters."]
            : "Enroll contacts from a workflow's page or with POST /v1/enrollments.",
        )
      : table(
          "Enrollments, newest first",
          ["Enrollment", "Contact", "Status", "Current step", "Next run", "Started"],
          page.data.map((e) => [
            h("a", { href: `#/enrollments/${e.id}` }, e.id),
            h("a", { href: `#/contacts/${e.contactId}` }, e.contactId),
            badge(e.status),
            e.currentStepId ? (stepName.get(e.currentStepId) ?? e.currentStepId) : "—",
            time(e.nextRunAt),
            time(e.createdAt),
          ]),
        ),
    h("p", { class: "pager" }, cursor ? h("a", { href: `#${base}` }, "← First page") : null, " ", nextLink),
  ];
}

const ACTIVE = new Set(["running", "waiting"]);

export async function enrollmentPage(params: Record<string, string>) {
  const e = await api.getEnrollment({ path: { id: params.id } });
  const cancel = h("button", { type: "button", class: "danger" }, "Cancel enrollment");
  cancel.addEventListener("click", () =>
    busy(cancel, async () => {
      if (!confirm("Cancel this enrollment? It stops where it is; nothing more is sent.")) {
        return;
      }
      const r = await api.cancelEnrollment({ path: { id: e.id } });
      announce(`Enrollment ${r.id} cancelled`);
      reload();
    }),
  );
  if (ACTIVE.has(e.status)) {
    // Live: the timeline advances as the enrollment does.
    let last = JSON.stringify([e.status, e.timeline.length, e.messages.map((m) => m.status)]);
    every(3000, async () => {
      const next = await api.getEnrollment({ path: { id: e.id } });
      const now = JSON.stringify([next.status, next.timeline.length, next.messages.map((m) => m.status)]);
      if (now !== last) {
        last = now;
        reload();
      }
    });
  }
  // Why it waits: the last log line, when the enrollment is parked on a step.
  const lastWait = e.status === "waiting" ? [...e.timeline].reverse().find((l) => l.status === "waiting") : undefined;
  return [
    h("p", { class: "crumbs" }, h("a", { href: `#/workflows/${e.workflowId}` }, "Workflow"), " / ", h("a", { href: `#/workflows/${e.workflowId}/enrollments` }, "enrollments"), " / ", e.id),
    h("div", { class: "title-row" }, h("h1", {}, `Enrollment ${e.id}`), badge(e.status)),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Contact"),
      h("dd", {}, h("a", { href: `#/contacts/${e.contactId}` }, e.contactId)),
      h("dt", {}, "Workflow"),
      h("dd", {}, h("a", { href: `#/workflows/${e.workflowId}` }, `${e.workflowId} (v${e.workflowVersion})`)),
      h("dt", {}, "Current step"),
      h("dd", {}, e.currentStepId ?? "—"),
      h("dt", {}, "Waiting"),
      h(
        "dd",
        {},
        e.waitingFor ? `for the event "${e.waitingFor.event}"${e.waitingFor.until ? " (or its timeout)" : ""}` : lastWait ? lastWait.message : "—",
      ),
      h("dt", {}, "Wakes at"),
      h("dd", {}, time(e.nextRunAt)),
      e.exitReason ? [h("dt", {}, "Exit reason"), h("dd", {}, e.exitReason)] : null,
      e.error ? [h("dt", {}, "Error"), h("dd", { class: "error-text" }, `${e.error.code}: ${e.error.message}`)] : null,
    ),
    ACTIVE.has(e.status) ? h("p", { class: "actions" }, cancel, h("span", { class: "muted" }, " Updates live while it runs.")) : null,
    h(
      "section",
      { "aria-labelledby": "tl-h" },
      h("h2", { id: "tl-h" }, "Timeline"),
      e.timeline.length === 0
        ? empty("Nothing has happened yet.", "The first step runs at the enrollment's start time.")
        : h(
            "ol",
            { class: "timeline" },
            e.timeline.map((l) =>
              h(
                "li",
                { class: l.status },
                time(l.at),
                " ",
                badge(l.status),
                " ",
                l.stepId ? h("code", {}, l.stepId) : null,
                " ",
                l.message,
                l.outcome ? h("span", { class: "muted" }, ` → ${l.outcome}`) : null,
              ),
            ),
          ),
    ),
    h(
      "section",
      { "aria-labelledby": "msg-h" },
      h("h2", { id: "msg-h" }, "Messages"),
      e.messages.length === 0
        ? empty("No messages yet.", "Emails, texts and calls appear here as its steps send them.")
        : table(
            "Messages of this enrollment",
            ["Message", "Channel", "To", "Subject", "Status", "Opens", "Clicks", "Replied", "Sent"],
            e.messages.map((m) => [
              h("a", { href: `#/messages/${m.id}` }, m.id),
              m.channel,
              m.to,
              m.subject ?? "—",
              badge(m.status),
              String(m.opens),
              String(m.clicks),
              m.repliedAt ? time(m.repliedAt) : "—",
              time(m.sentAt),
            ]),
          ),
    ),
  ];
}
