import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Two projects: everything inside workerd (real D1, DOs, alarms, queues), and a small Node
// project for tools that cannot run in workerd (the OpenAPI validator compiles code with eval).
export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  return {
    test: {
      projects: [
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                bindings: {
                  TEST_MIGRATIONS: migrations,
                  ENVIRONMENT: "test",
                  PUBLIC_URL: "https://nudge.test",
                  ADMIN_TOKEN: "test-admin-token-0123456789",
                  TOKEN_SIGNING_KEYS: "k1:test-signing-secret-one,k0:test-signing-secret-zero",
                  ENCRYPTION_KEY: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
                  WEBHOOK_RETRY_SCHEDULE: "0,1,1,1",
                  EMAIL_RETRY_BASE_SECONDS: "0",
                },
                ratelimits: {
                  RATE_LIMITER: { namespace_id: "1001", simple: { limit: 400, period: 60 } },
                },
              },
            }),
          ],
          test: {
            name: "workers",
            setupFiles: ["./test/helpers/setup.ts"],
            globalSetup: ["./test/helpers/smtp-double.mjs"],
            include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"],
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
