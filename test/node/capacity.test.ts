import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { END, renderCapacity, START } from "../../scripts/lib/capacity-report.mjs";

const root = join(import.meta.dirname, "..", "..");
const fixture = join(import.meta.dirname, "fixtures", "capacity-results.json");

/** Runs `npm run capacity` on `results`, against a doc with the markers between two paragraphs. */
function capacity(results: string) {
  const doc = join(mkdtempSync(join(tmpdir(), "nudge-capacity-")), "scale.md");
  writeFileSync(doc, `# Before\n\n${START}\nstale\n${END}\n\n## After\n`);
  execFileSync(process.execPath, [
    join(root, "scripts", "capacity.mjs"),
    `--results=${results}`,
    `--doc=${doc}`,
  ]);
  return readFileSync(doc, "utf8");
}

const line = (doc: string, start: string) => doc.split("\n").find((l) => l.startsWith(start));

describe("npm run capacity", () => {
  it("rewrites only the table between the markers, from the results file", () => {
    const doc = capacity(fixture);
    expect(
      doc.startsWith(`# Before\n\n${START}\nFrom \`bench/results/latest.json\` of 2026-12-01`),
    ).toBe(true);
    expect(doc.endsWith(`${END}\n\n## After\n`)).toBe(true);
    expect(doc).not.toContain("stale");
  });

  it("divides each shard's 1,000 queries/s by the statements of an operation, and caps queued ones at 5,000 jobs/s a queue", () => {
    const doc = capacity(fixture);
    expect(line(doc, "| enrollment created (bulk) |")).toBe(
      "| enrollment created (bulk) | 0.5 | 12 | 0 | 2,000/s — D1 (the shard) | 20,000/s — D1 (10 shards) | 200,000/s — D1 (100 shards) |",
    );
    expect(line(doc, "| engine step (log) |")).toBe(
      "| engine step (log) | 2.5 | 3 | 0 | 400/s — D1 (the shard) | 4,000/s — D1 (10 shards) | 40,000/s — D1 (100 shards) |",
    );
    // 6 statements and 24 rows per step, 4,000 steps for 3,000 emails: 8 and 32 per email.
    expect(line(doc, "| email sent (send_email step) |")).toBe(
      "| email sent (send_email step) | 8 | 32 | 1 on nudge-messages | 125/s — D1 (the shard) | 1,250/s — D1 (10 shards) | 5,000/s — queue nudge-messages |",
    );
    expect(line(doc, "| single event (POST /v1/events) |")).toBe(
      "| single event (POST /v1/events) | 4 | 5 | 1 on nudge-event | 250/s — D1 (the shard) | 2,500/s — D1 (10 shards) | 5,000/s — queue nudge-event |",
    );
    expect(line(doc, "| open (tracking pixel) |")).toBe(
      "| open (tracking pixel) | 0.1 | 2 | 1 on nudge-event | 5,000/s — queue nudge-event | 5,000/s — queue nudge-event | 5,000/s — queue nudge-event |",
    );
    expect(line(doc, "| click (tracked link) |")).toBe(
      "| click (tracked link) | 0.25 | 3 | 1 on nudge-event | 4,000/s — D1 (the shard) | 5,000/s — queue nudge-event | 5,000/s — queue nudge-event |",
    );
  });

  it("bounds one large tenant by its own shard, and says how many queues of its own it would need", () => {
    const doc = capacity(fixture);
    const tenant = doc.slice(doc.indexOf("| the tenant's |"));
    expect(line(tenant, "| email sent")).toBe(
      "| email sent (send_email step) | 125/s | 5,000/s | 1 |",
    );
    expect(line(tenant, "| single event")).toBe(
      "| single event (POST /v1/events) | 250/s | 5,000/s | 1 |",
    );
    expect(line(tenant, "| open")).toBe("| open (tracking pixel) | 10,000/s | 5,000/s | 2 |");
    expect(line(tenant, "| click")).toBe("| click (tracked link) | 4,000/s | 5,000/s | 1 |");
  });

  it("says which operations a results file has not measured instead of inventing a figure", () => {
    const results = JSON.parse(readFileSync(fixture, "utf8"));
    delete results.costs;
    const path = join(mkdtempSync(join(tmpdir(), "nudge-capacity-")), "results.json");
    writeFileSync(path, JSON.stringify(results));
    const doc = capacity(path);
    expect(line(doc, "| single event (POST /v1/events) |")).toBe(
      "| single event (POST /v1/events) | — | — | 1 on nudge-event | not measured in this file | not measured in this file | not measured in this file |",
    );
    expect(line(doc, "| engine step (log) |")).toContain("400/s — D1 (the shard)");
  });
});

describe("docs/scale.md", () => {
  it("shows the capacity table of the committed results of a full bench run", () => {
    const doc = readFileSync(join(root, "docs", "scale.md"), "utf8");
    const results = JSON.parse(readFileSync(join(root, "bench", "results", "latest.json"), "utf8"));
    expect(results.smoke).toBe(false);
    expect(doc.slice(doc.indexOf(START), doc.indexOf(END) + END.length)).toBe(
      renderCapacity(results),
    );
  });
});
