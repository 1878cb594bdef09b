// Prefixed, URL-safe, time-sortable ids (`con_01JD...`): 48-bit ms time + 80 random bits in
// Crockford base32, so ordering by id is ordering by creation time.
//
// Data residency: an id minted for an org kept in a jurisdiction (its org, enrollments, email
// connections, agents and agent templates: everything that names a Durable Object) ends in
// that region's mark, so code holding only the id reaches the object in its jurisdiction
// (src/ground/objects.ts). Each mark holds a `U`, a letter Crockford base32 never writes: no
// plain id can look marked, and the ids of orgs without a region are exactly what they were.
import type { Region } from "./config";

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

export type IdPrefix =
  | "org"
  | "key"
  | "con"
  | "evt"
  | "inm"
  | "tpl"
  | "wf"
  | "stp"
  | "trn"
  | "enr"
  | "msg"
  | "whk"
  | "dlv"
  | "cxn"
  | "imp"
  | "req"
  | "obx"
  | "fb"
  | "rpt"
  | "tsk"
  | "top"
  | "agt"
  | "atp"
  | "axn"
  | "alg"
  | "arx";

/** The last two characters of an id minted for an org kept in the region. */
const REGION_MARKS: Readonly<Record<Region, string>> = { eu: "EU", fedramp: "US" };
const MARKED = new Map(Object.entries(REGION_MARKS).map(([r, m]) => [m, r as Region]));

/** The id with its region's mark (unchanged without a region; marking twice changes nothing). */
export const markRegion = (id: string, region: Region | null) =>
  region ? id.slice(0, -2) + REGION_MARKS[region] : id;

/** The region an id (or a name ending in one) was minted for, from its mark; null: none. */
export const regionOfId = (id: string): Region | null => MARKED.get(id.slice(-2)) ?? null;

export function newId(prefix: IdPrefix, now = Date.now(), region: Region | null = null): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let rand = "";
  for (const b of bytes) {
    rand += ALPHABET[b % 32];
  }
  return markRegion(`${prefix}_${time}${rand}`, region);
}

/**
 * An id of newId's shape whose random part is derived from `seed`: the same seed and time
 * always give the same id (an enrollment an event starts is created once however often the
 * event is processed).
 */
export async function seededId(
  prefix: IdPrefix,
  now: number,
  seed: string,
  region: Region | null = null,
): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(seed)),
  );
  const random = [...digest.slice(0, 16)].map((b) => ALPHABET[b % 32]).join("");
  return markRegion(newId(prefix, now).slice(0, prefix.length + 11) + random, region);
}

/** The shape of every id newId makes: a prefix, then 26 characters (Crockford base32, or a region's mark). */
export const ID_SHAPE = /^[a-z]+_[0-9A-Z]{26}$/;
