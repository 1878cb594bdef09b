// Cloudflare Email Service's contract: the structured message handed to the SEND_EMAIL binding
// (no HTTP request: the binding is the API), what a missing or failing binding means, and the
// operator's sender domains (CLOUDFLARE_SENDER_DOMAINS; "acme.test" in the tests' config).
// https://developers.cloudflare.com/email-routing/email-workers/send-email-workers/
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, expectError, newOrg } from "../../test/helpers/api";
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

describe("Cloudflare Email sender domains", () => {
  const withDomains = (value: string | undefined, run: () => Promise<void>) => async () => {
    const vars = env as { CLOUDFLARE_SENDER_DOMAINS?: string };
    const previous = vars.CLOUDFLARE_SENDER_DOMAINS;
    vars.CLOUDFLARE_SENDER_DOMAINS = value;
    try {
      await run();
    } finally {
      vars.CLOUDFLARE_SENDER_DOMAINS = previous;
    }
  };

  it("refuses, permanently and before the binding, a from outside the operator's domains", async () => {
    const b = binding(async () => ({ messageId: "never" }));
    for (const from of [
      "Boss <boss@operator.test>",
      "hi@mail.acme.test",
      "hi@acme.test.evil.test",
      '"hi@acme.test" <x@evil.test>',
    ]) {
      await expect(cloudflare.send({ ...email, from }, b.ctx)).rejects.toMatchObject({
        retryable: false,
        message: expect.stringContaining("CLOUDFLARE_SENDER_DOMAINS"),
      });
    }
    expect(b.sent).toEqual([]);
    await cloudflare.send({ ...email, from: "Acme <Hi@ACME.test>" }, b.ctx);
    expect(b.sent).toHaveLength(1);
  });

  it(
    "refuses every send while the operator has listed no domains",
    withDomains(undefined, async () => {
      const b = binding(async () => ({ messageId: "never" }));
      await expect(cloudflare.send(email, b.ctx)).rejects.toMatchObject({
        retryable: false,
        message: expect.stringContaining("CLOUDFLARE_SENDER_DOMAINS"),
      });
      expect(b.sent).toEqual([]);
    }),
  );

  it("refuses a connection, or a change of its sender, from outside the operator's domains (422)", async () => {
    const { key } = await newOrg();
    const refused = await call("POST", "/v1/connections", {
      key,
      body: { provider: "cloudflare", key: "cf-evil", credentials: {}, from: "ceo@operator.test" },
    });
    expectError(refused, 422, "validation_failed");
    expect(refused.json.message).toContain("acme.test");
    const ok = await call("POST", "/v1/connections", {
      key,
      body: { provider: "cloudflare", key: "cf-ok", credentials: {}, from: "Acme <hi@acme.test>" },
    });
    expect(ok.status).toBe(201);
    const patched = await call("PATCH", `/v1/connections/${ok.json.id}`, {
      key,
      body: { from: "ceo@operator.test" },
    });
    expectError(patched, 422, "validation_failed");
  });

  it(
    "refuses a cloudflare connection with a 422 naming the var while it is unset",
    withDomains(undefined, async () => {
      const { key } = await newOrg();
      const r = await call("POST", "/v1/connections", {
        key,
        body: { provider: "cloudflare", key: "cf-off", credentials: {} },
      });
      expectError(r, 422, "validation_failed");
      expect(r.json.message).toContain("CLOUDFLARE_SENDER_DOMAINS");
    }),
  );
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
