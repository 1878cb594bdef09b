// The SDK honours Retry-After: on a 429 saying `Retry-After: 1` it waits at least a second
// before it asks again (its own backoff would be 125–250 ms), then returns the retry's answer.
import { describe, expect, it } from "vitest";
import { Nudge } from "../../sdk/src/index";

describe("the SDK on a 429 with Retry-After", () => {
  it("waits the second it was told before retrying, with the same idempotency key", async () => {
    const seen: { at: number; key: string | null }[] = [];
    const double = async (input: RequestInfo | URL, init?: RequestInit) => {
      const req = new Request(input, init);
      seen.push({ at: performance.now(), key: req.headers.get("idempotency-key") });
      if (seen.length === 1) {
        return new Response(
          JSON.stringify({ error: "rate_limited", message: "Slow down", requestId: "req_1" }),
          { status: 429, headers: { "content-type": "application/json", "retry-after": "1" } },
        );
      }
      return new Response(
        JSON.stringify({ id: "con_1", email: "wait@sdk.test", createdAt: 0, updatedAt: 0 }),
        { status: 201, headers: { "content-type": "application/json" } },
      );
    };
    const client = new Nudge({ apiKey: "nk_test", baseUrl: "https://nudge.test", fetch: double });
    const contact = await client.contacts.upsert({ email: "wait@sdk.test" });
    expect(contact.id).toBe("con_1");
    expect(seen).toHaveLength(2);
    const waited = seen[1].at - seen[0].at;
    // Timers fire on a millisecond clock read when they were set, so allow it 2 ms of rounding;
    // the upper bound tells the Retry-After wait from the longest backoffs.
    expect(waited).toBeGreaterThanOrEqual(998);
    expect(waited).toBeLessThan(2000);
    expect(seen[1].key).toBe(seen[0].key);
  });
});
