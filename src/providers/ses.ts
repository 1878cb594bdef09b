// Amazon SES v2: https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html —
// SigV4-signed with aws4fetch (its own retries off). Events arrive through SNS, whose messages
// are signed with a certificate from an SNS host.
import { AwsClient } from "aws4fetch";
import { pemToDer, spkiFromCertificate } from "../security/der";
import { fromBase64, utf8 } from "../security/encoding";
import { RESPONSE_CAPS, textCapped } from "../security/read-capped";
import { SES_REGION } from "../security/ssrf";
import {
  accepted,
  answerOf,
  badSignature,
  type DeliveryEvent,
  defineProvider,
  failUnlessOk,
  headerList,
  httpSend,
  ProviderError,
} from "./provider";

type Json = Record<string, unknown>;

interface SnsMessage {
  Type: string;
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp: string;
  Subject?: string;
  Token?: string;
  SubscribeURL?: string;
  SignatureVersion: string;
  Signature: string;
  SigningCertURL: string;
}

const SNS_HOST = /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;
/** SNS messages older than this are refused (a replay). */
const MAX_AGE_MS = 3_600_000;
const certKeys = new Map<string, Promise<CryptoKey>>();

function stringToSign(m: SnsMessage) {
  const fields =
    m.Type === "Notification"
      ? ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
      : ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"];
  return fields
    .filter((f) => m[f as keyof SnsMessage] !== undefined)
    .map((f) => `${f}\n${m[f as keyof SnsMessage]}\n`)
    .join("");
}

async function certificateKey(url: string, hash: "SHA-1" | "SHA-256") {
  const id = `${hash} ${url}`;
  let k = certKeys.get(id);
  if (!k) {
    k = (async () => {
      const res = await fetch(url);
      if (!res.ok) {
        throw new Error(`certificate fetch failed: ${res.status}`);
      }
      const spki = spkiFromCertificate(pemToDer(await textCapped(res, RESPONSE_CAPS.provider)));
      return crypto.subtle.importKey("spki", spki, { name: "RSASSA-PKCS1-v1_5", hash }, false, [
        "verify",
      ]);
    })();
    certKeys.set(id, k);
    k.catch(() => certKeys.delete(id));
  }
  return k;
}

function readSns(body: string): SnsMessage | null {
  try {
    return JSON.parse(body) as SnsMessage;
  } catch {
    return null;
  }
}

export default defineProvider({
  name: "ses",
  requiredCredentials: ["accessKeyId", "secretAccessKey", "region"],
  // The region becomes part of the endpoint's host name: only a region's shape may pass.
  refuseCredentials: (credentials) =>
    credentials.region !== undefined && !SES_REGION.test(credentials.region)
      ? [{ path: "region", message: "Must be an AWS region such as us-east-1" }]
      : [],
  async send(email, { credentials }) {
    if (!SES_REGION.test(credentials.region)) {
      throw new ProviderError("SES: the region is not an AWS region", false);
    }
    const aws = new AwsClient({
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      region: credentials.region,
      service: "ses",
      retries: 0,
    });
    const url = `https://email.${credentials.region}.amazonaws.com/v2/email/outbound-emails`;
    const body = JSON.stringify({
      FromEmailAddress: email.from,
      Destination: { ToAddresses: [email.to] },
      ...(email.replyTo ? { ReplyToAddresses: [email.replyTo] } : {}),
      Content: {
        Simple: {
          Subject: { Data: email.subject, Charset: "UTF-8" },
          Body: {
            ...(email.html !== null ? { Html: { Data: email.html, Charset: "UTF-8" } } : {}),
            Text: { Data: email.text, Charset: "UTF-8" },
          },
          Headers: headerList(email.headers),
        },
      },
      EmailTags: [{ Name: "nudge_message_id", Value: email.messageId }],
      ...(credentials.configurationSet
        ? { ConfigurationSetName: credentials.configurationSet }
        : {}),
    });
    let signed: Request;
    try {
      signed = await aws.sign(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
    } catch (err) {
      throw new Error(`SES request signing failed: ${String(err)}`);
    }
    const res = await httpSend("SES", signed.url, {
      method: "POST",
      headers: signed.headers,
      body,
    });
    await failUnlessOk("SES", res, (b) => (b as Json | null)?.message as string | undefined);
    return {
      providerMessageId: (await answerOf<{ MessageId?: string }>("SES", res)).MessageId ?? null,
    };
  },
  inbound: {
    async verify({ body }, credentials) {
      // A connection takes SNS messages only from the topic it names: none named, none taken.
      if (!credentials.topicArn) {
        return {
          ok: false,
          status: 403,
          reason: "Set this connection's credentials.topicArn before SNS messages are accepted",
        };
      }
      const m = readSns(body);
      if (!m) {
        return badSignature;
      }
      let certUrl: URL;
      try {
        certUrl = new URL(m.SigningCertURL);
      } catch {
        return badSignature;
      }
      if (
        certUrl.protocol !== "https:" ||
        !SNS_HOST.test(certUrl.hostname) ||
        !certUrl.pathname.endsWith(".pem")
      ) {
        return badSignature;
      }
      if (m.SignatureVersion !== "1" && m.SignatureVersion !== "2") {
        return badSignature;
      }
      const key = await certificateKey(
        certUrl.toString(),
        m.SignatureVersion === "1" ? "SHA-1" : "SHA-256",
      );
      if (
        !(await crypto.subtle.verify(
          "RSASSA-PKCS1-v1_5",
          key,
          fromBase64(m.Signature),
          utf8(stringToSign(m)),
        ))
      ) {
        return badSignature;
      }
      const sent = Date.parse(m.Timestamp);
      if (!Number.isFinite(sent) || Date.now() - sent > MAX_AGE_MS) {
        return { ok: false, status: 401, reason: "The SNS message is older than an hour" };
      }
      if (m.TopicArn !== credentials.topicArn) {
        return {
          ok: false,
          status: 403,
          reason: "The SNS message comes from another topic than this connection's",
        };
      }
      return accepted;
    },
    async handshake({ body }) {
      const m = readSns(body);
      if (m?.Type !== "SubscriptionConfirmation" || !m.SubscribeURL) {
        return false;
      }
      const url = new URL(m.SubscribeURL);
      if (url.protocol !== "https:" || !SNS_HOST.test(url.hostname)) {
        return false;
      }
      const res = await fetch(url.toString());
      await res.body?.cancel();
      return res.ok;
    },
    parse({ body }): DeliveryEvent[] {
      const m = JSON.parse(body) as SnsMessage;
      if (m.Type !== "Notification") {
        return [];
      }
      const n = JSON.parse(m.Message) as {
        notificationType?: string;
        eventType?: string;
        mail?: { messageId?: string; tags?: Record<string, string[]> };
        bounce?: { bounceType?: string; bouncedRecipients?: { diagnosticCode?: string }[] };
      };
      const type = n.notificationType ?? n.eventType;
      const kind =
        type === "Bounce"
          ? n.bounce?.bounceType === "Permanent"
            ? "bounced"
            : "ignored"
          : type === "Complaint"
            ? "complained"
            : type === "Delivery"
              ? "delivered"
              : "ignored";
      return [
        {
          eventId: m.MessageId,
          kind,
          providerMessageId: n.mail?.messageId,
          ourMessageId: n.mail?.tags?.nudge_message_id?.[0],
          reason: n.bounce?.bouncedRecipients?.[0]?.diagnosticCode,
        },
      ];
    },
  },
});
