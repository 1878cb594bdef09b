// Mutation testing of the pure modules (npm run test:mutation): StrykerJS changes one line at a
// time (a `<` into `<=`, a condition into `true`, a string into "") and reruns the unit tests;
// a change no test notices is a line a wrong edit could break unseen. Only modules where a
// wrong line changes what users get are mutated; the tests are the Node-only unit project
// (vitest.mutation.config.ts), since Stryker cannot drive workerd.
// Too slow for CI: run it weekly, or with --incremental after a change (see README).

/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutation.config.ts", related: true },
  coverageAnalysis: "perTest",
  mutate: [
    "src/engine/advance.ts",
    "src/engine/conditions.ts",
    "src/engine/split.ts",
    "src/engine/schedule.ts",
    "src/engine/timezones.ts",
    "src/engine/governance.ts",
    "src/engine/replies.ts",
    "src/agents/rules.ts",
    "src/security/ssrf.ts",
    "src/security/tokens.ts",
    "src/lib/csv.ts",
  ],
  // Two cores shared with others: one runner by default (`--concurrency 2` when the machine is free).
  concurrency: 1,
  thresholds: { high: 80, low: 60, break: null },
  reporters: ["clear-text", "progress", "json"],
  jsonReporter: { fileName: "bench/results/mutation.json" },
  // --incremental reuses the results of mutants whose code and covering tests did not change
  // since the last run recorded here; --force redoes them all.
  incrementalFile: "bench/results/mutation-incremental.json",
  tempDirName: ".stryker-tmp",
  ignorePatterns: [
    "bench/results",
    "dashboard",
    "sdk",
    "public",
    "docs",
    "coverage",
    "dist",
    ".wrangler",
  ],
  timeoutMS: 10_000,
};
