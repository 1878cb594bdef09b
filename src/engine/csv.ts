// RFC 4180 CSV → contact objects. Known columns map to contact fields (camelCase or
// snake_case); every other column goes into `data`. Pure.
const FIELD_ALIASES: Record<string, string> = {
  email: "email",
  phone: "phone",
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

export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch === '"' && field === "") {
      quoted = true;
    } else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") {
        i++;
      }
      row.push(field);
      field = "";
      if (row.some((f) => f !== "")) {
        rows.push(row);
      }
      row = [];
    } else {
      field += ch;
    }
  }
  row.push(field);
  if (row.some((f) => f !== "")) {
    rows.push(row);
  }
  return rows;
}

export function csvToContacts(text: string): Record<string, unknown>[] {
  const [header, ...rows] = parseCsv(text.replace(/^\uFEFF/, ""));
  if (!header) {
    return [];
  }
  const keys = header.map((h) => h.trim());
  return rows.map((cells) => {
    const contact: Record<string, unknown> = {};
    const data: Record<string, unknown> = {};
    keys.forEach((k, i) => {
      const value = cells[i]?.trim() ?? "";
      if (value === "") {
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
  });
}
