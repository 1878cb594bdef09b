// Standard Webhooks signatures (https://www.standardwebhooks.com): `v1,<base64 HMAC-SHA256 of
// "<id>.<timestamp>.<body>">` under a `whsec_` secret — for webhook deliveries and for calls to
// a code agent's endpoint, which the `standardwebhooks` library verifies the same way.

import { base64, fromBase64, hmac } from "./encoding";

/** `v1,<sig>` per secret, space-separated (both secrets during a rotation). */
export async function signatureHeader(
  secrets: string[],
  id: string,
  timestamp: number,
  body: string,
) {
  const sigs = await Promise.all(
    secrets.map(async (s) =>
      base64(
        await hmac("SHA-256", fromBase64(s.replace(/^whsec_/, "")), `${id}.${timestamp}.${body}`),
      ),
    ),
  );
  return sigs.map((s) => `v1,${s}`).join(" ");
}
