// Contacts: search by email or phone; a contact's page with its fields, subscriptions and
// topics, events and enrollments (messages on demand), an edit form, and erasure behind a
// typed confirmation.
import { api, contactSearch } from "../api";
import { announce, badge, busy, empty, field, h, parseJson, table, time } from "../dom";
import { go, reload } from "../nav";

export async function contactsPage(_p: Record<string, string>, query: URLSearchParams) {
  const search = query.get("q")?.trim() || undefined;
  const cursor = query.get("cursor") || undefined;
  const page = await api.listContacts({
    query: {
      limit: 25,
      cursor,
      ...(search ? contactSearch(search) : {}),
    },
  });
  const q = h("input", { type: "search", name: "q", value: search ?? "", placeholder: "ada@example.com or +14155550123" });
  const form = h(
    "form",
    {
      class: "filters",
      role: "search",
      onsubmit: (e: Event) => {
        e.preventDefault();
        go(q.value.trim() ? `/contacts?q=${encodeURIComponent(q.value.trim())}` : "/contacts");
      },
    },
    field("Email or phone", q),
    h("button", { type: "submit" }, "Search"),
  );
  return [
    h("h1", {}, "Contacts"),
    form,
    page.data.length === 0
      ? empty(
          search ? `No contact is ${search}.` : "No contacts yet.",
          "Contacts are created when you enroll them, track their events, import a list (POST /v1/imports) or POST /v1/contacts.",
        )
      : table(
          "Contacts, newest first",
          ["Contact", "Name", "Phone", "Subscribed", "Score", "Created"],
          page.data.map((c) => [
            h("a", { href: `#/contacts/${c.id}` }, c.email ?? c.phone ?? c.externalId ?? c.id),
            [c.firstName, c.lastName].filter(Boolean).join(" ") || "—",
            c.phone ?? "—",
            c.subscribed ? "yes" : "no",
            c.score === null ? "—" : String(c.score),
            time(c.createdAt),
          ]),
        ),
    page.nextCursor
      ? h("p", { class: "pager" }, h("a", { href: `#/contacts?${new URLSearchParams({ ...(search ? { q: search } : {}), cursor: page.nextCursor })}`, rel: "next" }, "Next page →"))
      : null,
  ];
}

