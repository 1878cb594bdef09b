// Drives the Worker through its real fetch handler, as a client would.
import { exports } from "cloudflare:workers";
import { createLogger } from "../../src/ground/log";

export const ADMIN_TOKEN = "test-admin-token-0123456789";
const BASE = "https://nudge.test";

export interface CallOptions {
  key?: string;
  body?: unknown;
  raw?: BodyInit;
  headers?: Record<string, string>;
}

export async function call(method: string, path: string, opts: CallOptions = {}) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key) {
    headers.authorization = `Bearer ${opts.key}`;
  }
  let body: BodyInit | undefined = opts.raw;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers["content-type"] ??= "application/json";
  }
  const res = await exports.default.fetch(
    new Request(`${BASE}${path}`, { method, headers, body, redirect: "manual" }),
  );
  const text = await res.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, headers: res.headers, json, text };
}

export async function newOrg(name = "Acme") {
  const res = await call("POST", "/v1/admin/orgs", {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    body: { name },
  });
  if (res.status !== 201) {
    throw new Error(`org create failed: ${res.status} ${res.text}`);
  }
  return { orgId: res.json.org.id as string, key: res.json.apiKey.key as string };
}

export function expectError(res: { status: number; json: any }, status: number, code: string) {
  if (
    res.status !== status ||
    res.json?.error !== code ||
    typeof res.json?.requestId !== "string" ||
    typeof res.json?.message !== "string"
  ) {
    throw new Error(`expected ${status} ${code}, got ${res.status} ${JSON.stringify(res.json)}`);
  }
}

/** An active workflow built from steps (linked in order) with optional extra fields. */
export async function activeWorkflow(
  key: string,
  steps: unknown[],
  extra: Record<string, unknown> = {},
) {
  const res = await call("POST", "/v1/workflows", {
    key,
    body: { name: "Flow", status: "active", steps, ...extra },
  });
  if (res.status !== 201) {
    throw new Error(`workflow create failed: ${res.status} ${res.text}`);
  }
  return res.json as { id: string; steps: { id: string }[]; version: number };
}

export async function poll<T>(
  fn: () => Promise<T>,
  until: (v: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const started = Date.now();
  for (;;) {
    const v = await fn();
    if (until(v)) {
      return v;
    }
    if (Date.now() - started > timeoutMs) {
      throw new Error(`poll timed out; last value: ${JSON.stringify(v)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A logger for calling consumers and the watchdog directly. */
export const testLog = createLogger({ test: true }, "warn");

/** A Svix webhook secret (`whsec_...`) and the headers that sign `body` with it (Resend). */
export async function svixSigner() {
  const secretBytes = crypto.getRandomValues(new Uint8Array(24));
  const b64 = (buf: ArrayBuffer | Uint8Array) => btoa(String.fromCharCode(...new Uint8Array(buf)));
  const key = await crypto.subtle.importKey(
    "raw",
    secretBytes,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return {
    secret: `whsec_${b64(secretBytes)}`,
    async headers(id: string, body: string) {
      const ts = String(Math.floor(Date.now() / 1000));
      const sig = await crypto.subtle.sign(
        "HMAC",
        key,
        new TextEncoder().encode(`${id}.${ts}.${body}`),
      );
      return {
        "content-type": "application/json",
        "svix-id": id,
        "svix-timestamp": ts,
        "svix-signature": `v1,${b64(sig)}`,
      };
    },
  };
}
