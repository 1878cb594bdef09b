import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Three projects: everything inside workerd (real D1, DOs, alarms, queues) on one org shard, a
// named part of it again on two shards, and a small Node project for tools that cannot run in
// workerd (the OpenAPI validator compiles code with eval).
export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  const directoryMigrations = await readD1Migrations(
    path.join(import.meta.dirname, "migrations-directory"),
  );
  /** A project inside workerd with `shards` org shards, running the files `include` names. */
  const workers = (name: string, shards: number, include: string[]) => ({
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          ...(shards > 1
            ? {
                d1Databases: {
                  DB_DIRECTORY: "nudge-directory-sharded",
                  ...Object.fromEntries(
                    Array.from({ length: shards }, (_, i) => [
                      `DB_SHARD_${i}`,
                      `nudge-shard-${i}-sharded`,
                    ]),
                  ),
                },
              }
            : {}),
          bindings: {
            SHARDS: String(shards),
            ...(shards > 2 ? { SHARD_REGIONS: `${shards - 1}:eu` } : {}),
            // A move waits out isolates' cached placements; here every caller shares one isolate.
            ...(shards > 1 ? { SHARD_MOVE_SETTLE_MS: "1500" } : {}),
            TEST_MIGRATIONS: migrations,
            TEST_DIRECTORY_MIGRATIONS: directoryMigrations,
            ENVIRONMENT: "test",
            PUBLIC_URL: "https://nudge.test",
            ADMIN_TOKEN: "test-admin-token-0123456789",
            TOKEN_SIGNING_KEYS:
              "k1:test-signing-secret-one-0123456789abcdef,k0:test-signing-secret-zero-0123456789abcdef",
            ENCRYPTION_KEYS: "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
            WEBHOOK_RETRY_SCHEDULE: "0,1,1,1",
            EMAIL_RETRY_BASE_SECONDS: "0",
            CLOUDFLARE_SENDER_DOMAINS: "acme.test",
          },
          ratelimits: {
            RATE_LIMITER: { namespace_id: "1001", simple: { limit: 400, period: 60 } },
            ORG_RATE_LIMITER: { namespace_id: "1002", simple: { limit: 600, period: 60 } },
            AUTH_FAIL_LIMITER: { namespace_id: "1003", simple: { limit: 5, period: 60 } },
            TRACKING_LIMITER: { namespace_id: "1004", simple: { limit: 60, period: 60 } },
            BAD_TOKEN_LIMITER: { namespace_id: "1005", simple: { limit: 5, period: 60 } },
            INBOUND_LIMITER: { namespace_id: "1006", simple: { limit: 20, period: 60 } },
            INBOUND_UNKNOWN_LIMITER: {
              namespace_id: "1007",
              simple: { limit: 5, period: 60 },
            },
          },
        },
      }),
    ],
    test: {
      name,
      setupFiles: ["./test/helpers/setup.ts"],
      globalSetup: ["./test/helpers/smtp-double.mjs"],
      include,
      testTimeout: 30_000,
    },
  });
  return {
    test: {
      // The default output, then a closing line counting browser tests skipped for want of Chromium.
      reporters: ["default", "./test/node/browser-skips-reporter.ts"],
      projects: [
        workers("workers", 1, [
          "test/unit/**/*.test.ts",
          "test/integration/**/*.test.ts",
          // Provider contract tests sit beside their modules (src/providers/resend.test.ts).
          "src/**/*.test.ts",
        ]),
        // The same runtime over two org shards, plus a third declared `eu` (data residency):
        // routing, residency and moves, and the integration files named here again with new
        // orgs spread over both general shards (least-filled placement alternates them).
        workers("two-shards", 3, [
          "test/shards/**/*.test.ts",
          "test/integration/enrollments-journeys.test.ts",
          "test/integration/enrollments-bulk.test.ts",
          "test/integration/edge-tracking.test.ts",
          "test/integration/forged-mail.test.ts",
          "test/integration/workflows.test.ts",
          "test/integration/mcp-tools.test.ts",
          "test/integration/outreach-sales-sequence.test.ts",
          "test/integration/report-isolation.test.ts",
        ]),
        {
          resolve: {
            alias: {
              "cloudflare:sockets": path.join(import.meta.dirname, "test/node/sockets-stub.ts"),
            },
          },
          test: {
            name: "node",
            environment: "node",
            include: ["test/node/**/*.test.ts"],
            testTimeout: 30_000,
          },
        },
      ],
    },
  };
});
