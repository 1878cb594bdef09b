// Prefixed, URL-safe, time-sortable ids (`con_01JD...`): 48-bit ms time + 80 random bits in
// Crockford base32, so ordering by id is ordering by creation time.
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

export function newId(prefix: IdPrefix, now = Date.now()): string {
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
  return `${prefix}_${time}${rand}`;
}

/**
 * An id of newId's shape whose random part is derived from `seed`: the same seed and time
 * always give the same id (an enrollment an event starts is created once however often the
 * event is processed).
 */
export async function seededId(prefix: IdPrefix, now: number, seed: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(seed)),
  );
  const random = [...digest.slice(0, 16)].map((b) => ALPHABET[b % 32]).join("");
  return newId(prefix, now).slice(0, prefix.length + 11) + random;
}

/** The shape of every id newId makes: a prefix, then 26 Crockford base32 characters. */
export const ID_SHAPE = /^[a-z]+_[0-9A-Z]{26}$/;
