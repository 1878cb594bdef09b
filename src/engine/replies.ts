// What a received email is (pure): a delivery status notification (a bounce), an automatic
// reply (out of office, RFC 3834), or a human reply — and, for a human reply, its new text
// without the quoted history; for an automatic one, the return date it names, if any.

export interface MailFacts {
  from: string;
  subject: string;
  /** Header names in lower case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  text: string;
  /** The MIME type of the whole message (`multipart/report` for a DSN). */
  contentType?: string;
}

export type MailKind =
  | { kind: "bounce"; reason: string }
  | { kind: "auto_reply"; reason: string; returnAt: number | null }
  | { kind: "reply" };

const AUTO_SUBJECT = [
  /\bout of (the )?office\b/i,
  /\bautomatic reply\b/i,
  /\bauto(matic)?[- ]?(reply|response|responder)\b/i,
  /\bon (vacation|holiday|leave)\b/i,
  /\babwesenheits?(notiz|nachricht)\b/i,
  /\bautomatische antwort\b/i,
  /\bréponse automatique\b/i,
  /\babsence du bureau\b/i,
  /\brespuesta automática\b/i,
  /\bfuera de la oficina\b/i,
  /\brisposta automatica\b/i,
  /\bfuori ufficio\b/i,
  /\bresposta automática\b/i,
  /\bautomatisch antwoord\b/i,
  /\bafwezig(heid)?\b/i,
  /\bautosvar\b/i,
  /\bpoza biurem\b/i,
];

const DSN_SENDER = /^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@/i;
const DSN_SUBJECT =
  /\b(undeliverable|undelivered mail|delivery status notification|delivery (has )?failed|mail delivery (failed|failure|subsystem)|returned mail|failure notice|non[- ]?delivery)\b/i;

export function classifyMail(m: MailFacts, now = Date.now()): MailKind {
  const h = m.headers;
  if (
    /^multipart\/report\b/i.test(m.contentType ?? "") &&
    /report-type="?delivery-status/i.test(m.contentType ?? "")
  ) {
    return { kind: "bounce", reason: "delivery status notification (multipart/report)" };
  }
  if (DSN_SENDER.test(m.from) && DSN_SUBJECT.test(m.subject)) {
    return { kind: "bounce", reason: `bounce notice from ${m.from}` };
  }
  const auto = autoReplyReason(h, m.subject);
  if (auto) {
    return {
      kind: "auto_reply",
      reason: auto,
      returnAt: returnDate(`${m.subject}\n${m.text}`, now),
    };
  }
  return { kind: "reply" };
}

function autoReplyReason(h: Record<string, string>, subject: string): string | null {
  const submitted = h["auto-submitted"]?.trim().toLowerCase();
  if (submitted && submitted !== "no") {
    return `Auto-Submitted: ${submitted}`;
  }
  for (const name of ["x-autoreply", "x-autorespond", "x-auto-response-suppress"]) {
    if (h[name] !== undefined && name !== "x-auto-response-suppress") {
      return name;
    }
  }
  const precedence = h.precedence?.trim().toLowerCase();
  if (precedence && ["auto_reply", "bulk", "junk"].includes(precedence)) {
    return `Precedence: ${precedence}`;
  }
  if (AUTO_SUBJECT.some((p) => p.test(subject))) {
    return "subject";
  }
  return null;
}

const MONTHS: Record<string, number> = {
  jan: 0,
  january: 0,
  januar: 0,
  janvier: 0,
  enero: 0,
  feb: 1,
  february: 1,
  februar: 1,
  février: 1,
  fevrier: 1,
  febrero: 1,
  mar: 2,
  march: 2,
  märz: 2,
  maerz: 2,
  mars: 2,
  marzo: 2,
  apr: 3,
  april: 3,
  avril: 3,
  abril: 3,
  may: 4,
  mai: 4,
  mayo: 4,
  jun: 5,
  june: 5,
  juni: 5,
  juin: 5,
  junio: 5,
  jul: 6,
  july: 6,
  juli: 6,
  juillet: 6,
  julio: 6,
  aug: 7,
  august: 7,
  août: 7,
  aout: 7,
  agosto: 7,
  sep: 8,
  sept: 8,
  september: 8,
  septembre: 8,
  septiembre: 8,
  oct: 9,
  october: 9,
  oktober: 9,
  octobre: 9,
  octubre: 9,
  nov: 10,
  november: 10,
  novembre: 10,
  noviembre: 10,
  dec: 11,
  december: 11,
  dezember: 11,
  décembre: 11,
  decembre: 11,
  diciembre: 11,
};
const MONTH = Object.keys(MONTHS)
  .sort((a, b) => b.length - a.length)
  .join("|");
