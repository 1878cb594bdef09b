// CSV at its edges: every column alias, blank and unnamed cells, the subscribed column, lone
// carriage returns, Excel's sep= line in any case, trailing empty fields, and csvLines' output
// for empty input, objects and line endings.
import { describe, expect, it } from "vitest";
import { CsvError, csvLines, csvToContacts, FORMULA_START } from "../../src/lib/csv";

const contacts = (text: string) => csvToContacts(text).rows.map((r) => r.contact);

describe("csvToContacts", () => {
  it("maps every alias of the known columns, in any case", () => {
    expect(
      contacts(
        "EMAIL,Phone,name,external_id,firstname,lastname,timezone\na@x.co,+15550100,Ada L,42,Ada,L,Europe/Paris\n",
      ),
    ).toEqual([
      {
        email: "a@x.co",
        phone: "+15550100",
        name: "Ada L",
        externalId: "42",
        firstName: "Ada",
        lastName: "L",
        timezone: "Europe/Paris",
      },
    ]);
    expect(
      contacts("full_name,externalId,first_name,last_name,time_zone\nAda L,42,Ada,L,UTC\n"),
    ).toEqual([
      { name: "Ada L", externalId: "42", firstName: "Ada", lastName: "L", timezone: "UTC" },
    ]);
    expect(contacts("fullname\nAda L\n")).toEqual([{ name: "Ada L" }]);
  });

  it("reads subscribed as false only for exactly false, 0 or no", () => {
    expect(
      contacts("email,subscribed\na,FALSE\nb,0\nc,no\nd,yes\ne,nope\nf,1\ng,10\n").map(
        (c) => c.subscribed,
      ),
    ).toEqual([false, false, false, true, true, true, true]);
  });

  it("trims cells and skips blank cells, missing cells and unnamed columns; no data when none is left", () => {
    expect(contacts("email, plan ,,note\n  a@x.co , pro ,x,  \nb@x.co\n")).toEqual([
      { email: "a@x.co", data: { plan: "pro" } },
      { email: "b@x.co" },
    ]);
  });

  it("reads lone carriage returns as line breaks, and sep= in any case", () => {
    expect(
      csvToContacts("email\ra@x.co\rb@x.co\r").rows.map((r) => [r.line, r.contact.email]),
    ).toEqual([
      [2, "a@x.co"],
      [3, "b@x.co"],
    ]);
    expect(csvToContacts("SEP=;\nemail;plan\na@x.co;pro,team\n").rows).toEqual([
      { line: 3, contact: { email: "a@x.co", data: { plan: "pro,team" } } },
    ]);
    // Only a first line is a sep= line.
    expect(csvToContacts("email\nsep=;\n").rows).toEqual([
      { line: 2, contact: { email: "sep=;" } },
    ]);
  });

  it("keeps a byte-order mark that is not at the start as text", () => {
    expect(contacts("email,note\na@x.co,x\uFEFFy\n")).toEqual([
      { email: "a@x.co", data: { note: "x\uFEFFy" } },
    ]);
  });

  it("takes rows with extra empty fields, and rejects only extra fields with content", () => {
    const r = csvToContacts("email,plan\na@x.co,pro,, \nb@x.co,pro,,x\n");
    expect(r.rows).toEqual([{ line: 2, contact: { email: "a@x.co", data: { plan: "pro" } } }]);
    expect(r.rejected).toEqual([{ line: 3, message: "Line 3 has 4 fields but the header has 2" }]);
    expect(csvToContacts("email,plan\na@x.co\n").rejected).toEqual([]);
  });

  it("guesses among , ; tab and | only, and says which", () => {
    expect(csvToContacts("email|plan\na@x.co|pro\n").delimiter).toBe("|");
    expect(csvToContacts("").delimiter).toBe(",");
    expect(csvToContacts("").rejected).toEqual([]);
  });

  it("numbers an unterminated quote on the first data line as line 2", () => {
    try {
      csvToContacts('email,plan\n"a@x.co,pro\n');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(CsvError);
      expect((err as CsvError).line).toBe(2);
      expect((err as CsvError).message).toBe(
        "Unterminated quote: the quoted field starting on line 2 never closes",
      );
    }
  });
});

describe("csvLines", () => {
  it("writes nothing for no rows without a header, and the header alone when asked", () => {
    expect(csvLines(["a", "b"], [], false)).toBe("");
    expect(csvLines(["a", "b"], [], true)).toBe("a,b\r\n");
  });

  it("writes objects as JSON, null and missing as empty, and ends every line with CRLF", () => {
    expect(
      csvLines(
        ["a", "b", "c", "d"],
        [
          { a: { x: 1 }, b: null, d: true },
          { a: [1, 2], c: 0 },
        ],
        true,
      ),
    ).toBe('a,b,c,d\r\n"{""x"":1}",,,true\r\n"[1,2]",,0,\r\n');
  });

  it("escapes formula starts only at the start of a cell", () => {
    expect(FORMULA_START.test("a\tb")).toBe(false);
    expect(FORMULA_START.test("\tb")).toBe(true);
    expect(FORMULA_START.test("1+1")).toBe(false);
    expect(csvLines(["a"], [{ a: "x=1" }], false)).toBe("x=1\r\n");
  });
});
