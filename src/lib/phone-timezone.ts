// A time zone inferred from a phone number: the zone Google libphonenumber's time-zone map gives
// its longest matching prefix (every North American area code, and the numbering plans of the
// world; see scripts/phone-zones.mjs). Pure; used only when no zone is given.
import { parsePhoneNumberFromString } from "libphonenumber-js/min";
import { PREFIXES, ZONES } from "./phone-zones";

let table: Map<string, string> | null = null;
let longest = 0;

function prefixTable() {
  if (!table) {
    table = new Map();
    for (const entry of PREFIXES.split(",")) {
      const [prefix, zone] = entry.split(":");
      table.set(prefix, ZONES[Number.parseInt(zone, 36)]);
      longest = Math.max(longest, prefix.length);
    }
  }
  return table;
}

/** The zone of a valid phone number's longest known prefix, or null. */
export function timezoneFromPhone(phone: string | null | undefined): string | null {
  if (!phone) {
    return null;
  }
  const parsed = parsePhoneNumberFromString(phone);
  if (!parsed) {
    return null;
  }
  const digits = `${parsed.countryCallingCode}${parsed.nationalNumber}`;
  const zones = prefixTable();
  for (let n = Math.min(longest, digits.length); n > 0; n--) {
    const zone = zones.get(digits.slice(0, n));
    if (zone) {
      return zone;
    }
  }
  return null;
}
