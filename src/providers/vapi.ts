// A voice-agent provider for AI callers, Vapi-style (https://docs.vapi.ai/api-reference/calls/create):
// POST /call with the assistant and the customer's number; the end-of-call report posted to
// the assistant's server URL (/inbound/vapi/{connectionId}, authenticated by the shared
// `X-Vapi-Secret`) gives the outcome, duration and summary.
import type { CallOutcome } from "../engine/outreach";
import { timingSafeEqual } from "../security/encoding";
import { refuseUrl } from "../security/ssrf";
import { definePhoneProvider, type PhoneEvent } from "./phone";
import {
  accepted,
  answerOf,
  badSignature,
  failUnlessOk,
  httpSend,
  ProviderError,
} from "./provider";

const DEFAULT_BASE = "https://api.vapi.ai";

/** Vapi's endedReason as an outcome. */
export function vapiOutcome(endedReason: string): CallOutcome {
  const r = endedReason.toLowerCase();
  if (r.includes("voicemail")) {
    return "voicemail";
  }
  if (r.includes("busy")) {
    return "busy";
  }
  if (r.includes("did-not-answer") || r.includes("no-answer")) {
    return "no_answer";
  }
  if (r.includes("error") || r.includes("failed") || r.includes("fault")) {
    return "failed";
  }
  return "answered";
}

interface Report {
  message?: {
    type?: string;
    endedReason?: string;
    durationSeconds?: number;
    summary?: string;
    analysis?: { summary?: string };
    call?: { id?: string; metadata?: { nudgeMessageId?: string } };
  };
}

export default definePhoneProvider({
  name: "vapi",
  channels: ["call"],
  requiredCredentials: ["apiKey", "phoneNumberId", "webhookSecret"],
  refuseCredentials(credentials, env) {
    const why = credentials.baseUrl ? refuseUrl(env, credentials.baseUrl) : null;
    return why ? [{ path: "baseUrl", message: why }] : [];
  },
  async placeCall(call, { credentials, env }) {
    if (!call.agent) {
      throw new Error("A voice-agent call needs `agent.assistantId` in the step");
    }
    const base = (credentials.baseUrl ?? DEFAULT_BASE).replace(/\/+$/, "");
    const refused = credentials.baseUrl ? refuseUrl(env, base) : null;
    if (refused) {
      throw new ProviderError(`Vapi: baseUrl refused: ${refused}`, false);
    }
    const res = await httpSend("Vapi", `${base}/call`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${credentials.apiKey}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({
        assistantId: call.agent.assistantId,
        phoneNumberId: credentials.phoneNumberId,
        customer: { number: call.to },
        assistantOverrides: {
          variableValues: { ...call.variables, ...call.agent.variables },
          ...(call.script ? { firstMessage: call.script } : {}),
          maxDurationSeconds: call.maxDurationSeconds,
          server: { url: call.statusCallback, secret: credentials.webhookSecret },
        },
        metadata: { nudgeMessageId: call.messageId },
      }),
    });
    await failUnlessOk("Vapi", res, (b) => {
      const body = b as { message?: string | string[] } | null;
      return body ? [body.message].flat().join("; ") : undefined;
    });
    return { providerMessageId: (await answerOf<{ id?: string }>("Vapi", res)).id ?? null };
  },
  inbound: {
    async verify({ headers }, credentials) {
      const given = headers.get("x-vapi-secret");
      return given && credentials.webhookSecret && timingSafeEqual(given, credentials.webhookSecret)
        ? accepted
        : badSignature;
    },
    parse({ body }): PhoneEvent[] {
      const m = (JSON.parse(body) as Report).message;
      if (m?.type !== "end-of-call-report") {
        return [{ kind: "ignored" }];
      }
      const id = m.call?.id;
      if (!id) {
        throw new Error("an end-of-call report without a call id");
      }
      const summary = m.summary ?? m.analysis?.summary;
      return [
        {
          kind: "call_ended",
          providerMessageId: id,
          ourMessageId: m.call?.metadata?.nudgeMessageId,
          outcome: vapiOutcome(m.endedReason ?? ""),
          ...(typeof m.durationSeconds === "number"
            ? { durationSeconds: Math.round(m.durationSeconds) }
            : {}),
          ...(summary ? { summary: summary.slice(0, 4000) } : {}),
        },
      ];
    },
  },
});
