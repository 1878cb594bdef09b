// CSV → contact objects, parsed by papaparse. The delimiter is detected (`,` `;` tab `|`:
// Excel in EU locales writes `;`), or given by Excel's `sep=;` first line. Known columns map
// to contact fields (camelCase or snake_case); every other column goes into `data`. Each row
// keeps its line number in the file, so a rejected row can be named. Pure.
import Papa from "papaparse";

const FIELD_ALIASES: Record<string, string> = {
  email: "email",
  phone: "phone",
  name: "name",
  full_name: "name",
  fullname: "name",
  externalid: "externalId",
  external_id: "externalId",
  firstname: "firstName",
  first_name: "firstName",
  lastname: "lastName",
  last_name: "lastName",
  timezone: "timezone",
  time_zone: "timezone",
  subscribed: "subscribed",
};

/** A file that cannot be read as CSV at all (an unterminated quote). */
export class CsvError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

export interface CsvContact {
  /** The line of the file the row starts on (1 is the header). */
  line: number;
  contact: Record<string, unknown>;
}

export interface CsvRejected {
  line: number;
  message: string;
}

export interface CsvContacts {
  delimiter: string;
  rows: CsvContact[];
  rejected: CsvRejected[];
}

/** 1-based line of `offset`, counting newlines in one pass as offsets only grow. */
function lineCounter(text: string) {
  let at = 0;
  let line = 1;
  return (offset: number) => {
    for (; at < offset; at++) {
      if (text.charCodeAt(at) === 10) {
        line++;
      }
    }
    return line;
  };
}

/** The first offset at or after `from` that is not on a blank line (those are skipped). */
function rowStart(text: string, from: number) {
  let i = from;
  for (;;) {
    const m = /^[ \t]*\n/.exec(text.slice(i, i + 4096));
    if (!m) {
      return i;
    }
    i += m[0].length;
  }
}

function contactOf(keys: string[], cells: string[]) {
  const contact: Record<string, unknown> = {};
  const data: Record<string, unknown> = {};
  keys.forEach((k, i) => {
    const value = cells[i]?.trim() ?? "";
    if (value === "" || k === "") {
      return;
    }
    const field = FIELD_ALIASES[k.toLowerCase()];
    if (field === "subscribed") {
      contact.subscribed = !/^(false|0|no)$/i.test(value);
    } else if (field) {
      contact[field] = value;
    } else {
      data[k] = value;
    }
  });
  if (Object.keys(data).length > 0) {
    contact.data = data;
  }
  return contact;
}

export function csvToContacts(input: string): CsvContacts {
  let text = input.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  let offset = 0;
  let delimiter = "";
  const sep = /^sep=(.)\n/i.exec(text);
  if (sep) {
    delimiter = sep[1];
    offset = sep[0].length;
    text = text.slice(offset);
  }
  const lineOf = lineCounter(text);
  const firstLine = sep ? 2 : 1;
  const rows: { line: number; cells: string[] }[] = [];
  let unterminated: number | null = null;
  let cursor = 0;
  const parsed = Papa.parse<string[]>(text, {
    delimiter,
    delimitersToGuess: [",", ";", "\t", "|"],
    newline: "\n",
    skipEmptyLines: "greedy",
    step: (r) => {
      const line = lineOf(rowStart(text, cursor)) + firstLine - 1;
      cursor = r.meta.cursor;
      const quote = r.errors.find((e) => e.code === "MissingQuotes");
      if (quote) {
        unterminated ??= lineOf(quote.index ?? cursor) + firstLine - 1;
        return;
      }
      rows.push({ line, cells: r.data });
    },
  });
  if (unterminated !== null) {
    throw new CsvError(
      `Unterminated quote: the quoted field starting on line ${unterminated} never closes`,
      unterminated,
    );
  }
  const [header, ...body] = rows;
  if (!header) {
    return { delimiter: parsed.meta.delimiter, rows: [], rejected: [] };
  }
  const keys = header.cells.map((h) => h.trim());
  const out: CsvContacts = { delimiter: parsed.meta.delimiter, rows: [], rejected: [] };
  for (const { line, cells } of body) {
    if (cells.length > keys.length && cells.slice(keys.length).some((c) => c.trim() !== "")) {
      out.rejected.push({
        line,
        message: `Line ${line} has ${cells.length} fields but the header has ${keys.length}`,
      });
      continue;
    }
    out.rows.push({ line, contact: contactOf(keys, cells) });
  }
  return out;
}

/**
 * A cell a spreadsheet may run as a formula: one starting with = + - @ (after any leading
 * whitespace, which spreadsheets skip), or with tab, CR or LF. Only the start is looked at:
 * papaparse's own `escapeFormulae: true` is `/^[=+\-@\t\r].*$/`, whose `.*$` cannot cross a
 * line break, so `=HYPERLINK(…)` followed by a newline (or U+2028/U+2029) went out unescaped.
 */
export const FORMULA_START = /^[\t\r\n]|^\s*[=+\-@]/;

/**
 * Rows → RFC 4180 CSV lines (CRLF, quoted where needed, each line ending in CRLF), the header
 * first when asked. Cells matching {@link FORMULA_START} are prefixed with ' so a spreadsheet
 * never runs them as formulas; numbers and booleans are left as they are.
 */
export function csvLines(
  columns: readonly string[],
  rows: Record<string, unknown>[],
  header: boolean,
): string {
  if (rows.length === 0 && !header) {
    return "";
  }
  const data = rows.map((r) =>
    columns.map((c) => {
      const v = r[c];
      return v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : v;
    }),
  );
  const text = Papa.unparse(
    { fields: [...columns], data },
    { header, escapeFormulae: FORMULA_START, newline: "\r\n", quotes: false },
  );
  // Papa ends a header written without rows with its own line break; every other text gets one.
  return text.length === 0 || text.endsWith("\r\n") ? text : `${text}\r\n`;
}
