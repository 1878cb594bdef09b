import { defineConfig } from "vitest/config";

// The pure unit tests in plain Node, for StrykerJS (npm run test:mutation): Stryker's vitest
// runner instruments and reruns the code in Node, so it cannot use the workerd project of
// vitest.config.ts. Only tests of the functional core belong here: no D1, no Durable Objects,
// no `cloudflare:*` modules.
export default defineConfig({
  test: {
    name: "mutation",
    environment: "node",
    include: ["test/unit/**/*.test.ts"],
    testTimeout: 30_000,
  },
});
