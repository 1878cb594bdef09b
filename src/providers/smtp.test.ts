// SMTP's contract: the exchange with a relay over cloudflare:sockets (auth, envelope, headers,
// both parts), checked against the SMTP double test/helpers/smtp-double.mjs starts; and what a
// relay that cannot be reached means. SMTP has no webhooks.
import { describe, expect, inject, it } from "vitest";
import { email, localCtx } from "../../test/helpers/providers";
import { PROVIDERS } from ".";

describe("providers against their documented HTTP APIs", () => {
  it("SMTP: speaks to the relay over cloudflare:sockets with auth, envelope, headers and both parts", async () => {
    const [smtpPort, inboxPort] = [
      inject("smtpPort" as never) as number,
      inject("smtpInboxPort" as never) as number,
    ];
    await PROVIDERS.smtp.send(
      email,
      localCtx({
        host: "127.0.0.1",
        port: String(smtpPort),
        startTls: "false",
        username: "relay-user",
        password: "relay-pass",
      }),
    );
    const inbox = (await (await fetch(`http://127.0.0.1:${inboxPort}/`)).json()) as {
      auth: string;
      from: string;
      to: string[];
      data: string;
    }[];
    const got = inbox.at(-1);
    expect(got?.from).toBe("hi@acme.test");
    expect(got?.to).toEqual(["ada@example.com"]);
    expect(got?.auth).toMatch(/^(PLAIN|LOGIN)/);
    expect(got?.data).toMatch(/^Subject: Hello\r$/m);
    expect(got?.data).toContain("List-Unsubscribe: <https://nudge.test/t/u/x>");
    expect(got?.data).toContain("List-Unsubscribe-Post: List-Unsubscribe=One-Click");
    expect(got?.data).toContain("X-Nudge-Message-Id: msg_01TEST");
    expect(got?.data).toContain("text/plain");
    expect(got?.data).toContain("text/html");
  });

  it("SMTP: connection failures are retryable, never silent", async () => {
    await expect(
      PROVIDERS.smtp.send(email, localCtx({ host: "127.0.0.1", port: "1" })),
    ).rejects.toMatchObject({
      retryable: true,
      message: expect.stringMatching(/^SMTP:/),
    });
  });
});
