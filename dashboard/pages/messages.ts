// Messages and the outbox: lists with status, and a message's view — its email rendered in a
// sandboxed frame (no scripts, no same-origin access), its headers and text beside it.
import { api } from "../api";
import { badge, empty, field, h, table, time } from "../dom";
import { go } from "../nav";

export async function messagesPage(_p: Record<string, string>, query: URLSearchParams) {
  const contactId = query.get("contactId") || undefined;
  const enrollmentId = query.get("enrollmentId") || undefined;
  const cursor = query.get("cursor") || undefined;
  const page = await api.listMessages({ query: { contactId, enrollmentId, cursor, limit: 50 } });
  const next = page.nextCursor ? new URLSearchParams({ ...Object.fromEntries(query), cursor: page.nextCursor }) : null;
  return [
    h("h1", {}, "Messages"),
    contactId || enrollmentId ? h("p", { class: "muted" }, `Filtered by ${contactId ? `contact ${contactId}` : `enrollment ${enrollmentId}`} · `, h("a", { href: "#/messages" }, "show all")) : null,
    page.data.length === 0
      ? empty("No messages yet.", "Emails, texts and calls appear here once a workflow's steps send them. Without a provider connected they go to the ", h("a", { href: "#/outbox" }, "outbox"), ".")
      : table(
          "Messages, newest first",
          ["Message", "Channel", "To", "Subject", "Status", "Opens", "Clicks", "Replied", "Sent"],
          page.data.map((m) => [
            h("a", { href: `#/messages/${m.id}` }, m.id),
            m.channel,
            m.to,
            m.subject ?? m.body?.slice(0, 60) ?? "—",
            badge(m.status),
            String(m.opens),
            String(m.clicks),
            m.repliedAt ? "yes" : "—",
            time(m.sentAt),
          ]),
        ),
    next ? h("p", { class: "pager" }, h("a", { href: `#/messages?${next}`, rel: "next" }, "Next page →")) : null,
  ];
}

/** Attributes that load an image by URL; only data: URLs are kept. */
const IMAGE_ATTRIBUTES = ["src", "srcset", "background", "poster", "lowsrc", "dynsrc"];

/** The email's HTML with every remote image source removed (data: images stay). */
function withoutRemoteImages(html: string): string {
  const doc = new DOMParser().parseFromString(html, "text/html");
  for (const el of doc.querySelectorAll("*")) {
    for (const name of IMAGE_ATTRIBUTES) {
      const value = el.getAttribute(name);
      if (value !== null && !value.trim().toLowerCase().startsWith("data:")) {
        el.removeAttribute(name);
      }
    }
  }
  return doc.documentElement.outerHTML;
}

/** The email as sent: HTML in a frame that may run nothing, headers and text beside it. */
function emailView(o: { subject: string; from: string; to: string; html: string; text: string; headers: Record<string, string> }) {
  const frame = h("iframe", {
    title: `The email "${o.subject}" as rendered`,
    sandbox: "",
    referrerpolicy: "no-referrer",
    class: "preview",
  });
  // Its own policy on top of the page's: no image loads (a tracking pixel would count an open)
  // and no navigation (links open nothing: the sandbox allows no popups). Remote image sources
  // are also taken out before the frame parses the email, so no preload can fetch one before
  // the policy applies.
  frame.srcdoc = `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"><base target="_blank">${withoutRemoteImages(o.html)}`;
  return [
    h("section", { "aria-labelledby": "prev-h" }, h("h2", { id: "prev-h" }, "Preview"), h("p", { class: "muted" }, "Rendered without scripts; remote images are not loaded."), frame),
    h(
      "section",
      { "aria-labelledby": "hdr-h" },
      h("h2", { id: "hdr-h" }, "Headers"),
      table("Headers of the email", ["Header", "Value"], [["From", o.from], ["To", o.to], ["Subject", o.subject], ...Object.entries(o.headers)].map(([k, v]) => [k, h("code", {}, v)])),
    ),
    h("details", {}, h("summary", {}, "Text version"), h("pre", { class: "code" }, o.text)),
  ];
}