const CUE =
  "(?:back|return(?:ing)?|returns|in the office|until|till|through|bis(?: zum)?|zurück(?: am)?|jusqu'au|de retour le|hasta el|regreso el|fino al)";

/**
 * The return date an automatic reply names ("back on 3 December", "returning December 3rd",
 * "until 12/03/2026" read day-first when ambiguous only if the day is > 12, else month-first,
 * "bis zum 3. Dezember"), as the start of the following day (UTC); null when none is found.
 * A date without a year is the next one after `now`.
 */
export function returnDate(text: string, now = Date.now()): number | null {
  const window = text.slice(0, 4000);
  const patterns: [RegExp, (m: RegExpExecArray) => [number, number, number | null] | null][] = [
    // 3 December (2026) / 3rd of December / 3. Dezember
    [
      new RegExp(
        `${CUE}[^.\\n]{0,40}?\\b(\\d{1,2})(?:st|nd|rd|th|er|\\.)?\\s*(?:of\\s+)?(${MONTH})\\.?(?:,?\\s+(\\d{4}))?`,
        "i",
      ),
      (m) => [Number(m[1]), MONTHS[m[2].toLowerCase()], m[3] ? Number(m[3]) : null],
    ],
    // December 3(rd)(, 2026)
    [
      new RegExp(
        `${CUE}[^.\\n]{0,40}?\\b(${MONTH})\\.?\\s+(\\d{1,2})(?:st|nd|rd|th)?\\b(?:,?\\s+(\\d{4}))?`,
        "i",
      ),
      (m) => [Number(m[2]), MONTHS[m[1].toLowerCase()], m[3] ? Number(m[3]) : null],
    ],
    // 2026-12-03
    [
      new RegExp(`${CUE}[^.\\n]{0,40}?\\b(\\d{4})-(\\d{2})-(\\d{2})\\b`, "i"),
      (m) => [Number(m[3]), Number(m[2]) - 1, Number(m[1])],
    ],
    // 12/03(/2026) or 03.12.2026
    [
      new RegExp(`${CUE}[^.\\n]{0,40}?\\b(\\d{1,2})[/.](\\d{1,2})(?:[/.](\\d{2,4}))?\\b`, "i"),
      (m) => {
        const a = Number(m[1]);
        const b = Number(m[2]);
        const year = m[3] ? Number(m[3].length === 2 ? `20${m[3]}` : m[3]) : null;
        // Dotted dates are day-first; slashed ones month-first unless the first part cannot be a month.
        const dayFirst = m[0].includes(".") || a > 12;
        return dayFirst ? [a, b - 1, year] : [b, a - 1, year];
      },
    ],
  ];
  for (const [re, read] of patterns) {
    const m = re.exec(window);
    const parts = m ? read(m) : null;
    if (!parts) {
      continue;
    }
    const [day, month, year] = parts;
    if (!(month >= 0 && month <= 11 && day >= 1 && day <= 31)) {
      continue;
    }
    const thisYear = new Date(now).getUTCFullYear();
    let at = Date.UTC(year ?? thisYear, month, day + 1);
    if (year === null && at <= now) {
      at = Date.UTC(thisYear + 1, month, day + 1);
    }
    if (new Date(at - 86_400_000).getUTCDate() !== day) {
      continue; // 31 February and the like
    }
    return at > now ? at : null;
  }
  return null;
}

/**
 * The new text of a reply: everything before the quoted history (`On … wrote:` in several
 * languages, Outlook's `-----Original Message-----` or `From:` block, `>` lines) and before a
 * signature delimiter (`-- `).
 */
export function stripQuoted(text: string): string {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const joined = `${line} ${lines[i + 1] ?? ""}`;
    if (
      /^\s*>/.test(line) ||
      /^-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|mensaje original)\s*-{2,}/i.test(
        line,
      ) ||
      /^\s*(on|am|le|el|il|op)\s.{0,200}(wrote|schrieb|a écrit|escribió|ha scritto|schreef)\b.{0,200}:\s*$/i.test(
        line,
      ) ||
      /^\s*(on|am|le|el|il|op)\s.{0,200}(wrote|schrieb|a écrit|escribió|ha scritto|schreef)\b.{0,200}:\s*$/i.test(
        joined,
      ) ||
      /^_{10,}\s*$/.test(line) ||
      (/^from:\s/i.test(line) && /^(sent|date|to):\s/i.test(lines[i + 1] ?? ""))
    ) {
      break;
    }
    if (/^-- ?$/.test(line)) {
      break;
    }
    out.push(line);
  }
  return out.join("\n").trim();
}
