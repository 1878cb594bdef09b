// Provider webhooks through the Worker: each provider's signature, redelivered event ids, body
// size, unknown connections.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runWatchdog } from "../../src/watchdog";
import { call, expectError, svixSigner, testLog } from "../helpers/api";
import { DB } from "../helpers/db";
import { certificatePem, rawToDer } from "../helpers/der";
import { message, sentEmail } from "../helpers/edge";

afterEach(() => vi.restoreAllMocks());

const b64 = (buf: ArrayBuffer | Uint8Array) => btoa(String.fromCharCode(...new Uint8Array(buf)));

describe("inbound provider webhooks", () => {
  it("remembers provider event ids for 30 days against redeliveries, then the watchdog forgets them", async () => {
    const day = 86_400_000;
    await DB.prepare(
      "INSERT INTO inbound_events (connection_id, event_id, received_at) VALUES (?, ?, ?), (?, ?, ?)",
    )
      .bind("cxn_prune", "old", Date.now() - 31 * day, "cxn_prune", "recent", Date.now() - 29 * day)
      .run();
    await runWatchdog(env, testLog);
    const left = await DB.prepare(
      "SELECT event_id FROM inbound_events WHERE connection_id = 'cxn_prune'",
    ).all<{ event_id: string }>();
    expect(left.results.map((r) => r.event_id)).toEqual(["recent"]);
  });

  async function withProviderMessage(
    provider: string,
    credentials: Record<string, string>,
    providerMessageId: string,
  ) {
    const s = await sentEmail({
      steps: [{ id: "m", type: "send_email", config: { subject: "Hi", html: "<p>x</p>" } }],
    });
    const conn = (
      await call("POST", "/v1/connections", {
        key: s.key,
        body: { provider, key: `in-${provider}`, credentials },
      })
    ).json;
    await DB.prepare("UPDATE messages SET provider_message_id = ? WHERE id = ?")
      .bind(providerMessageId, s.messageId)
      .run();
    return { ...s, connectionId: conn.id as string };
  }

  async function expectSuppressed(
    s: { key: string; contactId: string; messageId: string },
    status: "bounced" | "complained",
  ) {
    expect((await message(s.key, s.messageId)).status).toBe(status);
    expect((await call("GET", `/v1/contacts/${s.contactId}`, { key: s.key })).json.suppressed).toBe(
      status,
    );
    const events = (await call("GET", `/v1/contacts/${s.contactId}/events`, { key: s.key })).json
      .data;
    expect(events.filter((e: { name: string }) => e.name === `email.${status}`)).toHaveLength(1);
  }

  it("SendGrid: ECDSA-signed events; a forged signature is 401; a repeat is ignored", async () => {
    const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    const spki = (await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer;
    const s = await withProviderMessage(
      "sendgrid",
      { apiKey: "SG.x", webhookVerificationKey: b64(spki) },
      "sg-msg-1",
    );
    const body = JSON.stringify([
      {
        email: "x@y.z",
        event: "bounce",
        type: "bounce",
        reason: "550 5.1.1 user unknown",
        sg_event_id: "sg-ev-1",
        sg_message_id: "sg-msg-1.filter0001",
        timestamp: 1,
      },
    ]);
    const ts = String(Math.floor(Date.now() / 1000));
    const sig = new Uint8Array(
      await crypto.subtle.sign(
        { name: "ECDSA", hash: "SHA-256" },
        pair.privateKey,
        new TextEncoder().encode(ts + body),
      ),
    );
    const headers = {
      "content-type": "application/json",
      "x-twilio-email-event-webhook-timestamp": ts,
      "x-twilio-email-event-webhook-signature": b64(rawToDer(sig)),
    };
    expectError(
      await call("POST", `/inbound/sendgrid/${s.connectionId}`, {
        raw: body.replace("bounce", "delivered"),
        headers,
      }),
      401,
      "unauthorized",
    );
    const ok = await call("POST", `/inbound/sendgrid/${s.connectionId}`, { raw: body, headers });
    expect(ok.json).toEqual({ received: 1, applied: 1 });
    expect(
      (await call("POST", `/inbound/sendgrid/${s.connectionId}`, { raw: body, headers })).json,
    ).toEqual({ received: 1, applied: 0 });
    await expectSuppressed(s, "bounced");
  });

  it("Resend: Svix-signed events", async () => {
    const signer = await svixSigner();
    const s = await withProviderMessage(
      "resend",
      { apiKey: "re_x", webhookSecret: signer.secret },
      "re-msg-1",
    );
    const body = JSON.stringify({
      type: "email.complained",
      created_at: "2026-11-22T00:00:00Z",
      data: { email_id: "re-msg-1" },
    });
    const headers = await signer.headers("msg_svix_1", body);
    expectError(
      await call("POST", `/inbound/resend/${s.connectionId}`, {
        raw: body,
        headers: { ...headers, "svix-signature": "v1,AAAA" },
      }),
      401,
      "unauthorized",
    );
    expect(
      (await call("POST", `/inbound/resend/${s.connectionId}`, { raw: body, headers })).json,
    ).toEqual({ received: 1, applied: 1 });
    await expectSuppressed(s, "complained");
  });

  it("the same provider event id on two orgs' connections applies to each (dedupe is per connection)", async () => {
    const credentials = { serverToken: "t", webhookUsername: "hook", webhookPassword: "pw-123" };
    const a = await withProviderMessage("postmark", credentials, "pm-shared-a");
    const b = await withProviderMessage("postmark", credentials, "pm-shared-b");
    const post = (s: typeof a, messageId: string) =>
      call("POST", `/inbound/postmark/${s.connectionId}`, {
        raw: JSON.stringify({
          RecordType: "Bounce",
          Type: "HardBounce",
          ID: 7,
          MessageID: messageId,
        }),
        headers: {
          "content-type": "application/json",
          authorization: `Basic ${btoa("hook:pw-123")}`,
        },
      });
    expect((await post(a, "pm-shared-a")).json).toEqual({ received: 1, applied: 1 });
    expect((await post(b, "pm-shared-b")).json).toEqual({ received: 1, applied: 1 });
    await expectSuppressed(a, "bounced");
    await expectSuppressed(b, "bounced");
    // Org b's connection cannot reach org a's message, even by its provider id.
    const c = await withProviderMessage("postmark", credentials, "pm-shared-c");
    expect(
      (
        await call("POST", `/inbound/postmark/${b.connectionId}`, {
          raw: JSON.stringify({
            RecordType: "Bounce",
            Type: "HardBounce",
            ID: 8,
            MessageID: "pm-shared-c",
          }),
          headers: {
            "content-type": "application/json",
            authorization: `Basic ${btoa("hook:pw-123")}`,
          },
        })
      ).json,
    ).toEqual({ received: 1, applied: 0 });
    expect((await message(c.key, c.messageId)).status).toBe("sent");
  });

  it("an inbound body over 1 MiB is 413 before any signature work", async () => {
    const s = await withProviderMessage(
      "postmark",
      { serverToken: "t", webhookUsername: "hook", webhookPassword: "pw-123" },
      "pm-big",
    );
    expectError(
      await call("POST", `/inbound/postmark/${s.connectionId}`, {
        raw: `{"pad":"${"x".repeat(1024 * 1024)}"}`,
        headers: {
          "content-type": "application/json",
          authorization: `Basic ${btoa("hook:pw-123")}`,
        },
      }),
      413,
      "payload_too_large",
    );
  });

  it("Postmark: basic auth", async () => {
    const s = await withProviderMessage(
      "postmark",
      { serverToken: "t", webhookUsername: "hook", webhookPassword: "pw-123" },
      "pm-msg-1",
    );
    const body = JSON.stringify({
      RecordType: "Bounce",
      Type: "HardBounce",
      ID: 42,
      MessageID: "pm-msg-1",
      Description: "The server was unable to deliver your message",
    });
    expectError(
      await call("POST", `/inbound/postmark/${s.connectionId}`, {
        raw: body,
        headers: {
          "content-type": "application/json",
          authorization: `Basic ${btoa("hook:wrong")}`,
        },
      }),
      401,
      "unauthorized",
    );
    const ok = await call("POST", `/inbound/postmark/${s.connectionId}`, {
      raw: body,
      headers: {
        "content-type": "application/json",
        authorization: `Basic ${btoa("hook:pw-123")}`,
      },
    });
    expect(ok.json).toEqual({ received: 1, applied: 1 });
    await expectSuppressed(s, "bounced");
  });

  it("Amazon SES via SNS: certificate-signed, subscription confirmed; other topics, stale messages and topic-less connections refused", async () => {
    const pair = (await crypto.subtle.generateKey(
      {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: "SHA-256",
      },
      true,
      ["sign", "verify"],
    )) as CryptoKeyPair;
    const pem = certificatePem(
      (await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer,
    );
    const topic = "arn:aws:sns:eu-west-1:123456789012:ses-events";
    const s = await withProviderMessage(
      "ses",
      { accessKeyId: "a", secretAccessKey: "b", region: "eu-west-1", topicArn: topic },
      "ses-msg-1",
    );
    const certUrl = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem";
    const confirmed: string[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL) => {
      const url = String(input instanceof Request ? input.url : input);
      if (url === certUrl) {
        return new Response(pem);
      }
      confirmed.push(url);
      return new Response("<ConfirmSubscriptionResponse/>");
    });
    const sign = async (m: Record<string, string>) => {
      const fields =
        m.Type === "Notification"
          ? ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
          : ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"];
      const text = fields
        .filter((f) => m[f] !== undefined)
        .map((f) => `${f}\n${m[f]}\n`)
        .join("");
      const sig = await crypto.subtle.sign(
        "RSASSA-PKCS1-v1_5",
        pair.privateKey,
        new TextEncoder().encode(text),
      );
      return JSON.stringify({
        ...m,
        SignatureVersion: "2",
        Signature: b64(sig),
        SigningCertURL: certUrl,
      });
    };
    const base = { Timestamp: new Date().toISOString(), TopicArn: topic };
    const confirm = await sign({
      ...base,
      Type: "SubscriptionConfirmation",
      MessageId: "sns-0",
      Token: "tok",
      Message: "confirm",
      SubscribeURL: "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=tok",
    });
    expect(
      (
        await call("POST", `/inbound/ses/${s.connectionId}`, {
          raw: confirm,
          headers: { "content-type": "text/plain" },
        })
      ).status,
    ).toBe(200);
    expect(confirmed).toEqual([
      "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=tok",
    ]);
    const notification = {
      notificationType: "Bounce",
      bounce: {
        bounceType: "Permanent",
        bouncedRecipients: [{ diagnosticCode: "smtp; 550 user unknown" }],
      },
      mail: { messageId: "ses-msg-1" },
    };
    const good = await sign({
      ...base,
      Type: "Notification",
      MessageId: "sns-1",
      Message: JSON.stringify(notification),
    });
    const tampered = good.replace("Permanent", "Transient");
    expectError(
      await call("POST", `/inbound/ses/${s.connectionId}`, {
        raw: tampered,
        headers: { "content-type": "text/plain" },
      }),
      401,
      "unauthorized",
    );
    const otherTopic = await sign({
      ...base,
      TopicArn: "arn:aws:sns:eu-west-1:999999999999:evil",
      Type: "Notification",
      MessageId: "sns-2",
      Message: JSON.stringify(notification),
    });
    expectError(
      await call("POST", `/inbound/ses/${s.connectionId}`, {
        raw: otherTopic,
        headers: { "content-type": "text/plain" },
      }),
      403,
      "forbidden",
    );
    const stale = await sign({
      ...base,
      Timestamp: new Date(Date.now() - 2 * 3600_000).toISOString(),
      Type: "Notification",
      MessageId: "sns-3",
      Message: JSON.stringify(notification),
    });
    const staleAnswer = await call("POST", `/inbound/ses/${s.connectionId}`, {
      raw: stale,
      headers: { "content-type": "text/plain" },
    });
    expectError(staleAnswer, 401, "unauthorized");
    expect(staleAnswer.json.message).toMatch(/older than an hour/);
    // A connection without a topicArn accepts no SNS message, however well signed.
    const open = (
      await call("POST", "/v1/connections", {
        key: s.key,
        body: {
          provider: "ses",
          key: "ses-no-topic",
          credentials: { accessKeyId: "a", secretAccessKey: "b", region: "eu-west-1" },
        },
      })
    ).json;
    const noTopic = await call("POST", `/inbound/ses/${open.id}`, {
      raw: good,
      headers: { "content-type": "text/plain" },
    });
    expectError(noTopic, 403, "forbidden");
    expect(noTopic.json.message).toMatch(/topicArn/);
    expect(
      (
        await call("POST", `/inbound/ses/${s.connectionId}`, {
          raw: good,
          headers: { "content-type": "text/plain" },
        })
      ).json,
    ).toEqual({
      received: 1,
      applied: 1,
    });
    await expectSuppressed(s, "bounced");
  });

  it("Mailgun: HMAC-signed events; permanent failures bounce, temporary ones do not, complaints complain", async () => {
    const signingKey = "mg-webhook-signing-key-0123";
    const s = await withProviderMessage(
      "mailgun",
      { apiKey: "mg", domain: "mg.acme.test", webhookSigningKey: signingKey },
      "mg-msg-1",
    );
    const hmacHex = async (content: string) => {
      const key = await crypto.subtle.importKey(
        "raw",
        new TextEncoder().encode(signingKey),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      );
      return [
        ...new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(content))),
      ]
        .map((b) => b.toString(16).padStart(2, "0"))
        .join("");
    };
    const post = async (
      eventData: Record<string, unknown>,
      opts: { timestamp?: number; tamper?: boolean } = {},
    ) => {
      const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
      const token = crypto.randomUUID();
      const signature = await hmacHex(`${timestamp}${token}`);
      const body = JSON.stringify({
        signature: {
          timestamp,
          token,
          // A different first digit (replacing it with "0" alone changes nothing 1 time in 16).
          signature: opts.tamper
            ? `${signature[0] === "0" ? "1" : "0"}${signature.slice(1)}`
            : signature,
        },
        "event-data": eventData,
      });
      return call("POST", `/inbound/mailgun/${s.connectionId}`, {
        raw: body,
        headers: { "content-type": "application/json" },
      });
    };
    const event = (id: string, extra: Record<string, unknown>) => ({
      id,
      message: { headers: { "message-id": "<mg-msg-1>" } },
      ...extra,
    });
    expectError(
      await post(event("mg-ev-0", { event: "failed", severity: "permanent" }), { tamper: true }),
      401,
      "unauthorized",
    );
    expectError(
      await post(event("mg-ev-0", { event: "failed", severity: "permanent" }), {
        timestamp: Math.floor(Date.now() / 1000) - 3600,
      }),
      401,
      "unauthorized",
    );
    expect(
      (
        await post(
          event("mg-ev-1", { event: "failed", severity: "temporary", reason: "greylisted" }),
        )
      ).json,
    ).toEqual({ received: 1, applied: 0 });
    expect((await message(s.key, s.messageId)).status).toBe("sent");
    const bounce = await post(
      event("mg-ev-2", {
        event: "failed",
        severity: "permanent",
        "delivery-status": { description: "550 5.1.1 mailbox unavailable" },
      }),
    );
    expect(bounce.json).toEqual({ received: 1, applied: 1 });
    expect((await post(event("mg-ev-2", { event: "failed", severity: "permanent" }))).json).toEqual(
      { received: 1, applied: 0 },
    ); // a repeat
    await expectSuppressed(s, "bounced");
    expect((await message(s.key, s.messageId)).error).toBe("550 5.1.1 mailbox unavailable");
    const other = await withProviderMessage(
      "mailgun",
      { apiKey: "mg", domain: "mg.acme.test", webhookSigningKey: signingKey },
      "mg-msg-2",
    );
    const complaint = JSON.stringify({
      signature: await (async () => {
        const timestamp = String(Math.floor(Date.now() / 1000));
        const token = "tok-complaint";
        return { timestamp, token, signature: await hmacHex(`${timestamp}${token}`) };
      })(),
      "event-data": {
        id: "mg-ev-3",
        event: "complained",
        "user-variables": { nudge_message_id: other.messageId },
      },
    });
    expect(
      (
        await call("POST", `/inbound/mailgun/${other.connectionId}`, {
          raw: complaint,
          headers: { "content-type": "application/json" },
        })
      ).json,
    ).toEqual({
      received: 1,
      applied: 1,
    });
    await expectSuppressed(other, "complained");
  });

  it("Mailgun: a signature's token is taken once — the same signature with another body is refused", async () => {
    const signingKey = "mg-replay-signing-key-0123";
    const s = await withProviderMessage(
      "mailgun",
      { apiKey: "mg", domain: "mg.acme.test", webhookSigningKey: signingKey },
      "mg-replay-1",
    );
    const key = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(signingKey),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const timestamp = String(Math.floor(Date.now() / 1000));
    const token = "a".repeat(50);
    const signature = [
      ...new Uint8Array(
        await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${timestamp}${token}`)),
      ),
    ]
      .map((b) => b.toString(16).padStart(2, "0"))
      .join("");
    const post = (eventData: Record<string, unknown>) =>
      call("POST", `/inbound/mailgun/${s.connectionId}`, {
        raw: JSON.stringify({
          signature: { timestamp, token, signature },
          "event-data": eventData,
        }),
        headers: { "content-type": "application/json" },
      });
    const delivered = await post({
      id: "mg-replay-ev-1",
      event: "delivered",
      message: { headers: { "message-id": "<mg-replay-1>" } },
    });
    expect(delivered.json).toEqual({ received: 1, applied: 1 });
    // Within the 5 minutes the timestamp is fresh, the captured signature carries a bounce.
    expectError(
      await post({
        id: "mg-replay-ev-2",
        event: "failed",
        severity: "permanent",
        message: { headers: { "message-id": "<mg-replay-1>" } },
      }),
      401,
      "unauthorized",
    );
    expect((await message(s.key, s.messageId)).status).toBe("delivered");
    expect((await call("GET", `/v1/contacts/${s.contactId}`, { key: s.key })).json.suppressed).toBe(
      null,
    );
  });

  it("answers 404 for an unknown connection or the wrong provider", async () => {
    const s = await withProviderMessage(
      "postmark",
      { serverToken: "t", webhookUsername: "u", webhookPassword: "p" },
      "pm-x",
    );
    expectError(
      await call("POST", "/inbound/postmark/cxn_nope", {
        raw: "{}",
        headers: { "content-type": "application/json" },
      }),
      404,
      "not_found",
    );
    expectError(
      await call("POST", `/inbound/${"x".repeat(300)}/${s.connectionId}`, {
        raw: "{}",
        headers: { "content-type": "application/json" },
      }),
      404,
      "not_found",
    );
    expectError(
      await call("POST", `/inbound/smtp/${s.connectionId}`, {
        raw: "{}",
        headers: { "content-type": "application/json" },
      }),
      404,
      "not_found",
    );
    expectError(
      await call("POST", `/inbound/resend/${s.connectionId}`, {
        raw: "{}",
        headers: { "content-type": "application/json" },
      }),
      404,
      "not_found",
    );
  });
});