export async function messagePage(params: Record<string, string>) {
  const [m, copies] = await Promise.all([
    api.getMessage({ path: { id: params.id } }),
    api.listOutbox({ query: { messageId: params.id, limit: 1 } }),
  ]);
  const copy = copies.data[0];
  return [
    h("p", { class: "crumbs" }, h("a", { href: "#/messages" }, "Messages"), " / ", m.id),
    h("div", { class: "title-row" }, h("h1", {}, m.subject ?? `${m.channel} to ${m.to}`), badge(m.status)),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Channel"),
      h("dd", {}, `${m.channel} (${m.category})`),
      h("dt", {}, "To"),
      h("dd", {}, m.to),
      h("dt", {}, "Contact"),
      h("dd", {}, h("a", { href: `#/contacts/${m.contactId}` }, m.contactId)),
      m.enrollmentId ? [h("dt", {}, "Enrollment"), h("dd", {}, h("a", { href: `#/enrollments/${m.enrollmentId}` }, m.enrollmentId))] : null,
      h("dt", {}, "Provider"),
      h("dd", {}, m.provider ?? "—"),
      h("dt", {}, "Engagement"),
      h("dd", {}, `${m.opens} opens (${m.machineOpens} by machines) · ${m.clicks} clicks (${m.machineClicks} by machines)${m.repliedAt ? " · replied" : ""}`),
      m.error ? [h("dt", {}, "Error"), h("dd", { class: "error-text" }, m.error)] : null,
      h("dt", {}, "Sent"),
      h("dd", {}, time(m.sentAt)),
    ),
    m.body ? h("section", {}, h("h2", {}, m.channel === "sms" ? "Text" : "Script"), h("pre", { class: "code" }, m.body)) : null,
    copy && copy.channel === "email"
      ? emailView(copy)
      : m.channel === "email"
        ? empty("No copy of the content.", `This email went through ${m.provider ?? "a provider"}; Nudge keeps its metadata and engagement, the provider keeps the content.`)
        : null,
  ];
}

export async function outboxPage(_p: Record<string, string>, query: URLSearchParams) {
  const channel = (["email", "sms", "call"] as const).find((c) => c === query.get("channel"));
  const cursor = query.get("cursor") || undefined;
  const page = await api.listOutbox({ query: { channel, cursor, limit: 50 } });
  const select = h(
    "select",
    { name: "channel", onchange: (e: Event) => go(`/outbox${(e.target as HTMLSelectElement).value ? `?channel=${(e.target as HTMLSelectElement).value}` : ""}`) },
    h("option", { value: "" }, "All channels"),
    ["email", "sms", "call"].map((c) => h("option", { value: c, selected: c === channel }, c)),
  );
  return [
    h("h1", {}, "Outbox"),
    h("p", { class: "muted" }, "What Nudge would have sent: emails, texts and calls captured when no provider is connected (development)."),
    h("form", { class: "filters", onsubmit: (e: Event) => e.preventDefault() }, field("Channel", select)),
    page.data.length === 0
      ? empty("The outbox is empty.", "Activate a workflow and enroll a contact: with no provider connected, its emails land here.")
      : table(
          "Captured messages, newest first",
          ["Captured", "Channel", "To", "Subject", "Message"],
          page.data.map((o) => [
            h("a", { href: `#/outbox/${o.id}` }, time(o.createdAt)),
            o.channel,
            o.to,
            o.subject || o.text.slice(0, 60),
            h("a", { href: `#/messages/${o.messageId}` }, o.messageId),
          ]),
        ),
    page.nextCursor ? h("p", { class: "pager" }, h("a", { href: `#/outbox?${new URLSearchParams({ ...(channel ? { channel } : {}), cursor: page.nextCursor })}`, rel: "next" }, "Next page →")) : null,
  ];
}

export async function outboxItemPage(params: Record<string, string>) {
  const o = await api.getOutboxEmail({ path: { id: params.id } });
  return [
    h("p", { class: "crumbs" }, h("a", { href: "#/outbox" }, "Outbox"), " / ", o.id),
    h("h1", {}, o.subject || `${o.channel} to ${o.to}`),
    h("p", {}, "Message ", h("a", { href: `#/messages/${o.messageId}` }, o.messageId), ` · captured `, time(o.createdAt)),
    o.channel === "email" ? emailView(o) : h("pre", { class: "code" }, o.text),
  ];
}
