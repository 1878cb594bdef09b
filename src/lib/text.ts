// A plain-text part derived from HTML, for emails whose template has none. Pure, and linear in
// the input: one pass over the tags (no backtracking scans), then entities decoded by a
// well-kept decoder (`&#x27;`, `&rsquo;`, `&#128512;` …).
import { decodeHTML } from "entities";

const SKIPPED = new Set(["script", "style", "head", "title", "template"]);
const BLOCK_END = new Set([
  "p",
  "div",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "li",
  "tr",
  "table",
  "blockquote",
  "ul",
  "ol",
]);
const HREF = /\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/i;

export function htmlToText(html: string): string {
  let out = "";
  let skipping: string | null = null;
  let link: { href: string; start: number } | null = null;
  let i = 0;
  while (i < html.length) {
    const lt = html.indexOf("<", i);
    if (lt < 0) {
      if (!skipping) {
        out += html.slice(i);
      }
      break;
    }
    if (!skipping) {
      out += html.slice(i, lt);
    }
    if (html.startsWith("<!--", lt)) {
      const end = html.indexOf("-->", lt + 4);
      i = end < 0 ? html.length : end + 3;
      continue;
    }
    const gt = html.indexOf(">", lt);
    if (gt < 0) {
      // A `<` that opens nothing is text.
      if (!skipping) {
        out += html.slice(lt);
      }
      break;
    }
    const tag = html.slice(lt + 1, gt);
    i = gt + 1;
    const closing = tag.startsWith("/");
    const name = /^\/?([a-zA-Z][\w-]*)/.exec(tag)?.[1]?.toLowerCase();
    if (skipping) {
      if (closing && name === skipping) {
        skipping = null;
      }
      continue;
    }
    if (!name) {
      continue;
    }
    if (!closing && SKIPPED.has(name) && !tag.endsWith("/")) {
      skipping = name;
    } else if (name === "br") {
      out += "\n";
    } else if (name === "li" && !closing) {
      out += "- ";
    } else if (closing && BLOCK_END.has(name)) {
      out += "\n\n";
    } else if (name === "a" && !closing) {
      const m = HREF.exec(tag);
      const href = m ? (m[1] ?? m[2] ?? m[3] ?? "") : "";
      link = href ? { href, start: out.length } : null;
    } else if (name === "a" && closing && link) {
      const label = out.slice(link.start).trim();
      out =
        out.slice(0, link.start) +
        (label && label !== link.href ? `${label} (${link.href})` : link.href);
      link = null;
    }
  }
  return decodeHTML(out)
    .replace(/\u00a0/g, " ")
    .replace(/[ \t]+/g, " ")
    .replace(/ *\n */g, "\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}
