// What the provider contract tests (src/providers/<provider>.test.ts) and the email delivery
// tests share: one representative email, a send context, fetch interceptors that record the
// provider module's requests, and the request shape a provider's webhook arrives in.
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import type { InboundRequest, OutgoingEmail } from "../../src/providers/provider";

/** An email with everything a provider maps: a display name, Reply-To, both parts, headers. */
export const email: OutgoingEmail = {
  messageId: "msg_01TEST",
  idempotencyKey: "enr_1:s1:1",
  from: "Acme <hi@acme.test>",
  to: "ada@example.com",
  replyTo: "support@acme.test",
  subject: "Hello",
  html: "<p>Hello</p>",
  text: "Hello",
  headers: {
    "List-Unsubscribe": "<https://nudge.test/t/u/x>",
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
  },
};

/** A JSON answer, as the provider's API gives it. */
export const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });

/** Captures the provider's request and answers with `res`. */
export function intercept(...responses: Response[]) {
  const requests: Request[] = [];
  const spy = vi
    .spyOn(globalThis, "fetch")
    .mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
      requests.push(new Request(input, init));
      const next = responses.length > 1 ? responses.shift() : responses[0];
      return (next as Response).clone();
    });
  return { requests, spy };
}

/**
 * Replaces fetch: records each request the module makes and answers with `answer(request)`
 * (for modules that call more than one URL). Restore with vi.restoreAllMocks().
 */
export function interceptWith(answer: (req: Request) => Response | Promise<Response>) {
  const requests: Request[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(
    async (input: RequestInfo | URL, init?: RequestInit) => {
      const req = new Request(input, init);
      requests.push(req.clone());
      return answer(req);
    },
  );
  return requests;
}

export const ctx = (credentials: Record<string, string>) => ({ env, orgId: "org_1", credentials });
/** The SMTP double listens on 127.0.0.1: only local development may reach a loopback relay. */
export const localCtx = (credentials: Record<string, string>) => ({
  env: { ...env, ENVIRONMENT: "development" },
  orgId: "org_1",
  credentials,
});

/** A request's headers as a plain object (names in lower case), to compare whole. */
export const headersOf = (req: Request) => Object.fromEntries(req.headers.entries());

/** A webhook as the module's verify/parse take it. */
export const inbound = (body: string, headers: Record<string, string> = {}): InboundRequest => ({
  headers: new Headers(headers),
  body,
});

export const b64 = (buf: ArrayBuffer | Uint8Array) =>
  btoa(String.fromCharCode(...new Uint8Array(buf)));

/** HMAC of `data` with `key` (text), as hex or base64. */
export async function hmacOf(
  hash: "SHA-1" | "SHA-256",
  key: string | Uint8Array,
  data: string,
): Promise<Uint8Array> {
  const raw = typeof key === "string" ? new TextEncoder().encode(key) : key;
  const k = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, new TextEncoder().encode(data)));
}

export const hexOf = (bytes: Uint8Array) =>
  [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
