// Reading what another server answered, never more than we mean to keep. Endpoints, model base
// URLs and provider hosts are chosen by tenants (or could be impersonated): `res.text()` would
// read a 32 MiB — or endless — body whole into the isolate before any cut. These readers pull
// the body through its stream reader and cancel the stream as soon as the cap is passed, so at
// most one chunk beyond the cap is ever pulled.

/** An answer longer than the cap; `limit` is the cap in bytes. */
export class ResponseTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`the answer exceeds ${sizeName(limit)} (it was cut there)`);
    this.name = "ResponseTooLarge";
  }
}

/** Caps the callers use: a provider's JSON answer or error, a model's answer, an agent's answer. */
export const RESPONSE_CAPS = {
  /** A provider's answer to a send or an API call (an id, a status): small JSON. */
  provider: 256 * 1024,
  /** A received email fetched from a provider's API (as large as a raw email we accept). */
  mail: 5 * 1024 * 1024,
  /** A provider's error body: only its code/message fields are kept. */
  error: 64 * 1024,
  /** A model's completion (max_tokens bounds it; this bounds a server that ignores it). */
  llm: 1024 * 1024,
  /** A code agent's answer. */
  agent: 1_000_000,
} as const;

const sizeName = (bytes: number) =>
  bytes % (1024 * 1024) === 0
    ? `${bytes / 1024 / 1024} MiB`
    : bytes % 1024 === 0
      ? `${bytes / 1024} KiB`
      : `${bytes} bytes`;

/**
 * At most `maxBytes` of the body, and whether there was more. The stream is cancelled once the
 * cap is passed (and on any error), so the sender stops being read.
 */
export async function readCapped(
  res: Response,
  maxBytes: number,
): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  if (!res.body) {
    return { bytes: new Uint8Array(0), truncated: false };
  }
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let kept = 0;
  let truncated = false;
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        break;
      }
      const room = maxBytes - kept;
      if (value.byteLength > room) {
        chunks.push(value.subarray(0, room));
        kept += room;
        truncated = true;
        break;
      }
      chunks.push(value);
      kept += value.byteLength;
    }
  } finally {
    if (!finished) {
      await reader.cancel().catch(() => undefined);
    }
    reader.releaseLock();
  }
  const bytes = new Uint8Array(kept);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return { bytes, truncated };
}

/**
 * The body as text, at most `maxBytes` of it. `truncate` keeps the first `maxBytes` (for a
 * snippet or an error message); otherwise a longer body throws {@link ResponseTooLarge}.
 */
export async function textCapped(
  res: Response,
  maxBytes: number,
  { truncate = false }: { truncate?: boolean } = {},
): Promise<string> {
  const { bytes, truncated } = await readCapped(res, maxBytes);
  if (truncated && !truncate) {
    throw new ResponseTooLarge(maxBytes);
  }
  // A multibyte character cut at the cap decodes as U+FFFD rather than failing.
  return new TextDecoder().decode(bytes);
}

/** The body parsed as JSON; a body longer than `maxBytes` throws {@link ResponseTooLarge}. */
export async function jsonCapped(res: Response, maxBytes: number): Promise<unknown> {
  return JSON.parse(await textCapped(res, maxBytes));
}
