// config(env): the vars parsed once, with their defaults, and a bad value refused by name.
import { describe, expect, it } from "vitest";
import { ConfigurationError, config } from "../../src/ground/config";
import type { Env } from "../../src/ground/env";

const vars = (v: Partial<Env>) => ({ ENVIRONMENT: "production", ...v }) as Env;

describe("config(env)", () => {
  it("gives every setting its documented default when nothing is set", () => {
    expect(config(vars({}))).toEqual({
      environment: "production",
      development: false,
      publicUrl: null,
      replyDomain: null,
      forwardUnmatchedTo: null,
      shards: 1,
      shardRegions: {},
      shardMoveSettleMs: null,
      keyCacheMs: 10_000,
      cloudflareSenderDomains: null,
      logLevel: "info",
      webhookRetrySchedule: [0, 5, 300, 1800, 7200, 18_000, 36_000, 36_000],
      emailRetryBaseSeconds: 30,
      effectRedeliveryMs: 15_000,
      reportPartBytes: 5 * 1024 * 1024,
      reportPageRows: 1_000,
      clickTokenMaxAgeDays: 365,
      autoReplyMaxHoldMs: 30 * 86_400_000,
      llmPrices: {},
    });
  });

  it("reads set values, blank ones as unset", () => {
    const c = config(
      vars({
        ENVIRONMENT: "development",
        PUBLIC_URL: " https://nudge.example.com/ ",
        LOG_LEVEL: "WARN",
        WEBHOOK_RETRY_SCHEDULE: "0, 1,1",
        EMAIL_RETRY_BASE_SECONDS: "0",
        EFFECT_REDELIVERY_SECONDS: "2.5",
        REPLY_DOMAIN: "  ",
        LLM_PRICES: '{"m-1":{"input":1,"output":2}}',
      }),
    );
    expect(c).toMatchObject({
      development: true,
      publicUrl: "https://nudge.example.com",
      logLevel: "warn",
      webhookRetrySchedule: [0, 1, 1],
      emailRetryBaseSeconds: 0,
      effectRedeliveryMs: 2_500,
      replyDomain: null,
      llmPrices: { "m-1": { input: 1, output: 2 } },
    });
  });

  it.each([
    ["EMAIL_RETRY_BASE_SECONDS", "abc"],
    ["EFFECT_REDELIVERY_SECONDS", "0"],
    ["WEBHOOK_RETRY_SCHEDULE", "0,5,soon"],
    ["PUBLIC_URL", "nudge.example.com"],
    ["LOG_LEVEL", "verbose"],
    ["REPORT_PART_BYTES", "1024"],
    ["REPORT_PAGE_ROWS", "-1"],
    ["CLICK_TOKEN_MAX_AGE_DAYS", "a year"],
    ["LLM_PRICES", "{not json"],
    ["LLM_PRICES", '{"m":{"input":1}}'],
    ["CLOUDFLARE_SENDER_DOMAINS", "acme.test, not a domain"],
    ["CLOUDFLARE_SENDER_DOMAINS", ",,"],
    ["SHARDS", "0"],
    ["SHARDS", "two"],
    ["SHARD_REGIONS", "1:mars"],
    ["SHARD_REGIONS", "eu"],
    ["KEY_CACHE_SECONDS", "-1"],
    ["SHARD_MOVE_SETTLE_MS", "-1"],
    ["SHARD_MOVE_SETTLE_MS", "1.5"],
  ])("refuses %s=%s with an error naming it", (name, value) => {
    const read = () => config(vars({ [name]: value } as unknown as Partial<Env>));
    expect(read).toThrow(ConfigurationError);
    expect(read).toThrow(new RegExp(`^${name}\\b`));
  });

  it("reads the cloudflare provider's sender domains as a lower-case list", () => {
    expect(
      config(vars({ CLOUDFLARE_SENDER_DOMAINS: " Mail.Acme.test , acme.example." }))
        .cloudflareSenderDomains,
    ).toEqual(["mail.acme.test", "acme.example"]);
  });

  it("parses an env once, and again when one of its vars changed in place", () => {
    const env = vars({ EMAIL_RETRY_BASE_SECONDS: "10" });
    const first = config(env);
    expect(config(env)).toBe(first);
    env.EMAIL_RETRY_BASE_SECONDS = "20";
    expect(config(env).emailRetryBaseSeconds).toBe(20);
  });
});
