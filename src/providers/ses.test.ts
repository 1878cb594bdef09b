// Amazon SES's contract: the exact SigV4-signed SendEmail v2 request, and recorded SES
// notifications inside signed SNS messages (the certificate fetched from an SNS host), with the
// subscription handshake.
// https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html
// https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html
// https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { certificatePem } from "../../test/helpers/der";
import {
  b64,
  ctx,
  email,
  headersOf,
  hexOf,
  hmacOf,
  inbound,
  intercept,
  interceptWith,
  json,
} from "../../test/helpers/providers";
import { PROVIDERS } from ".";
import ses from "./ses";

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

const topic = "arn:aws:sns:eu-west-1:123456789012:ses-events";
const credentials = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  region: "eu-west-1",
  topicArn: topic,
};
// A certificate URL of this file's own: the module caches keys by URL.
const certUrl = `https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-${crypto.randomUUID()}.pem`;
let pair: CryptoKeyPair;
let pem: string;

beforeAll(async () => {
  pair = (await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  pem = certificatePem((await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer);
});

/** Serves the certificate from the SNS host; any other URL (a SubscribeURL) answers 200. */
const snsHost = () =>
  interceptWith((r) =>
    r.url === certUrl ? new Response(pem) : new Response("<ConfirmSubscriptionResponse/>"),
  );

/** An SNS message signed as SNS signs it (SignatureVersion 2: SHA256withRSA over the canonical fields). */
async function signed(m: Record<string, string>, version: "1" | "2" = "2") {
  const fields =
    m.Type === "Notification"
      ? ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
      : ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"];
  const text = fields
    .filter((f) => m[f] !== undefined)
    .map((f) => `${f}\n${m[f]}\n`)
    .join("");
  const key =
    version === "2"
      ? pair.privateKey
      : await crypto.subtle.importKey(
          "pkcs8",
          await crypto.subtle.exportKey("pkcs8", pair.privateKey),
          { name: "RSASSA-PKCS1-v1_5", hash: "SHA-1" },
          false,
          ["sign"],
        );
  const sig = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, new TextEncoder().encode(text));
  return JSON.stringify({
    ...m,
    SignatureVersion: version,
    Signature: b64(sig),
    SigningCertURL: certUrl,
    UnsubscribeURL: `https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${topic}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55`,
  });
}

/**
 * The SigV4 signature of this POST at 2026-12-03T10:00:00Z, computed here from AWS's
 * specification (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html)
 * rather than by the library the module uses.
 */
async function sigV4(body: string) {
  const sha256 = async (s: string) =>
    hexOf(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s))));
  const canonical = [
    "POST",
    "/v2/email/outbound-emails",
    "",
    "host:email.eu-west-1.amazonaws.com",
    "x-amz-date:20261203T100000Z",
    "",
    "host;x-amz-date",
    await sha256(body),
  ].join("\n");
  const scope = "20261203/eu-west-1/ses/aws4_request";
  const toSign = ["AWS4-HMAC-SHA256", "20261203T100000Z", scope, await sha256(canonical)].join(
    "\n",
  );
  let key: Uint8Array = new TextEncoder().encode(`AWS4${credentials.secretAccessKey}`);
  for (const part of ["20261203", "eu-west-1", "ses", "aws4_request"]) {
    key = await hmacOf("SHA-256", key, part);
  }
  return hexOf(await hmacOf("SHA-256", key, toSign));
}

/** SES's documented bounce notification, tagged with our message id. */
const bounceNotification = {
  notificationType: "Bounce",
  bounce: {
    feedbackId: "000001378603177f-7a5433e7-8edb-42ae-af10-f0181f34d6ee-000000",
    bounceType: "Permanent",
    bounceSubType: "General",
    bouncedRecipients: [
      {
        emailAddress: "jane@example.com",
        action: "failed",
        status: "5.1.1",
        diagnosticCode: "smtp; 550 5.1.1 user unknown",
      },
    ],
    timestamp: "2016-01-27T14:59:38.237Z",
    remoteMtaIp: "127.0.2.0",
    reportingMTA: "dsn; a8-70.smtp-out.amazonses.com",
  },
  mail: {
    timestamp: "2016-01-27T14:59:38.237Z",
    source: "john@example.com",
    sourceArn: "arn:aws:ses:us-east-1:888888888888:identity/example.com",
    sourceIp: "127.0.3.0",
    sendingAccountId: "123456789012",
    callerIdentity: "IAM_user_or_role_name",
    messageId: "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000",
    destination: ["jane@example.com"],
    headersTruncated: false,
    tags: { nudge_message_id: ["msg_01TEST"] },
  },
};

