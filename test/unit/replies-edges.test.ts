// Received mail at its edges: what makes a bounce or an automatic reply (and what does not),
// each date shape of a return date and its limits, and each marker of quoted history.
import { describe, expect, it } from "vitest";
import { classifyMail, returnDate, stripQuoted } from "../../src/engine/replies";

const NOW = Date.UTC(2026, 10, 26, 9, 0); // 26 November 2026
const mail = (over: Partial<Parameters<typeof classifyMail>[0]> = {}) => ({
  from: "ada@example.com",
  subject: "Re: Hello",
  headers: {},
  text: "Sounds good.",
  ...over,
});
const kind = (over: Partial<Parameters<typeof classifyMail>[0]>) =>
  classifyMail(mail(over), NOW).kind;
const day = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d + 1);

describe("bounces", () => {
  it("are delivery-status reports, quoted or not, and say so", () => {
    expect(
      classifyMail(mail({ contentType: "multipart/report; report-type=delivery-status" }), NOW),
    ).toEqual({
      kind: "bounce",
      reason: "delivery status notification (multipart/report)",
    });
    // A read receipt is a multipart/report too, but not about delivery.
    expect(kind({ contentType: 'multipart/report; report-type="disposition-notification"' })).toBe(
      "reply",
    );
    expect(
      kind({ contentType: 'text/plain; x="multipart/report; report-type=delivery-status"' }),
    ).toBe("reply");
  });

  it("are notices from a mailer daemon with a failure subject, naming the sender", () => {
    expect(
      classifyMail(
        mail({
          from: "postmaster@mx.example.com",
          subject: "Delivery Status Notification (Failure)",
        }),
        NOW,
      ),
    ).toEqual({ kind: "bounce", reason: "bounce notice from postmaster@mx.example.com" });
    for (const subject of [
      "Undeliverable: Hello",
      "Mail delivery failed: returning message to sender",
      "Mail Delivery Subsystem",
      "Delivery has failed to these recipients",
      "Returned mail: see transcript for details",
      "failure notice",
      "Non-delivery report",
      "Nondelivery notification",
    ]) {
      expect(kind({ from: "mailer-daemon@mx.example.com", subject })).toBe("bounce");
    }
    expect(kind({ from: "not-postmaster@example.com", subject: "Undeliverable: Hello" })).toBe(
      "reply",
    );
    expect(kind({ from: "mailer-daemon@mx.example.com", subject: "Delivery deferred" })).toBe(
      "reply",
    );
  });
});

describe("automatic replies", () => {
  it("give the header or rule that marked them, and a return date from the subject or body", () => {
    expect(
      classifyMail(
        mail({ headers: { "auto-submitted": " Auto-Replied " }, text: "Back on 3 December." }),
        NOW,
      ),
    ).toEqual({
      kind: "auto_reply",
      reason: "Auto-Submitted: auto-replied",
      returnAt: day(2026, 12, 3),
    });
    expect(classifyMail(mail({ headers: { "x-autoreply": "" } }), NOW)).toEqual({
      kind: "auto_reply",
      reason: "x-autoreply",
      returnAt: null,
    });
    expect(classifyMail(mail({ headers: { "x-autorespond": "1" } }), NOW)).toMatchObject({
      reason: "x-autorespond",
    });
    expect(classifyMail(mail({ headers: { precedence: " JUNK " } }), NOW)).toMatchObject({
      reason: "Precedence: junk",
    });
    expect(
      classifyMail(mail({ subject: "Out of office until 4 December", text: "" }), NOW),
    ).toEqual({
      kind: "auto_reply",
      reason: "subject",
      returnAt: day(2026, 12, 4),
    });
  });

  it("are not marked by headers ordinary mail carries", () => {
    expect(kind({ headers: { "x-auto-response-suppress": "All" } })).toBe("reply");
    expect(kind({ headers: { precedence: "list" } })).toBe("reply");
    expect(kind({ headers: { "auto-submitted": "" } })).toBe("reply");
  });

  it.each([
    "Autoreply: Hi",
    "Auto-Reply: Hi",
    "Auto Response",
    "Automatic-Response",
    "Afwezig: Hallo",
    "Afwezigheid",
    "Abwesenheitsnachricht",
    "On vacation",
    "Poza biurem",
  ])("are recognised by the subject %j", (subject) => {
    expect(kind({ subject })).toBe("auto_reply");
  });
});

