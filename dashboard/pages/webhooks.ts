// Webhooks: endpoints and a form for a new one; an endpoint's deliveries with their status codes
// and retry times, a test event, and rotating its secret (the new one shown once).
import { api } from "../api";
import { announce, badge, busy, empty, field, h, table, time } from "../dom";
import { go, reload } from "../nav";

/** A secret shown once, with what to do with it. */
const secretBox = (secret: string, what: string) =>
  h(
    "div",
    { class: "secret", role: "alert" },
    h("p", {}, `${what} Copy it now: it is not shown again.`),
    h("code", { class: "secret-value" }, secret),
  );

export async function webhooksPage() {
  const list = await api.listWebhooks({ query: { limit: 100 } });
  const url = h("input", { type: "url", name: "url", required: true, placeholder: "https://example.com/hooks/nudge" });
  const events = h("input", { name: "events", value: "*", required: true });
  const out = h("div");
  const add = h("button", { type: "submit" }, "Add endpoint");
  const form = h(
    "form",
    {
      onsubmit: (e: Event) => {
        e.preventDefault();
        void busy(add, async () => {
          const w = await api.createWebhook({
            body: { url: url.value.trim(), events: events.value.split(",").map((x) => x.trim()).filter(Boolean) },
          });
          announce(`Endpoint ${w.url} added`);
          out.replaceChildren(secretBox(w.secret, "Its signing secret:"), h("p", {}, h("a", { href: `#/webhooks/${w.id}` }, "Open the endpoint")));
        });
      },
    },
    field("URL", url, "https only (http://localhost in development)."),
    field("Events", events, "Comma-separated event types, or * for all (GET /v1/webhooks/catalog)."),
    add,
  );
  return [
    h("h1", {}, "Webhooks"),
    list.data.length === 0
      ? empty("No endpoints yet.", "Add one below: Nudge posts signed events (Standard Webhooks) to it as they happen.")
      : table(
          "Webhook endpoints",
          ["URL", "Events", "State", "Created"],
          list.data.map((w) => [
            h("a", { href: `#/webhooks/${w.id}` }, w.url),
            w.events.join(", "),
            w.active ? badge("active") : [badge("disabled"), w.disabledReason ? ` ${w.disabledReason}` : ""],
            time(w.createdAt),
          ]),
        ),
    h("section", { "aria-labelledby": "new-h" }, h("h2", { id: "new-h" }, "Add an endpoint"), form, out),
  ];
}

export async function webhookPage(params: Record<string, string>) {
  const id = params.id;
  const [w, deliveries] = await Promise.all([
    api.getWebhook({ path: { id } }),
    api.listWebhookDeliveries({ path: { id }, query: { limit: 50 } }),
  ]);
  const out = h("div");
  const test = h("button", { type: "button" }, "Send a test event");
  test.addEventListener("click", () =>
    busy(test, async () => {
      await api.testWebhook({ path: { id } });
      announce("Test event queued: its delivery appears below within seconds");
      window.setTimeout(reload, 1500);
    }),
  );
  const rotate = h("button", { type: "button", class: "secondary" }, "Rotate the secret");
  rotate.addEventListener("click", () =>
    busy(rotate, async () => {
      if (!confirm("Rotate the signing secret? The old one keeps verifying for 24 hours.")) {
        return;
      }
      const r = await api.rotateWebhookSecret({ path: { id } });
      announce("Secret rotated");
      out.replaceChildren(secretBox(r.secret, "The new signing secret:"));
    }),
  );
  const remove = h("button", { type: "button", class: "danger" }, "Delete endpoint");
  remove.addEventListener("click", () =>
    busy(remove, async () => {
      if (!confirm(`Delete the endpoint ${w.url}? Nothing more is delivered to it.`)) {
        return;
      }
      await api.deleteWebhook({ path: { id } });
      announce(`Endpoint ${w.url} deleted`);
      go("/webhooks");
    }),
  );
  return [
    h("p", { class: "crumbs" }, h("a", { href: "#/webhooks" }, "Webhooks"), " / ", w.url),
    h("div", { class: "title-row" }, h("h1", {}, w.url), w.active ? badge("active") : badge("disabled")),
    w.disabledReason ? h("p", { class: "error-text" }, w.disabledReason) : null,
    h("p", {}, "Events: ", w.events.join(", ")),
    h("p", { class: "actions" }, test, " ", rotate, " ", remove),
    out,
    h(
      "section",
      { "aria-labelledby": "dl-h" },
      h("h2", { id: "dl-h" }, "Deliveries"),
      deliveries.data.length === 0
        ? empty("No deliveries yet.", "Send a test event, or wait for the events it subscribes to.")
        : table(
            "Deliveries, newest first",
            ["Event", "Status", "Attempts", "Last answer", "Next attempt", "Created"],
            deliveries.data.map((d) => [
              d.eventType,
              badge(d.status),
              String(d.attempts),
              d.lastStatusCode === null ? "—" : `HTTP ${d.lastStatusCode}`,
              time(d.nextAttemptAt),
              time(d.createdAt),
            ]),
          ),
    ),
  ];
}
