// Workflows: the list with 7-day figures, a new workflow from the dry-run form, a workflow's
// picture with per-step counts, its funnel, actions, enrolling a contact, and its versions.
import { api } from "../api";
import { announce, badge, busy, empty, field, h, parseJson, pct, table, time } from "../dom";
import { type StepCounts, workflowGraph } from "../graph";
import { go, reload } from "../nav";

const DAY = 86_400_000;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export async function workflowsPage() {
  const now = Date.now();
  const [list, metrics] = await Promise.all([
    api.listWorkflows({ query: { limit: 100, withCounts: "true" } }),
    api.getAnalyticsMetrics({
      query: {
        from: isoDay(now - 6 * DAY),
        to: isoDay(now),
        groupBy: "workflow",
        metrics: "sent,uniqueOpened,openRate,uniqueClicked,replied",
        timezone: "UTC",
      },
    }),
  ]);
  const byWorkflow = new Map(metrics.series.map((s) => [s.key, s.totals]));
  const heading = [
    h("div", { class: "title-row" }, h("h1", {}, "Workflows"), h("a", { class: "button", href: "#/workflows/new" }, "New workflow")),
  ];
  if (list.data.length === 0) {
    return [
      heading,
      empty(
        "No workflows yet.",
        "Create one with ",
        h("a", { href: "#/workflows/new" }, "New workflow"),
        " (a dry run shows what it would do before anything is sent), or with POST /v1/workflows.",
      ),
    ];
  }
  return [
    heading,
    table(
      "Workflows with their last 7 days",
      ["Name", "Status", "Version", "Active", "Sent (7 d)", "Open rate", "Clicks", "Replies"],
      list.data.map((w) => {
        const t = byWorkflow.get(w.id) ?? {};
        return [
          h("a", { href: `#/workflows/${w.id}` }, w.name),
          badge(w.status),
          `v${w.version}`,
          String((w as { activeEnrollments?: number }).activeEnrollments ?? 0),
          String(t.sent ?? 0),
          pct(t.openRate),
          String(t.uniqueClicked ?? 0),
          String(t.replied ?? 0),
        ];
      }),
    ),
  ];
}

const SAMPLE_STEPS = `[
  {
    "id": "welcome",
    "type": "send_email",
    "config": {
      "subject": "Welcome, {{ contact.firstName | default: \\"there\\" }}",
      "html": "<p>Thanks for signing up.</p>"
    }
  },
  { "id": "wait", "type": "delay", "config": { "amount": 2, "unit": "days" } },
  {
    "id": "tips",
    "type": "send_email",
    "config": { "subject": "Three tips", "html": "<p>Here is how to start.</p>" }
  }
]`;

/** The trace of a dry run as a table. */
function traceTable(result: { trace: { stepId: string | null; type: string | null; outcome: string | null; message: string; simulatedAt: string }[]; finalStatus: string }) {
  return h(
    "section",
    { "aria-labelledby": "trace-title", class: "trace" },
    h("h2", { id: "trace-title" }, `Dry run: ${result.finalStatus}`),
    table(
      "What the workflow would do, in simulated time",
      ["When", "Step", "Outcome", "What happens"],
      result.trace.map((t) => [time(t.simulatedAt), t.stepId ?? "—", t.outcome ?? "—", t.message]),
    ),
  );
}

