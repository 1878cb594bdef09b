// The capture provider: with no provider connected, emails, texts and calls are captured
// instead of sent, for development (the API shows them as the outbox, GET /v1/outbox, and
// names this provider "outbox"). A captured call waits for its outcome to be recorded by hand
// (POST /v1/outbox/{id}/outcome), like a payment provider's test mode.

import { capturedIdOf, storeCaptured } from "../db/captured";
import { shardFor } from "../db/shards";
import type { Env } from "../ground/env";
import { definePhoneProvider } from "./phone";
import { defineProvider } from "./provider";

export default defineProvider({
  // The name connections and messages show: part of the API.
  name: "outbox",
  requiredCredentials: [],
  async send(email, { env, orgId }) {
    await storeCaptured(await shardFor(env, orgId), {
      orgId,
      messageId: email.messageId,
      channel: "email",
      to: email.to,
      from: email.from,
      subject: email.subject,
      html: email.html ?? "",
      text: email.text,
      // The Reply-To the provider would be given, shown with the other headers.
      headers: email.replyTo ? { ...email.headers, "Reply-To": email.replyTo } : email.headers,
      createdAt: Date.now(),
    });
    return { providerMessageId: capturedIdOf(email.messageId) };
  },
});

/** A text or a call, captured: `text` holds the SMS body or the call's script. */
async function capturePhone(
  env: Env,
  orgId: string,
  channel: "sms" | "call",
  messageId: string,
  to: string,
  text: string,
  headers: Record<string, string> = {},
) {
  await storeCaptured(await shardFor(env, orgId), {
    orgId,
    messageId,
    channel,
    to,
    from: "outbox",
    subject: "",
    html: "",
    text,
    headers,
    createdAt: Date.now(),
  });
  return { providerMessageId: capturedIdOf(messageId) };
}

export const PHONE_CAPTURE = definePhoneProvider({
  name: "outbox",
  channels: ["sms", "call"],
  requiredCredentials: [],
  sendSms: (sms, { env, orgId }) =>
    capturePhone(env, orgId, "sms", sms.messageId, sms.to, sms.body),
  placeCall: (call, { env, orgId }) =>
    capturePhone(
      env,
      orgId,
      "call",
      call.messageId,
      call.to,
      call.script ?? "",
      call.agent ? { "X-Assistant-Id": call.agent.assistantId } : {},
    ),
});
