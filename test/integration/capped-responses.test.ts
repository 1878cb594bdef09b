import { afterEach, describe, expect, it, vi } from "vitest";
import { answerOf, failUnlessOk, ProviderError } from "../../src/providers/provider";
import { RESPONSE_CAPS, readCapped, textCapped } from "../../src/security/read-capped";
import { templateAgent } from "../helpers/agents";
import { call, newOrg, poll } from "../helpers/api";
import { DB } from "../helpers/db";

afterEach(() => vi.restoreAllMocks());

const CHUNK = 64 * 1024;
const HUGE = 32 * 1024 * 1024;

/** A 32 MiB body produced on demand; `pulled()` says how much of it was asked for. */
function hugeBody(status = 200) {
  let pulled = 0;
  let cancelled = false;
  const chunk = new TextEncoder().encode("x".repeat(CHUNK));
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (pulled >= HUGE) {
          controller.close();
          return;
        }
        pulled += CHUNK;
        controller.enqueue(chunk);
      },
      cancel() {
        cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return {
    res: new Response(body, { status, headers: { "content-type": "application/json" } }),
    pulled: () => pulled,
    cancelled: () => cancelled,
  };
}

/** Serves the huge body to requests for `host`; anything else (the org's webhooks) gets "ok". */
function serveHuge(host: string) {
  const served: ReturnType<typeof hugeBody>[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const req = new Request(input as RequestInfo, init);
    if (!req.url.startsWith(host)) {
      return new Response("ok");
    }
    const h = hugeBody();
    served.push(h);
    return h.res;
  });
  return served;
}

const finished = (key: string, agentId: string, id: string) =>
  poll(
    () => call("GET", `/v1/agents/${agentId}/executions/${id}`, { key }),
    (r) => ["succeeded", "failed", "cancelled"].includes(r.json?.status),
    20_000,
  ).then((r) => r.json);

/** Pulled no further than the cap and what one read may overshoot it by. */
const nearCap = (pulled: number, cap: number) => {
  expect(pulled).toBeGreaterThanOrEqual(cap);
  expect(pulled).toBeLessThanOrEqual(cap + 4 * CHUNK);
};

describe("answers are read up to a cap", () => {
  it("a code agent's endless answer is cut at 1 MB and the execution fails saying so", async () => {
    const { key } = await newOrg();
    const agent = await call("POST", "/v1/agents", {
      key,
      body: { name: "Flood", type: "code", endpoint: "https://code.test/run" },
    });
    expect(agent.status, agent.text).toBe(201);
    const served = serveHuge("https://code.test");
    const x = await call("POST", `/v1/agents/${agent.json.id}/execute`, {
      key,
      body: { input: {} },
    });
    const done = await finished(key, agent.json.id, x.json.id);
    expect(done.status).toBe("failed");
    expect(done.error.code).toBe("endpoint_error");
    expect(done.error.message).toContain("the answer exceeds");
    // Too large is not retried: one call, its stream cancelled near the cap.
    expect(served).toHaveLength(1);
    nearCap(served[0].pulled(), RESPONSE_CAPS.agent);
    expect(served[0].cancelled()).toBe(true);
  });

  it("an LLM base URL's endless answer is cut at 1 MiB and the execution fails with llm_error", async () => {
    const { key } = await newOrg();
    const agent = await templateAgent(key, {
      template: {
        prompt: "Qualify {{ input.message }}",
        outputSchema: { type: "object", properties: { ok: { type: "boolean" } } },
        model: undefined,
      },
      agent: { name: "Model" },
    });
    const served = serveHuge("https://llm.test");
    const x = await call("POST", `/v1/agents/${agent.id}/execute`, {
      key,
      body: { input: { message: "hi" } },
    });
    const done = await finished(key, agent.id, x.json.id);
    expect(done.status).toBe("failed");
    expect(done.error.code).toBe("llm_error");
    expect(done.error.message).toContain("openai: the answer exceeds 1 MiB");
    expect(served).toHaveLength(1);
    nearCap(served[0].pulled(), RESPONSE_CAPS.llm);
    expect(served[0].cancelled()).toBe(true);
  });

  it("a webhook endpoint's endless answer is not read: the delivery records the status alone", async () => {
    const { key, orgId } = await newOrg();
    const hook = await call("POST", "/v1/webhooks", {
      key,
      body: { url: "https://hooks.test/flood", events: ["contact.created"] },
    });
    expect(hook.status, hook.text).toBe(201);
    const served = serveHuge("https://hooks.test");
    await call("POST", "/v1/contacts", { key, body: { email: "flood@x.co" } });
    const delivery = await poll(
      () =>
        DB.prepare(
          "SELECT status, last_status_code FROM webhook_deliveries WHERE org_id = ? AND event_type = 'contact.created'",
        )
          .bind(orgId)
          .first<{ status: string; last_status_code: number }>(),
      (d) => d?.status === "succeeded",
      20_000,
    );
    expect(delivery?.last_status_code).toBe(200);
    expect(served).toHaveLength(1);
    expect(served[0].pulled()).toBeLessThanOrEqual(4 * CHUNK);
    expect(served[0].cancelled()).toBe(true);
  });

  it("a provider's endless error body is cut at 64 KiB: the status is the reason", async () => {
    const h = hugeBody(503);
    const err = await failUnlessOk("Twilio", h.res, () => "never parsed").catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toBe("Twilio 503");
    expect(err.retryable).toBe(true);
    nearCap(h.pulled(), RESPONSE_CAPS.error);
    expect(h.cancelled()).toBe(true);
  });

  it("a provider's endless 2xx answer fails the send permanently instead of being read whole", async () => {
    const h = hugeBody(200);
    const err = await answerOf<never>("Postmark", h.res).catch((e: ProviderError) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toBe("Postmark: the answer exceeds 256 KiB (it was cut there)");
    expect(err.retryable).toBe(false);
    nearCap(h.pulled(), RESPONSE_CAPS.provider);
    expect(h.cancelled()).toBe(true);
  });

  it("reads a body within the cap whole, and a cut multibyte character decodes, not throws", async () => {
    expect(await textCapped(new Response('{"id":"m_1"}'), 64)).toBe('{"id":"m_1"}');
    expect(await answerOf("Resend", new Response('{"id":"m_1"}'))).toEqual({ id: "m_1" });
    const cut = await readCapped(new Response("aé"), 2);
    expect(cut).toEqual({ bytes: new Uint8Array([0x61, 0xc3]), truncated: true });
    expect(await textCapped(new Response("aé"), 2, { truncate: true })).toBe("a\ufffd");
    await expect(textCapped(new Response("abc"), 2)).rejects.toThrow("exceeds 2 bytes");
  });
});
