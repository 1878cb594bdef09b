// Liquid rendering shared by previews, the dry run, the enrollment objects and the email
// consumer. Pure: no I/O. Variables are HTML-escaped in `html` and left raw in `subject` and
// `text`; an unknown filter is an error, never silently dropped. Every template runs inside
// limits — parse size, render time, memory, own properties only, no files (include, render
// and layout are refused) — and so does its output, so a pathological template costs one
// request a 422 or one message a failure, never the isolate.
import { Liquid, type Template } from "liquidjs";

export const LIMITS = {
  /** Characters parsed in one call. */
  parse: 2_000_000,
  /** Milliseconds one render may take. */
  renderMs: 200,
  /** liquidjs's unit of memory: string and array sizes its filters create. */
  memory: 10_000_000,
  /** A subject is one header line (RFC 5322's 998 characters). */
  subject: 998,
  /** Bytes of a rendered html or text body. */
  body: 1024 * 1024,
} as const;

function limitedLiquid(escapeOutput: boolean) {
  const liquid = new Liquid({
    strictFilters: true,
    ...(escapeOutput ? { outputEscape: "escape" as const } : {}),
    cache: 200,
    ownPropertyOnly: true,
    parseLimit: LIMITS.parse,
    renderLimit: LIMITS.renderMs,
    memoryLimit: LIMITS.memory,
    // An empty in-memory store: no file system behind include, render or layout.
    templates: {},
  });
  for (const tag of ["include", "render", "layout"]) {
    liquid.registerTag(tag, {
      parse() {
        throw new Error(`{% ${tag} %} is not available: templates cannot read other files`);
      },
      render() {},
    });
  }
  return liquid;
}

const htmlLiquid = limitedLiquid(true);
const textLiquid = limitedLiquid(false);

export interface RenderContext {
  contact: Record<string, unknown>;
  vars: Record<string, unknown>;
  event: Record<string, unknown>;
  workflow: { id: string; name: string };
  enrollment: { id: string };
  unsubscribeUrl: string;
  /** The same link as a snake_case merge tag. */
  unsubscribe_url?: string;
  /** The contact's preference page (topics, unsubscribe from everything). */
  preferencesUrl?: string;
  preferences_url?: string;
}

export interface TemplateSource {
  subject: string;
  html: string;
  text?: string | null;
}

export interface TemplateProblem {
  path: string;
  message: string;
}

function parseOne(liquid: Liquid, field: string, source: string): Template[] | TemplateProblem {
  try {
    return liquid.parse(source);
  } catch (err) {
    const e = err as { message?: string; token?: { getPosition?: () => [number, number] } };
    const pos = e.token?.getPosition?.();
    const line = pos ? pos[0] : Number(/line:(\d+)/.exec(e.message ?? "")?.[1] ?? 1);
    return {
      path: field,
      message: `Liquid syntax error on line ${line}: ${(e.message ?? String(err)).split(", line:")[0]}`,
    };
  }
}

/** Checks every field parses (syntax and filters); returns the problems, each naming its line. */
export function validateTemplate(src: Partial<TemplateSource>): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  for (const [field, liquid] of [
    ["subject", textLiquid],
    ["html", htmlLiquid],
    ["text", textLiquid],
  ] as const) {
    const source = src[field];
    if (typeof source !== "string") {
      continue;
    }
    const parsed = parseOne(liquid, field, source);
    if (!Array.isArray(parsed)) {
      problems.push(parsed);
    }
  }
  return problems;
}

export class TemplateRenderError extends Error {}

/** A template or its output went past a limit. */
export class TemplateLimitError extends TemplateRenderError {}

const LIMIT_MESSAGE = /limit exceeded/i;

function renderWith(liquid: Liquid, field: string, source: string, ctx: object): string {
  const parsed = parseOne(liquid, field, source);
  if (!Array.isArray(parsed)) {
    throw new TemplateRenderError(parsed.message);
  }
  let out: string;
  try {
    out = liquid.renderSync(parsed, ctx) as string;
  } catch (err) {
    const message = (err as Error).message;
    throw LIMIT_MESSAGE.test(message)
      ? new TemplateLimitError(
          `Rendering ${field} went past a limit (${LIMITS.renderMs} ms, or memory): ${message.split(", line:")[0]}`,
        )
      : new TemplateRenderError(`Rendering ${field} failed: ${message}`);
  }
  return out;
}

function capped(field: string, value: string, max: number, unit: "characters" | "bytes") {
  const size = unit === "bytes" ? new TextEncoder().encode(value).length : value.length;
  if (size > max) {
    throw new TemplateLimitError(
      `The rendered ${field} is ${size.toLocaleString("en-US")} ${unit}; at most ${max.toLocaleString("en-US")} are allowed`,
    );
  }
  return value;
}

/** Renders a whole email. `text` is only rendered when the template has one. */
export function renderTemplate(src: TemplateSource, ctx: RenderContext) {
  const subject = renderWith(textLiquid, "subject", src.subject, ctx)
    .replace(/[\r\n]+/g, " ")
    .trim();
  return {
    subject: capped("subject", subject, LIMITS.subject, "characters"),
    html: capped("html", renderWith(htmlLiquid, "html", src.html, ctx), LIMITS.body, "bytes"),
    text: src.text
      ? capped("text", renderWith(textLiquid, "text", src.text, ctx), LIMITS.body, "bytes")
      : null,
  };
}

/** Renders one templated string value (webhook bodies, update_contact values). */
export function renderString(source: string, ctx: object): string {
  if (!source.includes("{{") && !source.includes("{%")) {
    return source;
  }
  return capped("value", renderWith(textLiquid, "value", source, ctx), LIMITS.body, "bytes");
}

/** Renders every string inside a JSON value. */
export function renderDeep(value: unknown, ctx: object): unknown {
  if (typeof value === "string") {
    return renderString(value, ctx);
  }
  if (Array.isArray(value)) {
    return value.map((v) => renderDeep(v, ctx));
  }
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderDeep(v, ctx)]));
  }
  return value;
}
