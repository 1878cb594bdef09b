// A few DOM helpers: elements from data (never from HTML strings, so nothing a user or an
// email wrote can become markup), the status region that announces what changed, dates.
export type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

function append(el: Element, children: Child[]) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) {
      continue;
    }
    if (Array.isArray(c)) {
      append(el, c);
    } else {
      el.append(c instanceof Node ? c : String(c));
    }
  }
}

function setAttrs(el: Element, attrs: Attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) {
      continue;
    }
    if (k.startsWith("on") && typeof v === "function") {
      el.addEventListener(k.slice(2).toLowerCase(), v);
    } else if (k === "value" && "value" in el) {
      (el as HTMLInputElement).value = String(v);
    } else {
      el.setAttribute(k, v === true ? "" : String(v));
    }
  }
}

/** An HTML element: `h("a", { href: "#/x" }, "text")`. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** An SVG element. */
export function s(tag: string, attrs: Attrs = {}, ...children: Child[]): SVGElement {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** Announces a change in the status region (and shows it). */
export function announce(message: string, kind: "ok" | "error" = "ok") {
  const region = document.getElementById("status");
  if (!region) {
    return;
  }
  region.className = `toast ${kind}`;
  region.textContent = message;
  window.clearTimeout(Number(region.dataset.timer));
  region.dataset.timer = String(window.setTimeout(() => (region.className = "toast"), 6000));
}

export const fmtDate = (iso: string | null | undefined) =>
  iso
    ? new Date(iso).toLocaleString(undefined, {
        year: "numeric",
        month: "short",
        day: "numeric",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
      })
    : "—";

export const time = (iso: string | null | undefined) =>
  iso ? h("time", { datetime: iso, title: iso }, fmtDate(iso)) : "—";

export const pct = (v: number | null | undefined) =>
  v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)} %`;

export const badge = (value: string) => h("span", { class: `badge ${value}` }, value);

/** A table with a caption (for screen readers) and a header row. */
export function table(caption: string, head: string[], rows: Child[][], hideCaption = true) {
  return h(
    "table",
    {},
    h("caption", { class: hideCaption ? "sr-only" : "" }, caption),
    h("thead", {}, h("tr", {}, head.map((c) => h("th", { scope: "col" }, c)))),
    h(
      "tbody",
      {},
      rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c)))),
    ),
  );
}

/** What to do when a list is empty. */
export const empty = (title: string, ...next: Child[]) =>
  h("div", { class: "empty" }, h("p", { class: "empty-title" }, title), h("p", {}, next));

/** A labelled field. */
export function field(label: string, control: HTMLElement, hint?: string) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  const hintId = hint ? `${id}-hint` : undefined;
  if (hintId) {
    control.setAttribute("aria-describedby", hintId);
  }
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    control,
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
  );
}

/** Reads a textarea as JSON, or says which one is wrong. */
export function parseJson(text: string, what: string): unknown {
  try {
    return text.trim() === "" ? {} : JSON.parse(text);
  } catch (err) {
    throw new Error(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Runs a form's action with its button disabled, announcing the outcome. */
export async function busy(button: HTMLButtonElement, action: () => Promise<void>) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    await action();
  } catch (err) {
    announce((err as Error).message, "error");
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}
