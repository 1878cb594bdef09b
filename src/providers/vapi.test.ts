// Vapi's contract: the exact POST /call a voice-agent step makes, and a recorded end-of-call
// report (authenticated by the shared X-Vapi-Secret) read as the call's outcome.
// https://docs.vapi.ai/api-reference/calls/create · https://docs.vapi.ai/server-url/end-of-call-report
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { headersOf, inbound, interceptWith, json } from "../../test/helpers/providers";
import vapi from "./vapi";

afterEach(() => vi.restoreAllMocks());

const credentials = {
  apiKey: "vapi-private-key",
  phoneNumberId: "a8f7e6d5-0000-4000-8000-000000000001",
  webhookSecret: "vapi-shared-secret",
};
const callback = "https://nudge.test/inbound/vapi/con_01VAPI";

/** An end-of-call report as Vapi posts it to the assistant's server URL. */
const report = (endedReason: string) =>
  JSON.stringify({
    message: {
      timestamp: 1764756000000,
      type: "end-of-call-report",
      endedReason,
      call: {
        id: "2b5f3a9e-6c1d-4e8f-9a7b-3c2d1e0f4a5b",
        orgId: "6f1c0e2a-0000-4000-8000-000000000002",
        type: "outboundPhoneCall",
        status: "ended",
        metadata: { nudgeMessageId: "msg_01CALL" },
      },
      recordingUrl: "https://storage.vapi.ai/2b5f3a9e-recording.wav",
      summary: "Ada asked for a demo next Tuesday.",
      transcript: "AI: Hello Ada, this is Acme.\nUser: Hi, I'd like a demo next Tuesday.\n",
      messages: [],
      analysis: { summary: "Ada asked for a demo next Tuesday.", successEvaluation: "true" },
      startedAt: "2026-12-03T09:59:17.000Z",
      endedAt: "2026-12-03T10:00:00.000Z",
      cost: 0.12,
      durationMs: 42_600,
      durationSeconds: 42.6,
      durationMinutes: 0.71,
    },
  });

describe("Vapi places calls", () => {
  it("POSTs /call with the assistant, the number, the variables and this connection's server URL", async () => {
    const requests = interceptWith(() =>
      json(
        { id: "2b5f3a9e-6c1d-4e8f-9a7b-3c2d1e0f4a5b", status: "queued", type: "outboundPhoneCall" },
        201,
      ),
    );
    const out = await vapi.placeCall?.(
      {
        messageId: "msg_01CALL",
        to: "+15558675310",
        script: "Hi Ada, it's Acme.",
        agent: { assistantId: "asst_123", variables: { product: "Nudge" } },
        maxDurationSeconds: 300,
        machineDetection: false,
        statusCallback: callback,
        variables: { firstName: "Ada", product: "overridden by the step" },
      },
      { env, orgId: "org_1", credentials },
    );
    expect(out).toEqual({ providerMessageId: "2b5f3a9e-6c1d-4e8f-9a7b-3c2d1e0f4a5b" });
    expect(requests).toHaveLength(1);
    const r = requests[0];
    expect([r.method, r.url]).toEqual(["POST", "https://api.vapi.ai/call"]);
    expect(headersOf(r)).toEqual({
      authorization: "Bearer vapi-private-key",
      "content-type": "application/json",
    });
    expect(await r.json()).toEqual({
      assistantId: "asst_123",
      phoneNumberId: "a8f7e6d5-0000-4000-8000-000000000001",
      customer: { number: "+15558675310" },
      assistantOverrides: {
        variableValues: { firstName: "Ada", product: "Nudge" },
        firstMessage: "Hi Ada, it's Acme.",
        maxDurationSeconds: 300,
        server: { url: callback, secret: "vapi-shared-secret" },
      },
      metadata: { nudgeMessageId: "msg_01CALL" },
    });
  });
});

describe("Vapi's end-of-call report", () => {
  it("accepts the shared X-Vapi-Secret and nothing else", async () => {
    const body = report("customer-ended-call");
    expect(
      await vapi.inbound?.verify(
        { ...inbound(body, { "x-vapi-secret": "vapi-shared-secret" }), url: callback },
        credentials,
      ),
    ).toEqual({ ok: true });
    const wrong: Record<string, string>[] = [{ "x-vapi-secret": "vapi-shared-secreT" }, {}];
    for (const headers of wrong) {
      expect(
        await vapi.inbound?.verify({ ...inbound(body, headers), url: callback }, credentials),
      ).toEqual({ ok: false, status: 401, reason: "Invalid signature" });
    }
  });

  it("reads the outcome, whole seconds and the summary, keyed by the call and our message", () => {
    expect(vapi.inbound?.parse(inbound(report("customer-ended-call")))).toEqual([
      {
        kind: "call_ended",
        providerMessageId: "2b5f3a9e-6c1d-4e8f-9a7b-3c2d1e0f4a5b",
        ourMessageId: "msg_01CALL",
        outcome: "answered",
        durationSeconds: 43,
        summary: "Ada asked for a demo next Tuesday.",
      },
    ]);
  });

  it("maps Vapi's ended reasons to outcomes", () => {
    const outcome = (reason: string) => {
      const [e] = vapi.inbound?.parse(inbound(report(reason))) ?? [];
      return e?.kind === "call_ended" ? e.outcome : e?.kind;
    };
    expect(
      [
        "voicemail",
        "customer-busy",
        "customer-did-not-answer",
        "twilio-failed-to-connect-call",
        "pipeline-error-openai-llm-failed",
        "assistant-ended-call",
      ].map(outcome),
    ).toEqual(["voicemail", "busy", "no_answer", "failed", "failed", "answered"]);
  });

  it("ignores the other server messages (status updates, transcripts)", () => {
    const update = JSON.stringify({
      message: {
        type: "status-update",
        status: "in-progress",
        call: { id: "2b5f3a9e-6c1d-4e8f-9a7b-3c2d1e0f4a5b" },
      },
    });
    expect(vapi.inbound?.parse(inbound(update))).toEqual([{ kind: "ignored" }]);
  });
});