describe("returnDate", () => {
  it("needs a cue before the date, within the first 4,000 characters", () => {
    expect(returnDate("Out of office. My colleague started on 1 December.", NOW)).toBeNull();
    expect(returnDate(`${"x".repeat(4000)} back on 3 December`, NOW)).toBeNull();
    expect(returnDate(`${"x".repeat(3970)} back on 3 December`, NOW)).toBe(day(2026, 12, 3));
  });

  it("reads the longest month name, so a full name's year is not lost", () => {
    expect(returnDate("Back on 3 September 2028", NOW)).toBe(day(2028, 9, 3));
  });

  it("reads dotted dates day first and two-digit years as 20xx", () => {
    expect(returnDate("Zurück am 03.12.2026", NOW)).toBe(day(2026, 12, 3));
    expect(returnDate("Back on 03.12.27", NOW)).toBe(day(2027, 12, 3));
  });

  it("accepts days 1 to 31 and months 1 to 12 only", () => {
    expect(returnDate("Back on 1 December", NOW)).toBe(day(2026, 12, 1));
    expect(returnDate("Back on 31 December", NOW)).toBe(day(2026, 12, 31));
    expect(returnDate("Back on 0 December", NOW)).toBeNull();
    expect(returnDate("Back on 32 December", NOW)).toBeNull();
    expect(returnDate("Back on 13/13/2027", NOW)).toBeNull();
    expect(returnDate("Back on 2027-00-10", NOW)).toBeNull();
    expect(returnDate("Back on 2027-12-10", NOW)).toBe(day(2027, 12, 10));
  });

  it("treats a return at this very moment as past: a dateless one is next year's, a dated one none", () => {
    const dec4 = Date.UTC(2026, 11, 4);
    expect(returnDate("Back on 3 December", dec4)).toBe(day(2027, 12, 3));
    expect(returnDate("Back on 3 December 2026", dec4)).toBeNull();
  });
});

describe("stripQuoted", () => {
  it("keeps every line of the new text, and lone carriage returns break lines", () => {
    expect(stripQuoted("Line one\nLine two\n\n")).toBe("Line one\nLine two");
    expect(stripQuoted("Yes\r> quoted")).toBe("Yes");
  });

  it("stops at quoted lines however indented, but not at a > inside a line", () => {
    expect(stripQuoted("Yes\n>quoted")).toBe("Yes");
    expect(stripQuoted("Yes\n   > quoted")).toBe("Yes");
    expect(stripQuoted("I think 3 > 2\nx>y too")).toBe("I think 3 > 2\nx>y too");
  });

  it("stops at Outlook's original-message line and underscore rule, only at the start of a line", () => {
    expect(stripQuoted("Ok\n----- Original Message -----\nold")).toBe("Ok");
    expect(stripQuoted("Ok\n-----Ursprüngliche Nachricht-----\nold")).toBe("Ok");
    expect(stripQuoted("Ok -----Original Message----- inline")).toBe(
      "Ok -----Original Message----- inline",
    );
    expect(stripQuoted("Ok\n-Original Message-\nmore")).toBe("Ok\n-Original Message-\nmore");
    expect(stripQuoted("Ok\n________________________________\nFrom: x")).toBe("Ok");
    expect(stripQuoted("Ok\n__________   \nold")).toBe("Ok");
    expect(stripQuoted("Ok\n_\nmore")).toBe("Ok\n_\nmore");
    expect(stripQuoted("Ok\nsee __________\n__________ here")).toBe(
      "Ok\nsee __________\n__________ here",
    );
  });

  it("stops at an 'On … wrote:' line, on one line or two, only when it starts the line", () => {
    expect(stripQuoted("Sure\nOn Thu, 26 Nov 2026 at 10:00, Ada <a@b.example> wrote:\nold")).toBe(
      "Sure",
    );
    expect(stripQuoted("Sure\n  Am 26.11.2026 schrieb Ada:\nold")).toBe("Sure");
    expect(stripQuoted("Sure\nLe jeu. 26 nov. 2026, Ada\na écrit :\nold")).toBe("Sure");
    expect(stripQuoted("Yes. As John on the call wrote:\nmore")).toBe(
      "Yes. As John on the call wrote:\nmore",
    );
    expect(stripQuoted("Thanks\nfor everything on Monday, I wrote:\nmore")).toBe(
      "Thanks\nfor everything on Monday, I wrote:\nmore",
    );
    expect(stripQuoted("Online, it wrote:\nmore")).toBe("Online, it wrote:\nmore");
  });

  it("stops at a From: block only when Sent, Date or To follows", () => {
    expect(stripQuoted("Ok\nFrom: Ada\nDate: Thu\nold")).toBe("Ok");
    expect(stripQuoted("Ok\nFrom: me, with love\nAda")).toBe("Ok\nFrom: me, with love\nAda");
    expect(stripQuoted("Ok\nMail from: x\nSent: y")).toBe("Ok\nMail from: x\nSent: y");
    expect(stripQuoted("Ok\nFrom: a\nWe sent: x")).toBe("Ok\nFrom: a\nWe sent: x");
  });

  it("stops at a signature delimiter, with or without its space, and nothing like it", () => {
    expect(stripQuoted("Ok\n--\nAda")).toBe("Ok");
    expect(stripQuoted("Ok\n-- \nAda")).toBe("Ok");
    expect(stripQuoted("Ok\n-- not a signature\nWell --")).toBe("Ok\n-- not a signature\nWell --");
  });
});
