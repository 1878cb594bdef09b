// Debian's Chromium for the browser tests (test/node/*.browser.test.ts). Without it a
// developer's run skips them and says so on its closing line (browser-skips-reporter.ts);
// under CI (CI=true, or REQUIRE_CHROMIUM=1) a missing Chromium fails the run instead, so a
// machine that could not install it cannot report the browser tests as green.
import { existsSync } from "node:fs";
import { describe, it } from "vitest";

/** CHROMIUM_PATH, else Debian's package (apt-get install chromium; .ci/run installs it). */
export const CHROMIUM = [
  process.env.CHROMIUM_PATH,
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
].find((p): p is string => typeof p === "string" && existsSync(p));

export const CHROMIUM_REQUIRED = process.env.CI === "true" || process.env.REQUIRE_CHROMIUM === "1";

/** The reason a skipped browser suite carries; the closing-line reporter looks for it. */
export const NO_CHROMIUM = "needs Chromium (set CHROMIUM_PATH or apt-get install chromium)";

/**
 * A suite that runs in Chromium: runs when there is one; otherwise fails under CI and is
 * skipped (every test counted as skipped) on a developer's machine.
 */
export function describeInChromium(name: string, suite: () => void) {
  if (CHROMIUM) {
    describe(name, suite);
  } else if (CHROMIUM_REQUIRED) {
    describe(name, () => {
      it("has a Chromium to run in", () => {
        throw new Error(
          `no Chromium at CHROMIUM_PATH, /usr/bin/chromium or /usr/bin/chromium-browser: CI requires the browser tests to run (${NO_CHROMIUM})`,
        );
      });
    });
  } else {
    describe.skip(`${name} — ${NO_CHROMIUM}`, suite);
  }
}
