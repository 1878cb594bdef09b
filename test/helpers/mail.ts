// Received mail in tests: a raw RFC 5322 message, and its delivery to the Worker's email()
// handler as Email Routing would deliver it.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/index";

/** A raw RFC 5322 message. */
export function raw(
  h: Record<string, string>,
  body: string,
  contentType = "text/plain; charset=utf-8",
) {
  const head = Object.entries({
    Date: new Date().toUTCString(),
    "Message-ID": `<${crypto.randomUUID()}@mail.example>`,
    "MIME-Version": "1.0",
    "Content-Type": contentType,
    ...h,
  })
    .map(([k, v]) => `${k}: ${v}`)
    .join("\r\n");
  return `${head}\r\n\r\n${body.replace(/\n/g, "\r\n")}`;
}

/** Delivers a raw message to the Worker's email() handler; returns where it was forwarded. */
export async function deliver(from: string, to: string, message: string) {
  const bytes = new TextEncoder().encode(message);
  const forwarded: string[] = [];
  const msg = {
    from,
    to,
    raw: new Response(bytes).body as ReadableStream,
    rawSize: bytes.length,
    headers: new Headers(),
    setReject: (reason: string) => {
      throw new Error(`rejected: ${reason}`);
    },
    forward: async (rcpt: string) => {
      forwarded.push(rcpt);
    },
    reply: async () => {},
  } as unknown as ForwardableEmailMessage;
  const ctx = createExecutionContext();
  await worker.email(msg, env, ctx);
  await waitOnExecutionContext(ctx);
  return forwarded;
}
