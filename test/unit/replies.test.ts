import { describe, expect, it } from "vitest";
import { classifyMail, returnDate, stripQuoted } from "../../src/engine/replies";

const NOW = Date.UTC(2026, 10, 26, 9, 0); // 26 November 2026
const mail = (over: Partial<Parameters<typeof classifyMail>[0]> = {}) => ({
  from: "ada@example.com",
  subject: "Re: Hello",
  headers: {},
  text: "Sounds good, let's talk.",
  ...over,
});

describe("classifying received mail", () => {
  it("takes a plain answer for a human reply", () => {
    expect(classifyMail(mail(), NOW)).toEqual({ kind: "reply" });
    expect(classifyMail(mail({ headers: { "auto-submitted": "no" } }), NOW).kind).toBe("reply");
  });

  it("recognises automatic replies by RFC 3834 headers, X-Autoreply, Precedence and subjects", () => {
    for (const headers of <Record<string, string>[]>[
      { "auto-submitted": "auto-replied" },
      { "x-autoreply": "yes" },
      { "x-autorespond": "1" },
      { precedence: "auto_reply" },
      { precedence: "bulk" },
    ]) {
      expect(classifyMail(mail({ headers }), NOW).kind).toBe("auto_reply");
    }
    for (const subject of [
      "Out of Office: Hello",
      "Automatic reply: Hello",
      "Abwesenheitsnotiz: Hallo",
      "Réponse automatique : Bonjour",
      "Respuesta automática: Hola",
      "Risposta automatica: Ciao",
      "Autosvar: Hej",
    ]) {
      expect(classifyMail(mail({ subject }), NOW).kind).toBe("auto_reply");
    }
  });

  it("recognises delivery status notifications as bounces", () => {
    expect(
      classifyMail(
        mail({ contentType: 'multipart/report; report-type="delivery-status"; boundary="x"' }),
        NOW,
      ).kind,
    ).toBe("bounce");
    expect(
      classifyMail(
        mail({
          from: "MAILER-DAEMON@mx.example.com",
          subject: "Undelivered Mail Returned to Sender",
        }),
        NOW,
      ).kind,
    ).toBe("bounce");
    // A human at postmaster@ answering normally is still a reply.
    expect(classifyMail(mail({ from: "postmaster@example.com" }), NOW).kind).toBe("reply");
  });
});

describe("the return date of an automatic reply", () => {
  const day = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d + 1);
  it.each([
    ["I am out of the office and back on 3 December.", day(2026, 12, 3)],
    ["Returning December 3rd, 2026.", day(2026, 12, 3)],
    ["I will be back on the 3rd of December", day(2026, 12, 3)],
    ["Out until 2026-12-07.", day(2026, 12, 7)],
    ["Away until 12/03/2026", day(2026, 12, 3)],
    ["Back on 15/12", day(2026, 12, 15)],
    ["Ich bin bis zum 3. Dezember nicht im Büro.", day(2026, 12, 3)],
    ["Je serai de retour le 4 décembre.", day(2026, 12, 4)],
    ["Back on 5 January", day(2027, 1, 5)],
  ])("%s", (text, at) => {
    expect(returnDate(text, NOW)).toBe(at);
  });

  it("finds none when the text names no date, or one in the past", () => {
    expect(returnDate("I am out of the office with limited access to email.", NOW)).toBeNull();
    expect(returnDate("Back on 2026-01-02", NOW)).toBeNull();
    expect(returnDate("Back on 31 February 2027", NOW)).toBeNull();
  });
});

describe("the new text of a reply", () => {
  it("drops the quoted history and the signature", () => {
    expect(
      stripQuoted(
        "Yes, Tuesday works.\n\nOn Thu, Nov 26, 2026 at 9:00 AM Acme <hi@acme.example> wrote:\n> Hello Ada\n> Can we talk?",
      ),
    ).toBe("Yes, Tuesday works.");
    expect(stripQuoted("Sure!\n-- \nAda Lovelace\nAnalytical Engines Ltd")).toBe("Sure!");
    expect(
      stripQuoted("Thanks.\r\n\r\n-----Original Message-----\r\nFrom: Acme\r\nSent: today"),
    ).toBe("Thanks.");
    expect(
      stripQuoted("Ja.\n\nAm 26.11.2026 um 09:00 schrieb Acme <hi@acme.example>:\n> Hallo"),
    ).toBe("Ja.");
    expect(stripQuoted("Great\n\nFrom: Acme <hi@acme.example>\nSent: Thursday\nTo: Ada")).toBe(
      "Great",
    );
    // A line wrapped by the client: "On ... <addr>" then "wrote:".
    expect(stripQuoted("OK\n\nOn Thu, 26 Nov 2026, Acme <hi@acme.example>\nwrote:\n> x")).toBe(
      "OK",
    );
  });
});
