// A time zone inferred from a phone number: its country's zone, or for countries spanning
// several zones, the area code's where known. Pure; used only when no zone is given.
import { parsePhoneNumberFromString } from "libphonenumber-js/min";

const COUNTRY_ZONE: Record<string, string> = {
  GB: "Europe/London",
  IE: "Europe/Dublin",
  FR: "Europe/Paris",
  DE: "Europe/Berlin",
  ES: "Europe/Madrid",
  IT: "Europe/Rome",
  NL: "Europe/Amsterdam",
  BE: "Europe/Brussels",
  CH: "Europe/Zurich",
  AT: "Europe/Vienna",
  SE: "Europe/Stockholm",
  NO: "Europe/Oslo",
  DK: "Europe/Copenhagen",
  FI: "Europe/Helsinki",
  PL: "Europe/Warsaw",
  CZ: "Europe/Prague",
  PT: "Europe/Lisbon",
  GR: "Europe/Athens",
  RO: "Europe/Bucharest",
  HU: "Europe/Budapest",
  UA: "Europe/Kyiv",
  TR: "Europe/Istanbul",
  IL: "Asia/Jerusalem",
  AE: "Asia/Dubai",
  SA: "Asia/Riyadh",
  IN: "Asia/Kolkata",
  PK: "Asia/Karachi",
  BD: "Asia/Dhaka",
  SG: "Asia/Singapore",
  MY: "Asia/Kuala_Lumpur",
  TH: "Asia/Bangkok",
  VN: "Asia/Ho_Chi_Minh",
  PH: "Asia/Manila",
  HK: "Asia/Hong_Kong",
  CN: "Asia/Shanghai",
  TW: "Asia/Taipei",
  JP: "Asia/Tokyo",
  KR: "Asia/Seoul",
  NZ: "Pacific/Auckland",
  ZA: "Africa/Johannesburg",
  NG: "Africa/Lagos",
  KE: "Africa/Nairobi",
  EG: "Africa/Cairo",
  MA: "Africa/Casablanca",
  AR: "America/Argentina/Buenos_Aires",
  CL: "America/Santiago",
  CO: "America/Bogota",
  PE: "America/Lima",
  MX: "America/Mexico_City",
  BR: "America/Sao_Paulo",
  CA: "America/Toronto",
  US: "America/New_York",
  AU: "Australia/Sydney",
  RU: "Europe/Moscow",
  ID: "Asia/Jakarta",
};

// North American area codes outside the Eastern zone (a representative, not exhaustive, set).
const NANP_ZONE: [string, number[]][] = [
  [
    "America/Chicago",
    [
      205, 210, 214, 217, 224, 225, 254, 262, 281, 309, 312, 314, 316, 318, 319, 320, 331, 337, 361,
      402, 405, 409, 414, 417, 430, 432, 469, 479, 501, 504, 507, 512, 515, 563, 573, 580, 601, 608,
      612, 615, 618, 620, 630, 636, 651, 662, 682, 708, 713, 715, 731, 737, 763, 773, 785, 806, 815,
      816, 817, 830, 832, 847, 901, 903, 913, 918, 920, 931, 936, 940, 952, 956, 972, 979,
    ],
  ],
  ["America/Denver", [303, 307, 385, 406, 435, 505, 575, 719, 720, 801, 970, 983]],
  ["America/Phoenix", [480, 520, 602, 623, 928]],
  [
    "America/Los_Angeles",
    [
      206, 209, 213, 253, 279, 310, 323, 341, 360, 408, 415, 424, 425, 442, 503, 509, 510, 530, 541,
      559, 562, 619, 626, 628, 650, 657, 661, 669, 702, 707, 714, 725, 747, 760, 775, 805, 818, 831,
      858, 909, 916, 925, 949, 951, 971,
    ],
  ],
  ["America/Anchorage", [907]],
  ["Pacific/Honolulu", [808]],
  ["America/Vancouver", [236, 250, 604, 672, 778]],
  ["America/Edmonton", [368, 403, 587, 780, 825]],
  ["America/Winnipeg", [204, 431]],
  ["America/Regina", [306, 639]],
  ["America/Halifax", [782, 902]],
  ["America/St_Johns", [709]],
];
const AREA = new Map<number, string>(
  NANP_ZONE.flatMap(([zone, codes]) => codes.map((c) => [c, zone] as [number, string])),
);

const AU_ZONE: Record<string, string> = { "8": "Australia/Perth", "7": "Australia/Brisbane" };

export function timezoneFromPhone(phone: string | null | undefined): string | null {
  if (!phone) {
    return null;
  }
  const parsed = parsePhoneNumberFromString(phone);
  if (!parsed?.country) {
    return null;
  }
  const national = parsed.nationalNumber;
  if (parsed.country === "US" || parsed.country === "CA") {
    return AREA.get(Number(national.slice(0, 3))) ?? COUNTRY_ZONE[parsed.country];
  }
  if (parsed.country === "AU") {
    return AU_ZONE[national[0]] ?? COUNTRY_ZONE.AU;
  }
  return COUNTRY_ZONE[parsed.country] ?? null;
}
