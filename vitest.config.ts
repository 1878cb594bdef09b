import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Two projects: everything inside workerd (real D1, DOs, alarms, queues), and a small Node
// project for tools that cannot run in workerd (the OpenAPI validator compiles code with eval).
export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  const directoryMigrations = await readD1Migrations(
    path.join(import.meta.dirname, "migrations-directory"),
  );
  return {
    test: {
      // The default output, then a closing line counting browser tests skipped for want of Chromium.
      reporters: ["default", "./test/node/browser-skips-reporter.ts"],
      projects: [
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                bindings: {
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
            name: "workers",
            setupFiles: ["./test/helpers/setup.ts"],
            globalSetup: ["./test/helpers/smtp-double.mjs"],
            include: [
              "test/unit/**/*.test.ts",
              "test/integration/**/*.test.ts",
              // Provider contract tests sit beside their modules (src/providers/resend.test.ts).
              "src/**/*.test.ts",
            ],
            testTimeout: 30_000,
          },
        },
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