export async function newWorkflowPage() {
  const name = h("input", { name: "name", required: true, value: "Welcome series" });
  const trigger = h("input", { name: "event", placeholder: "e.g. signed_up (optional)" });
  const steps = h("textarea", { name: "steps", rows: 18, spellcheck: "false", class: "code" }, SAMPLE_STEPS);
  const sample = h("textarea", { name: "sample", rows: 4, spellcheck: "false", class: "code" }, '{ "firstName": "Ada" }');
  const out = h("div", { class: "result" });
  const button = h("button", { type: "submit" }, "Save draft and dry run");
  const form = h(
    "form",
    {
      onsubmit: (e: Event) => {
        e.preventDefault();
        void busy(button, async () => {
          const body = {
            name: name.value,
            status: "draft" as const,
            steps: parseJson(steps.value, "Steps") as never,
            ...(trigger.value.trim() ? { trigger: { type: "event", event: trigger.value.trim() } as never } : {}),
          };
          const w = await api.createWorkflow({ body });
          const result = await api.testWorkflow({
            path: { id: w.id },
            body: { sampleData: parseJson(sample.value, "Sample data") as Record<string, unknown> },
          });
          announce(`Workflow "${w.name}" saved as a draft (version ${w.version}); dry run: ${result.finalStatus}`);
          const activate = h("button", { type: "button" }, "Activate");
          activate.addEventListener("click", () =>
            busy(activate, async () => {
              const a = await api.updateWorkflow({ path: { id: w.id }, body: { status: "active" } });
              announce(`Workflow "${a.name}" activated (version ${a.version})`);
              go(`/workflows/${w.id}`);
            }),
          );
          out.replaceChildren(
            traceTable(result),
            h("p", { class: "actions" }, activate, " ", h("a", { href: `#/workflows/${w.id}` }, "Open the workflow")),
          );
        });
      },
    },
    field("Name", name),
    field("Trigger event", trigger, "Leave empty to enroll contacts yourself (API, bulk, import)."),
    field("Steps (JSON)", steps, "Linked in order unless you add transitions later. Step types: GET /v1/workflows/step-types."),
    field("Sample contact data for the dry run (JSON)", sample),
    button,
  );
  return [h("h1", {}, "New workflow"), form, out];
}

const NEXT_STATUS: Record<string, [string, "active" | "paused" | "archived"][]> = {
  draft: [["Activate", "active"], ["Archive", "archived"]],
  active: [["Pause", "paused"], ["Archive", "archived"]],
  paused: [["Activate", "active"], ["Archive", "archived"]],
  archived: [],
};

