// The last line of a run that skipped browser tests for want of Chromium, with their count:
// vitest's summary counts skips of every kind together, and these must not pass unnoticed.
import type { Reporter, TestModule } from "vitest/node";
import { NO_CHROMIUM } from "./chromium";

export default class BrowserSkipsReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>) {
    let skipped = 0;
    const files = new Set<string>();
    for (const m of testModules) {
      for (const t of m.children.allTests("skipped")) {
        if (t.fullName.includes(NO_CHROMIUM)) {
          skipped++;
          files.add(m.relativeModuleId);
        }
      }
    }
    if (skipped > 0) {
      console.log(
        `\n browser tests: ${skipped} skipped in ${[...files].join(", ")} — ${NO_CHROMIUM}\n`,
      );
    }
  }
}
