// Prefixed, URL-safe, time-sortable ids (`con_01JD...`): 48-bit ms time + 80 random bits in
// Crockford base32, so ordering by id is ordering by creation time.
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

export type IdPrefix =
  | "org"
  | "key"
  | "con"
  | "evt"
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
  | "obx";

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

/** The shape of every id newId makes: a prefix, then 26 Crockford base32 characters. */
export const ID_SHAPE = /^[a-z]+_[0-9A-Z]{26}$/;
