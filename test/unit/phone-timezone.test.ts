// Time zones from phone numbers: Google libphonenumber's prefix map (scripts/phone-zones.mjs).
import { describe, expect, it } from "vitest";
import { timezoneFromPhone } from "../../src/lib/phone-timezone";
import { PREFIXES } from "../../src/lib/phone-zones";

describe("time zones from phone numbers (libphonenumber's map)", () => {
  it("covers North American area codes across every zone, and common international numbers", () => {
    const cases: [string, string][] = [
      ["+12125550100", "America/New_York"],
      ["+13125550100", "America/Chicago"],
      ["+13035550100", "America/Denver"],
      ["+16025550100", "America/Phoenix"],
      ["+14155550100", "America/Los_Angeles"],
      ["+19075550100", "America/Anchorage"],
      ["+18085550100", "Pacific/Honolulu"],
      ["+16045550100", "America/Vancouver"],
      ["+14165550100", "America/Toronto"],
      ["+17095550100", "America/St_Johns"],
      ["+17875550100", "America/Puerto_Rico"],
      ["+442071838750", "Europe/London"],
      ["+33142685300", "Europe/Paris"],
      ["+34912345678", "Europe/Madrid"],
      ["+351213456789", "Europe/Lisbon"],
      ["+525512345678", "America/Mexico_City"],
      ["+4930901820", "Europe/Berlin"],
      ["+61292501111", "Australia/Sydney"],
      ["+61892221111", "Australia/Perth"],
      ["+81312345678", "Asia/Tokyo"],
      ["+5511987654321", "America/Sao_Paulo"],
      ["+919876543210", "Asia/Calcutta"],
    ];
    for (const [phone, zone] of cases) {
      expect([phone, timezoneFromPhone(phone)]).toEqual([phone, zone]);
    }
    expect(timezoneFromPhone("+1")).toBeNull();
    expect(timezoneFromPhone(null)).toBeNull();
  });

  it("knows a zone for every assigned North American area code in the map", () => {
    const nanp = PREFIXES.split(",").filter((e) => /^1\d{3}:/.test(e));
    expect(nanp.length).toBeGreaterThan(300);
    for (const entry of nanp) {
      const area = entry.slice(1, 4);
      expect(timezoneFromPhone(`+1${area}2345678`) ?? `none for ${area}`).not.toMatch(/^none/);
    }
  });
});
