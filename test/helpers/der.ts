// Builds just enough DER to wrap a test RSA key in an X.509 certificate (for SNS signatures).
function len(n: number): number[] {
  if (n < 0x80) {
    return [n];
  }
  const bytes: number[] = [];
  while (n > 0) {
    bytes.unshift(n & 0xff);
    n >>= 8;
  }
  return [0x80 | bytes.length, ...bytes];
}
const tlv = (tag: number, body: Uint8Array) => new Uint8Array([tag, ...len(body.length), ...body]);
const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let i = 0;
  for (const p of parts) {
    out.set(p, i);
    i += p.length;
  }
  return out;
};
const seq = (...parts: Uint8Array[]) => tlv(0x30, cat(...parts));
const int = (n: number) => tlv(0x02, new Uint8Array([n]));
const oid = (bytes: number[]) => tlv(0x06, new Uint8Array(bytes));
const utf8 = (s: string) => tlv(0x0c, new TextEncoder().encode(s));
const utc = (s: string) => tlv(0x17, new TextEncoder().encode(s));

/** A PEM certificate carrying `spki` (signature bytes are not meaningful: SNS verification uses only the key). */
export function certificatePem(spki: ArrayBuffer): string {
  const sha256WithRsa = seq(
    oid([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b]),
    tlv(0x05, new Uint8Array()),
  );
  const name = seq(tlv(0x31, seq(oid([0x55, 0x04, 0x03]), utf8("sns.amazonaws.com"))));
  const tbs = seq(
    tlv(0xa0, int(2)),
    int(1),
    sha256WithRsa,
    name,
    seq(utc("260101000000Z"), utc("360101000000Z")),
    name,
    new Uint8Array(spki),
  );
  const cert = seq(tbs, sha256WithRsa, tlv(0x03, new Uint8Array([0, 1, 2, 3])));
  const b64 = btoa(String.fromCharCode(...cert));
  return `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g)?.join("\n")}\n-----END CERTIFICATE-----\n`;
}

/** Web Crypto's raw r||s ECDSA signature → DER, as SendGrid sends it. */
export function rawToDer(raw: Uint8Array): Uint8Array {
  const part = (b: Uint8Array) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) {
      i++;
    }
    const v = b.slice(i);
    return tlv(0x02, v[0] & 0x80 ? cat(new Uint8Array([0]), v) : v);
  };
  return seq(part(raw.slice(0, 32)), part(raw.slice(32)));
}