export async function contactPage(params: Record<string, string>) {
  const id = params.id;
  const [c, events, enrollments] = await Promise.all([
    api.getContact({ path: { id } }),
    api.listContactEvents({ path: { id }, query: { limit: 20 } }),
    api.listContactEnrollments({ path: { id }, query: { limit: 20 } }),
  ]);
  const first = h("input", { name: "firstName", value: c.firstName ?? "" });
  const last = h("input", { name: "lastName", value: c.lastName ?? "" });
  const phone = h("input", { name: "phone", value: c.phone ?? "", placeholder: "+14155550123" });
  const tz = h("input", { name: "timezone", value: c.timezone ?? "", placeholder: "Europe/Paris" });
  const subscribed = h("input", {
    type: "checkbox",
    id: "subscribed",
    name: "subscribed",
    checked: c.subscribed,
  });
  const data = h("textarea", { rows: 5, class: "code", spellcheck: "false" }, JSON.stringify(c.data, null, 2));
  const save = h("button", { type: "submit" }, "Save changes");
  const edit = h(
    "form",
    {
      onsubmit: (e: Event) => {
        e.preventDefault();
        void busy(save, async () => {
          const next = await api.updateContact({
            path: { id },
            body: {
              firstName: first.value || null,
              lastName: last.value || null,
              phone: phone.value.trim() || null,
              timezone: tz.value.trim() || null,
              subscribed: subscribed.checked,
              data: parseJson(data.value, "Data") as Record<string, unknown>,
            },
          });
          announce(`Contact ${next.email ?? next.id} saved`);
          reload();
        });
      },
    },
    h("div", { class: "grid2" }, field("First name", first), field("Last name", last), field("Phone", phone), field("Time zone", tz)),
    h("div", { class: "field checkbox" }, subscribed, h("label", { for: "subscribed" }, "Subscribed to marketing")),
    field("Data (JSON)", data),
    save,
  );
  const confirmText = c.email ?? c.id;
  const typed = h("input", { name: "confirm", autocomplete: "off" });
  const erase = h("button", { type: "submit", class: "danger" }, "Erase this contact");
  const eraseForm = h(
    "form",
    {
      onsubmit: (e: Event) => {
        e.preventDefault();
        void busy(erase, async () => {
          if (typed.value.trim() !== confirmText) {
            throw new Error(`Type ${confirmText} exactly to erase this contact`);
          }
          await api.eraseContact({ path: { id } });
          announce(`Contact ${confirmText} erased: its personal data is gone and its enrollments are cancelled`);
          go("/contacts");
        });
      },
    },
    field(`Type ${confirmText} to confirm`, typed, "Erasure removes the contact's personal data everywhere Nudge keeps it and cannot be undone."),
    erase,
  );
  const messages = h("div");
  const show = h("button", { type: "button", class: "secondary" }, "Show messages");
  show.addEventListener("click", () =>
    busy(show, async () => {
      const m = await api.listMessages({ query: { contactId: id, limit: 50 } });
      messages.replaceChildren(
        m.data.length === 0
          ? empty("No messages to this contact yet.")
          : table(
              "Messages to this contact",
              ["Message", "Channel", "Subject", "Status", "Opens", "Clicks", "Sent"],
              m.data.map((x) => [h("a", { href: `#/messages/${x.id}` }, x.id), x.channel, x.subject ?? "—", badge(x.status), String(x.opens), String(x.clicks), time(x.sentAt)]),
            ),
      );
      show.remove();
    }),
  );
  const topics = Object.entries(c.topics ?? {});
  return [
    h("p", { class: "crumbs" }, h("a", { href: "#/contacts" }, "Contacts"), " / ", c.email ?? c.id),
    h("h1", {}, c.email ?? c.phone ?? c.id),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Id"),
      h("dd", {}, h("code", {}, c.id)),
      h("dt", {}, "Name"),
      h("dd", {}, [c.firstName, c.lastName].filter(Boolean).join(" ") || "—"),
      h("dt", {}, "Phone"),
      h("dd", {}, c.phone ?? "—"),
      h("dt", {}, "Time zone"),
      h("dd", {}, c.timezone ?? "—"),
      h("dt", {}, "Email"),
      h("dd", {}, c.subscribed ? "subscribed" : "unsubscribed", c.suppressed ? ` · suppressed (${c.suppressed})` : "", c.consent ? ` · consent ${c.consent}` : ""),
      h("dt", {}, "SMS"),
      h("dd", {}, c.smsSubscribed ? "subscribed" : "opted out (STOP)"),
      h("dt", {}, "Topics"),
      h("dd", {}, topics.length ? topics.map(([k, v]) => `${k}: ${v ? "on" : "off"}`).join(", ") : "topic defaults"),
      h("dt", {}, "Lead score"),
      h("dd", {}, c.score === null ? "—" : [String(c.score), " (", time(c.scoredAt), ")"]),
    ),
    h(
      "section",
      { "aria-labelledby": "enr-h" },
      h("h2", { id: "enr-h" }, "Enrollments"),
      enrollments.data.length === 0
        ? empty("Not enrolled in any workflow.", "Enroll from a workflow's page.")
        : table(
            "This contact's enrollments",
            ["Enrollment", "Workflow", "Status", "Step", "Started"],
            enrollments.data.map((e) => [h("a", { href: `#/enrollments/${e.id}` }, e.id), h("a", { href: `#/workflows/${e.workflowId}` }, e.workflowId), badge(e.status), e.currentStepId ?? "—", time(e.createdAt)]),
          ),
    ),
    h(
      "section",
      { "aria-labelledby": "ev-h" },
      h("h2", { id: "ev-h" }, "Events"),
      events.data.length === 0
        ? empty("No events tracked for this contact.", "Track them with POST /v1/events.")
        : table("This contact's events, newest first", ["Event", "When", "Data"], events.data.map((e) => [e.name, time(e.occurredAt), h("code", {}, JSON.stringify(e.data).slice(0, 120))])),
    ),
    h("section", { "aria-labelledby": "m-h" }, h("h2", { id: "m-h" }, "Messages"), show, messages),
    h("section", { "aria-labelledby": "edit-h" }, h("h2", { id: "edit-h" }, "Edit"), edit),
    h("section", { "aria-labelledby": "erase-h", class: "danger-zone" }, h("h2", { id: "erase-h" }, "Erase"), eraseForm),
  ];
}
