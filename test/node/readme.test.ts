import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { END, renderBench, START } from "../../scripts/lib/bench-report.mjs";

const root = join(import.meta.dirname, "..", "..");

describe("the README", () => {
  it("shows the figures of the committed results of a full bench run, with its gates as they came out", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const results = JSON.parse(readFileSync(join(root, "bench", "results", "latest.json"), "utf8"));
    expect(results.smoke).toBe(false);
    expect(results.passed).toBe(results.failures.length === 0);
    const section = readme.slice(readme.indexOf(START), readme.indexOf(END) + END.length);
    expect(section).toBe(renderBench(results));
  });
});
