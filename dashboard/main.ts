// The dashboard: a hash router over pages, a header with the navigation, a status region that
// announces what changed, and sign-in. Each page loads its data in at most three API calls.
import { SignedOut, session } from "./api";
import { type Child, h } from "./dom";
import { go, onReload, stopTimers } from "./nav";
import { analyticsPage } from "./pages/analytics";
import { agentsPage } from "./pages/agents";
import { contactPage, contactsPage } from "./pages/contacts";
import { enrollmentPage, enrollmentsPage } from "./pages/enrollments";
import { loginPage } from "./pages/login";
import { messagePage, messagesPage, outboxItemPage, outboxPage } from "./pages/messages";
import { tasksPage } from "./pages/tasks";
import { webhookPage, webhooksPage } from "./pages/webhooks";
import { newWorkflowPage, versionsPage, workflowPage, workflowsPage } from "./pages/workflows";

export type Page = (params: Record<string, string>, query: URLSearchParams) => Promise<Child>;

const ROUTES: [string, Page][] = [
  ["/workflows", workflowsPage],
  ["/workflows/new", newWorkflowPage],
  ["/workflows/:id", workflowPage],
  ["/workflows/:id/enrollments", enrollmentsPage],
  ["/workflows/:id/versions", versionsPage],
  ["/enrollments", enrollmentsPage],
  ["/enrollments/:id", enrollmentPage],
  ["/contacts", contactsPage],
  ["/contacts/:id", contactPage],
  ["/messages", messagesPage],
  ["/messages/:id", messagePage],
  ["/outbox", outboxPage],
  ["/outbox/:id", outboxItemPage],
  ["/tasks", tasksPage],
  ["/webhooks", webhooksPage],
  ["/webhooks/:id", webhookPage],
  ["/analytics", analyticsPage],
  ["/agents", agentsPage],
];

const NAV: [string, string][] = [
  ["/workflows", "Workflows"],
  ["/enrollments", "Enrollments"],
  ["/contacts", "Contacts"],
  ["/messages", "Messages"],
  ["/outbox", "Outbox"],
  ["/tasks", "Tasks"],
  ["/webhooks", "Webhooks"],
  ["/analytics", "Analytics"],
  ["/agents", "Agents"],
];

function match(path: string): { page: Page; params: Record<string, string> } | null {
  for (const [pattern, page] of ROUTES) {
    const names: string[] = [];
    const re = new RegExp(
      `^${pattern.replace(/:(\w+)/g, (_m, n: string) => {
        names.push(n);
        return "([^/]+)";
      })}$`,
    );
    const m = re.exec(path);
    if (m) {
      return {
        page,
        params: Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])])),
      };
    }
  }
  return null;
}

function header(current: string) {
  return h(
    "header",
    { class: "top" },
    h("a", { class: "brand", href: "#/workflows" }, "Nudge"),
    h(
      "nav",
      { "aria-label": "Main" },
      h(
        "ul",
        {},
        NAV.map(([path, label]) =>
          h(
            "li",
            {},
            h(
              "a",
              { href: `#${path}`, "aria-current": current.startsWith(path) ? "page" : null },
              label,
            ),
          ),
        ),
      ),
    ),
    h(
      "button",
      {
        type: "button",
        class: "link",
        onclick: () => {
          session.signOut();
          go("/login");
        },
      },
      "Sign out",
    ),
  );
}

let renderId = 0;

async function render() {
  stopTimers();
  const id = ++renderId;
  const root = document.getElementById("root") as HTMLElement;
  const raw = location.hash.replace(/^#/, "") || "/workflows";
  const [path, search = ""] = raw.split("?");
  const query = new URLSearchParams(search);
  if (path === "/login" || !session.key()) {
    root.replaceChildren(
      h("main", { id: "main", tabindex: "-1" }, await loginPage({}, query)),
      h("div", { id: "status", class: "toast", role: "status", "aria-live": "polite" }),
    );
    return;
  }
  const main = h("main", { id: "main", tabindex: "-1", "aria-busy": "true" }, h("p", { class: "loading" }, "Loading…"));
  if (!document.getElementById("status")) {
    root.replaceChildren();
  }
  root.replaceChildren(
    header(path),
    main,
    document.getElementById("status") ??
      h("div", { id: "status", class: "toast", role: "status", "aria-live": "polite" }),
  );
  const found = match(path);
  let content: Child;
  try {
    content = found
      ? await found.page(found.params, query)
      : [h("h1", {}, "Not found"), h("p", {}, "No page here. ", h("a", { href: "#/workflows" }, "Go to workflows"))];
  } catch (err) {
    if (err instanceof SignedOut) {
      go(`/login?reason=${encodeURIComponent(err.message)}`);
      return;
    }
    content = [
      h("h1", {}, "Something went wrong"),
      h(
        "div",
        { class: "error", role: "alert" },
        h("p", {}, (err as Error).message),
        h("button", { type: "button", onclick: () => render() }, "Try again"),
      ),
    ];
  }
  if (id !== renderId) {
    return; // another navigation won
  }
  main.replaceChildren(h("div", { class: "page" }, content));
  main.removeAttribute("aria-busy");
  const heading = main.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
    document.title = `${heading.textContent} · Nudge`;
  }
}

onReload(() => void render());
window.addEventListener("hashchange", () => render());
render();