export async function workflowPage(params: Record<string, string>) {
  const id = params.id;
  const [w, stats, enrollments] = await Promise.all([
    api.getWorkflow({ path: { id } }),
    api.getWorkflowStats({ path: { id } }),
    api.listWorkflowEnrollments({ path: { id }, query: { limit: 5 } }),
  ]);
  const funnel = enrollments.stepFunnel;
  const active = new Map(funnel.steps.map((s) => [s.stepId, s.active]));
  const counts = new Map<string, StepCounts>(
    stats.steps.map((s) => [s.stepId, { active: active.get(s.stepId) ?? 0, entered: s.entered, completed: s.completed }]),
  );
  const actions = (NEXT_STATUS[w.status] ?? []).map(([label, status]) => {
    const b = h("button", { type: "button", class: status === "archived" ? "secondary" : "" }, label);
    b.addEventListener("click", () =>
      busy(b, async () => {
        if (status === "archived" && !confirm(`Archive "${w.name}"? It stops enrolling; running enrollments are cancelled.`)) {
          return;
        }
        const next = await api.updateWorkflow({ path: { id }, body: { status } });
        announce(`Workflow "${next.name}" is now ${next.status} (version ${next.version})`);
        reload();
      }),
    );
    return b;
  });
  const email = h("input", { type: "email", name: "email", required: true, autocomplete: "off" });
  const first = h("input", { name: "firstName", autocomplete: "off" });
  const enrollButton = h("button", { type: "submit" }, "Enroll");
  const enrollForm = h(
    "form",
    {
      class: "inline",
      onsubmit: (e: Event) => {
        e.preventDefault();
        void busy(enrollButton, async () => {
          const en = await api.createEnrollment({
            body: { workflowId: id, contact: { email: email.value, ...(first.value ? { firstName: first.value } : {}) } },
          });
          announce(`Enrolled ${email.value}: ${en.id}`);
          go(`/enrollments/${en.id}`);
        });
      },
    },
    field("Contact email", email),
    field("First name", first),
    enrollButton,
  );
  const sample = h("textarea", { rows: 3, class: "code", spellcheck: "false" }, '{ "firstName": "Ada" }');
  const dryOut = h("div");
  const dryButton = h("button", { type: "submit" }, "Dry run");
  const dryForm = h(
    "form",
    {
      onsubmit: (e: Event) => {
        e.preventDefault();
        void busy(dryButton, async () => {
          const r = await api.testWorkflow({ path: { id }, body: { sampleData: parseJson(sample.value, "Sample data") as Record<string, unknown> } });
          dryOut.replaceChildren(traceTable(r));
          announce(`Dry run finished: ${r.finalStatus} (nothing was sent)`);
        });
      },
    },
    field("Sample contact data (JSON)", sample),
    dryButton,
  );
  return [
    h("p", { class: "crumbs" }, h("a", { href: "#/workflows" }, "Workflows"), " / ", w.name),
    h("div", { class: "title-row" }, h("h1", {}, w.name), badge(w.status), h("span", { class: "muted" }, `version ${w.version}`)),
    h("p", { class: "actions" }, actions, " ", h("a", { href: `#/workflows/${id}/enrollments` }, `Enrollments (${funnel.totals.total})`), " · ", h("a", { href: `#/workflows/${id}/versions` }, "Version history"), " · ", h("a", { href: `#/analytics?workflowId=${id}` }, "Analytics")),
    h(
      "section",
      { "aria-labelledby": "graph-h" },
      h("h2", { id: "graph-h" }, "Steps"),
      w.steps.length === 0
        ? empty("No steps yet.", "Add steps with POST /v1/workflows/{id}/steps.")
        : h("div", { class: "graph-wrap" }, workflowGraph(`The steps of ${w.name}`, w.steps, w.transitions, counts)),
    ),
    h(
      "section",
      { "aria-labelledby": "funnel-h" },
      h("h2", { id: "funnel-h" }, "Step funnel"),
      h("p", { class: "muted" }, `${funnel.totals.active} active · ${funnel.totals.completed} completed · ${funnel.totals.failed} failed · ${funnel.totals.cancelled} cancelled`),
      table(
        "Per step: here now, entered, completed, failed, emails",
        ["Step", "Type", "Here now", "Entered", "Completed", "Failed", "Sent", "Opened", "Clicked", "Replied"],
        stats.steps.map((s) => [
          h("a", { href: `#/workflows/${id}/enrollments?stepId=${encodeURIComponent(s.stepId)}` }, s.name || s.stepId),
          s.type,
          String(active.get(s.stepId) ?? 0),
          String(s.entered),
          String(s.completed),
          String(s.failed),
          String(s.email?.sent ?? 0),
          String(s.email?.uniqueOpened ?? 0),
          String(s.email?.uniqueClicked ?? 0),
          String(s.email?.replied ?? 0),
        ]),
      ),
    ),
    w.status === "active"
      ? h("section", { "aria-labelledby": "enroll-h" }, h("h2", { id: "enroll-h" }, "Enroll a contact"), enrollForm)
      : h("p", { class: "muted" }, "Activate the workflow to enroll contacts."),
    h("section", { "aria-labelledby": "dry-h" }, h("h2", { id: "dry-h" }, "Dry run"), dryForm, dryOut),
  ];
}

export async function versionsPage(params: Record<string, string>) {
  const id = params.id;
  const [w, versions] = await Promise.all([
    api.getWorkflow({ path: { id } }),
    api.listWorkflowVersions({ path: { id }, query: { limit: 50 } }),
  ]);
  return [
    h("p", { class: "crumbs" }, h("a", { href: "#/workflows" }, "Workflows"), " / ", h("a", { href: `#/workflows/${id}` }, w.name), " / versions"),
    h("h1", {}, `Versions of ${w.name}`),
    versions.data.length === 0
      ? empty("No published versions yet.", "A version is saved each time the workflow is activated or changed while active.")
      : h(
          "ol",
          { class: "versions", reversed: true },
          versions.data.map((v) =>
            h(
              "li",
              {},
              h("details", {}, h("summary", {}, `Version ${v.version} — `, time(v.createdAt)), h("pre", { class: "code" }, JSON.stringify(v.definition, null, 2))),
            ),
          ),
        ),
  ];
}