const notification = (message: object, id = "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324") => ({
  Type: "Notification",
  MessageId: id,
  TopicArn: topic,
  Message: JSON.stringify(message),
  Timestamp: new Date().toISOString(),
});

describe("SES sends", () => {
  it("POSTs SendEmail v2 to the region's endpoint, SigV4-signed, our id as an email tag", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.parse("2026-12-03T10:00:00Z"));
    const requests = interceptWith(() => json({ MessageId: "0102018c-ses-message-id" }));
    expect(
      await ses.send(email, {
        env,
        orgId: "org_1",
        credentials: { ...credentials, configurationSet: "nudge-events" },
      }),
    ).toEqual({ providerMessageId: "0102018c-ses-message-id" });
    expect(requests).toHaveLength(1);
    const r = requests[0];
    expect([r.method, r.url]).toEqual([
      "POST",
      "https://email.eu-west-1.amazonaws.com/v2/email/outbound-emails",
    ]);
    const body = await r.clone().text();
    expect(headersOf(r)).toEqual({
      authorization: `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261203/eu-west-1/ses/aws4_request, SignedHeaders=host;x-amz-date, Signature=${await sigV4(body)}`,
      "content-type": "application/json",
      "x-amz-date": "20261203T100000Z",
    });
    expect(await r.json()).toEqual({
      FromEmailAddress: "Acme <hi@acme.test>",
      Destination: { ToAddresses: ["ada@example.com"] },
      ReplyToAddresses: ["support@acme.test"],
      Content: {
        Simple: {
          Subject: { Data: "Hello", Charset: "UTF-8" },
          Body: {
            Html: { Data: "<p>Hello</p>", Charset: "UTF-8" },
            Text: { Data: "Hello", Charset: "UTF-8" },
          },
          Headers: [
            { Name: "List-Unsubscribe", Value: "<https://nudge.test/t/u/x>" },
            { Name: "List-Unsubscribe-Post", Value: "List-Unsubscribe=One-Click" },
          ],
        },
      },
      EmailTags: [{ Name: "nudge_message_id", Value: "msg_01TEST" }],
      ConfigurationSetName: "nudge-events",
    });
  });
});

