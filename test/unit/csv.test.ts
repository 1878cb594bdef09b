// CSV imports read the way people's files are written: Excel's `;`, quotes, blank lines.
import { describe, expect, it } from "vitest";
import { CsvError, csvLines, csvToContacts } from "../../src/lib/csv";

describe("csvToContacts", () => {
  it("reads RFC 4180 quoting, maps known columns and puts the rest in data", () => {
    const r = csvToContacts(
      '\uFEFFemail,first_name,plan\r\nada@x.co,Ada,pro\r\n"grace@x.co","Grace ""G"", PhD",team\r\n',
    );
    expect(r.delimiter).toBe(",");
    expect(r.rows).toEqual([
      { line: 2, contact: { email: "ada@x.co", firstName: "Ada", data: { plan: "pro" } } },
      {
        line: 3,
        contact: { email: "grace@x.co", firstName: 'Grace "G", PhD', data: { plan: "team" } },
      },
    ]);
  });

  it("detects Excel's semicolons (EU locales), commas inside values included", () => {
    const r = csvToContacts(
      "E-Mail;firstName;Stadt\nmüller@x.de;Hans;Köln, Innenstadt\nada@x.co;Ada;Paris\n",
    );
    expect(r.delimiter).toBe(";");
    expect(r.rows.map((x) => x.contact)).toEqual([
      { firstName: "Hans", data: { "E-Mail": "müller@x.de", Stadt: "Köln, Innenstadt" } },
      { firstName: "Ada", data: { "E-Mail": "ada@x.co", Stadt: "Paris" } },
    ]);
  });

  it("honours an Excel sep= line and tab-separated files", () => {
    expect(csvToContacts("sep=|\nemail|plan\na@x.co|pro\n").rows).toEqual([
      { line: 3, contact: { email: "a@x.co", data: { plan: "pro" } } },
    ]);
    expect(csvToContacts("email\tplan\na@x.co\tpro\n").delimiter).toBe("\t");
  });

  it("numbers rows by their line, across blank lines and quoted line breaks", () => {
    const r = csvToContacts('email,note\n\na@x.co,"two\nlines"\n   \nb@x.co,x\n');
    expect(r.rows.map((x) => [x.line, x.contact.email])).toEqual([
      [3, "a@x.co"],
      [6, "b@x.co"],
    ]);
  });

  it("rejects a row with more fields than the header, naming its line, and keeps the others", () => {
    const r = csvToContacts("email,plan\na@x.co,pro\nb@x.co,pro,extra,more\nc@x.co\n");
    expect(r.rows.map((x) => x.contact.email)).toEqual(["a@x.co", "c@x.co"]);
    expect(r.rejected).toEqual([{ line: 3, message: "Line 3 has 4 fields but the header has 2" }]);
  });

  it("refuses an unterminated quote, naming the line it starts on", () => {
    const text = 'email,plan\na@x.co,pro\nb@x.co,"pro\nc@x.co,team\n';
    expect(() => csvToContacts(text)).toThrow(CsvError);
    expect(() => csvToContacts(text)).toThrow(/line 3/);
  });

  it("reads a header-only or empty file as no rows", () => {
    expect(csvToContacts("email,plan\n").rows).toEqual([]);
    expect(csvToContacts("").rows).toEqual([]);
  });
});

describe("csvLines", () => {
  const formula = '=HYPERLINK("https://evil.test","click")';

  it("escapes a formula whatever line break follows it", () => {
    for (const brk of ["\n", "\r", "\r\n", "\u2028", "\u2029"]) {
      const cell = `${formula}${brk}Ada`;
      const out = csvLines(["firstName"], [{ firstName: cell }], false);
      expect(out, JSON.stringify(brk)).toBe(`"'${cell.replaceAll('"', '""')}"\r\n`);
    }
  });

  it("escapes each formula start, after leading whitespace too, and leaves numbers and plain text", () => {
    const cells = ["+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "\nx", "  =1+1", "\n=1+1", "\u00a0=1"];
    for (const cell of cells) {
      const out = csvLines(["v"], [{ v: cell }], false);
      expect(out.replace(/^"/, "").startsWith("'"), JSON.stringify(cell)).toBe(true);
    }
    expect(csvLines(["n", "b", "t"], [{ n: -5, b: true, t: "a=b" }], true)).toBe(
      "n,b,t\r\n-5,true,a=b\r\n",
    );
  });
});
