// Cloudflare Email Service's contract: the structured message handed to the SEND_EMAIL binding
// (no HTTP request: the binding is the API), and what a missing or failing binding means.
// https://developers.cloudflare.com/email-routing/email-workers/send-email-workers/
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { email } from "../../test/helpers/providers";
import { PROVIDERS } from ".";
import cloudflare from "./cloudflare";

/** A SEND_EMAIL binding that records what it is given and answers like the real one. */
function binding(answer: () => Promise<{ messageId?: string }>) {
  const sent: unknown[] = [];
  const SEND_EMAIL = {
    send: async (m: unknown) => {
      sent.push(m);
      return answer();
    },
  } as unknown as SendEmail;
  return { sent, ctx: { env: { ...env, SEND_EMAIL }, orgId: "org_1", credentials: {} } };
}

describe("Cloudflare Email sends", () => {
  it("gives the binding the message as fields: both parts, headers and Reply-To", async () => {
    const b = binding(async () => ({ messageId: "<0100019a.cf@acme.test>" }));
    expect(await cloudflare.send(email, b.ctx)).toEqual({
      providerMessageId: "<0100019a.cf@acme.test>",
    });
    expect(b.sent).toEqual([
      {
        from: "Acme <hi@acme.test>",
        to: "ada@example.com",
        subject: "Hello",
        html: "<p>Hello</p>",
        text: "Hello",
        headers: {
          "List-Unsubscribe": "<https://nudge.test/t/u/x>",
          "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        replyTo: "support@acme.test",
      },
    ]);
  });

  it("sends a text-only email without an html field", async () => {
    const b = binding(async () => ({}));
    expect(await cloudflare.send({ ...email, html: null, replyTo: null }, b.ctx)).toEqual({
      providerMessageId: null,
    });
    expect(b.sent[0]).not.toHaveProperty("html");
    expect(b.sent[0]).not.toHaveProperty("replyTo");
  });

  it("fails permanently without the binding, and retryably when the binding throws", async () => {
    await expect(
      cloudflare.send(email, {
        env: { ...env, SEND_EMAIL: undefined },
        orgId: "org_1",
        credentials: {},
      }),
    ).rejects.toMatchObject({
      retryable: false,
      message: "The SEND_EMAIL binding is not configured",
    });
    const b = binding(async () => {
      throw new Error("destination address is not verified");
    });
    await expect(cloudflare.send(email, b.ctx)).rejects.toMatchObject({
      retryable: true,
      message: "Cloudflare send_email: Error: destination address is not verified",
    });
  });
});

describe("providers against their documented HTTP APIs", () => {
  it("Cloudflare Email: the send_email binding gets the structured message", async () => {
    const sent: unknown[] = [];
    const binding = {
      send: async (m: unknown) => {
        sent.push(m);
        return { messageId: "cf-1" };
      },
    };
    const out = await PROVIDERS.cloudflare.send(email, {
      env: { ...env, SEND_EMAIL: binding as unknown as SendEmail },
      orgId: "org_1",
      credentials: {},
    });
    expect(out.providerMessageId).toBe("cf-1");
    expect(sent[0]).toMatchObject({
      from: email.from,
      to: "ada@example.com",
      subject: "Hello",
      html: "<p>Hello</p>",
      text: "Hello",
      headers: email.headers,
      replyTo: "support@acme.test",
    });
  });
});