describe("SES notifications through SNS", () => {
  it("verifies a signed Notification and reads a permanent bounce with its diagnostic code", async () => {
    const requests = snsHost();
    const req = inbound(await signed(notification(bounceNotification)), {
      "content-type": "text/plain; charset=UTF-8",
      "x-amz-sns-message-type": "Notification",
    });
    expect(await ses.inbound?.verify(req, credentials)).toEqual({ ok: true });
    expect(requests.map((r) => r.url)).toEqual([certUrl]);
    expect(ses.inbound?.parse(req)).toEqual([
      {
        eventId: "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        kind: "bounced",
        providerMessageId: "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000",
        ourMessageId: "msg_01TEST",
        reason: "smtp; 550 5.1.1 user unknown",
      },
    ]);
  });

  it("verifies SignatureVersion 1 (SHA1withRSA) too", async () => {
    snsHost();
    const req = inbound(await signed(notification(bounceNotification), "1"));
    expect(await ses.inbound?.verify(req, credentials)).toEqual({ ok: true });
  });

  it("reads a transient bounce as nothing to act on, and complaints and deliveries (event publishing) as such", () => {
    const parse = (m: object) => ses.inbound?.parse(inbound(JSON.stringify(notification(m))))[0];
    expect(
      parse({
        ...bounceNotification,
        bounce: {
          ...bounceNotification.bounce,
          bounceType: "Transient",
          bounceSubType: "MailboxFull",
        },
      }),
    ).toMatchObject({ kind: "ignored" });
    expect(
      parse({
        eventType: "Complaint",
        complaint: {
          feedbackId: "0000013786031775-163e3910-53eb-4c8e-a04a-f29debf88a84-000000",
          complaintSubType: null,
          complainedRecipients: [{ emailAddress: "jane@example.com" }],
          timestamp: "2016-01-27T14:59:38.237Z",
          userAgent: "AnyCompany Feedback Loop (V0.01)",
          complaintFeedbackType: "abuse",
        },
        mail: bounceNotification.mail,
      }),
    ).toEqual({
      eventId: "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
      kind: "complained",
      providerMessageId: "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000",
      ourMessageId: "msg_01TEST",
      reason: undefined,
    });
    expect(
      parse({
        eventType: "Delivery",
        delivery: {
          timestamp: "2016-01-27T14:59:38.237Z",
          processingTimeMillis: 546,
          recipients: ["jane@example.com"],
          smtpResponse: "250 ok:  Message 64111812 accepted",
          reportingMTA: "a8-70.smtp-out.amazonses.com",
        },
        mail: bounceNotification.mail,
      }),
    ).toMatchObject({ kind: "delivered", ourMessageId: "msg_01TEST" });
  });

  it("refuses an altered message, another topic, a stale message, a foreign certificate host and a topic-less connection", async () => {
    snsHost();
    const good = await signed(notification(bounceNotification));
    const refused = { ok: false, status: 401, reason: "Invalid signature" };
    expect(
      await ses.inbound?.verify(inbound(good.replace("Permanent", "Transient")), credentials),
    ).toEqual(refused);
    expect(
      await ses.inbound?.verify(
        inbound(await signed({ ...notification(bounceNotification), TopicArn: `${topic}-other` })),
        credentials,
      ),
    ).toMatchObject({ ok: false, status: 403 });
    const old = new Date(Date.now() - 2 * 3_600_000).toISOString();
    expect(
      await ses.inbound?.verify(
        inbound(await signed({ ...notification(bounceNotification), Timestamp: old })),
        credentials,
      ),
    ).toEqual({ ok: false, status: 401, reason: "The SNS message is older than an hour" });
    const foreignCert = good.replace(
      JSON.stringify(certUrl),
      JSON.stringify("https://evil.test/SimpleNotificationService-x.pem"),
    );
    expect(await ses.inbound?.verify(inbound(foreignCert), credentials)).toEqual(refused);
    const { topicArn: _, ...topicless } = credentials;
    expect(await ses.inbound?.verify(inbound(good), topicless)).toMatchObject({
      ok: false,
      status: 403,
    });
  });

  it("confirms a subscription by visiting its SubscribeURL on an SNS host, and only there", async () => {
    const requests = snsHost();
    const subscribeUrl = `https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${topic}&Token=2336412f37fb687f5d51e6e2425c464de`;
    const confirmation = {
      Type: "SubscriptionConfirmation",
      MessageId: "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
      Token: "2336412f37fb687f5d51e6e2425c464de",
      TopicArn: topic,
      Message: `You have chosen to subscribe to the topic ${topic}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
      SubscribeURL: subscribeUrl,
      Timestamp: new Date().toISOString(),
    };
    const req = inbound(await signed(confirmation));
    expect(await ses.inbound?.verify(req, credentials)).toEqual({ ok: true });
    expect(await ses.inbound?.handshake?.(req, credentials)).toBe(true);
    expect(requests.map((r) => r.url)).toContain(subscribeUrl);
    expect(ses.inbound?.parse(req)).toEqual([]);
    const elsewhere = inbound(
      JSON.stringify({
        ...confirmation,
        SubscribeURL: "https://evil.test/?Action=ConfirmSubscription",
      }),
    );
    expect(await ses.inbound?.handshake?.(elsewhere, credentials)).toBe(false);
    // A notification is no handshake.
    expect(
      await ses.inbound?.handshake?.(
        inbound(JSON.stringify(notification(bounceNotification))),
        credentials,
      ),
    ).toBe(false);
  });
});

describe("providers against their documented HTTP APIs", () => {
  it("Amazon SES v2: SigV4-signed POST /v2/email/outbound-emails", async () => {
    const { requests, spy } = intercept(json({ MessageId: "ses-1" }));
    expect(
      (
        await PROVIDERS.ses.send(
          email,
          ctx({ accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret", region: "eu-west-1" }),
        )
      ).providerMessageId,
    ).toBe("ses-1");
    expect(spy).toHaveBeenCalledTimes(1);
    const r = requests[0];
    expect(r.url).toBe("https://email.eu-west-1.amazonaws.com/v2/email/outbound-emails");
    expect(r.headers.get("authorization")).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/ses\/aws4_request, SignedHeaders=.*, Signature=[0-9a-f]{64}$/,
    );
    expect(r.headers.get("x-amz-date")).toMatch(/^\d{8}T\d{6}Z$/);
    const body = await r.json<Record<string, any>>();
    expect(body).toMatchObject({
      FromEmailAddress: email.from,
      Destination: { ToAddresses: ["ada@example.com"] },
      ReplyToAddresses: ["support@acme.test"],
    });
    expect(body.Content.Simple.Subject.Data).toBe("Hello");
    expect(body.Content.Simple.Body.Html.Data).toBe("<p>Hello</p>");
    vi.restoreAllMocks();
    const fail = intercept(json({ message: "Maximum sending rate exceeded." }, 429));
    await expect(
      PROVIDERS.ses.send(
        email,
        ctx({ accessKeyId: "a", secretAccessKey: "b", region: "us-east-1" }),
      ),
    ).rejects.toMatchObject({ retryable: true });
    expect(fail.spy).toHaveBeenCalledTimes(1); // aws4fetch's own retries are off
  });
});
