// Types for the test runtime: the Worker's Env plus test-only bindings, and `exports.default`.
type NudgeEnv = import("../src/ground/env").Env;
type NudgeMigration = import("cloudflare:test").D1Migration;

declare namespace Cloudflare {
  interface Env extends NudgeEnv {
    TEST_MIGRATIONS: NudgeMigration[];
    TEST_DIRECTORY_MIGRATIONS: NudgeMigration[];
  }
  interface GlobalProps {
    mainModule: typeof import("../src");
    durableNamespaces: "EnrollmentDO";
  }
}
