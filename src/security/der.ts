// Just enough DER for inbound signature checks: ECDSA signatures to the raw r||s that Web
// Crypto verifies, and an X.509 certificate's SubjectPublicKeyInfo. Pure.
interface Tlv {
  tag: number;
  start: number;
  end: number;
  next: number;
}

function readTlv(buf: Uint8Array, offset: number): Tlv {
  const tag = buf[offset];
  let len = buf[offset + 1];
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) {
      throw new Error("Unsupported DER length");
    }
    len = 0;
    for (let i = 0; i < n; i++) {
      len = len * 256 + buf[start + i];
    }
    start += n;
  }
  const end = start + len;
  if (end > buf.length) {
    throw new Error("Truncated DER");
  }
  return { tag, start, end, next: end };
}

/** DER `SEQUENCE { INTEGER r, INTEGER s }` → 64 bytes r||s (P-256). */
export function ecdsaDerToRaw(der: Uint8Array, size = 32): Uint8Array {
  const seq = readTlv(der, 0);
  if (seq.tag !== 0x30) {
    throw new Error("Not a DER sequence");
  }
  const r = readTlv(der, seq.start);
  const s = readTlv(der, r.next);
  if (r.tag !== 0x02 || s.tag !== 0x02) {
    throw new Error("Not DER integers");
  }
  const out = new Uint8Array(size * 2);
  const put = (t: Tlv, at: number) => {
    let bytes = der.slice(t.start, t.end);
    while (bytes.length > size && bytes[0] === 0) {
      bytes = bytes.slice(1);
    }
    if (bytes.length > size) {
      throw new Error("Integer too long");
    }
    out.set(bytes, at + size - bytes.length);
  };
  put(r, 0);
  put(s, size);
  return out;
}

/** The SubjectPublicKeyInfo DER inside an X.509 certificate. */
export function spkiFromCertificate(cert: Uint8Array): Uint8Array {
  const certificate = readTlv(cert, 0);
  const tbs = readTlv(cert, certificate.start);
  let at = tbs.start;
  let field = readTlv(cert, at);
  if (field.tag === 0xa0) {
    at = field.next; // explicit version
    field = readTlv(cert, at);
  }
  // serialNumber, signature, issuer, validity, subject, then subjectPublicKeyInfo
  for (let i = 0; i < 5; i++) {
    at = readTlv(cert, at).next;
  }
  const spki = readTlv(cert, at);
  if (spki.tag !== 0x30) {
    throw new Error("No SubjectPublicKeyInfo");
  }
  return cert.slice(at, spki.end);
}

export function pemToDer(pem: string): Uint8Array {
  const b64 = pem.replace(/-----(BEGIN|END) [^-]+-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}
