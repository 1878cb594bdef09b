// Analytics, pure parts: days and buckets in a zone, rates, the gap histogram, CSV lines, SVG.
import { DOMParser } from "@xmldom/xmldom";
import { describe, expect, it } from "vitest";
import {
  bucketOf,
  bucketsBetween,
  dayKey,
  gapBucket,
  gapBucketSeconds,
  medianGapSeconds,
  shape,
} from "../../src/engine/metrics";
import { renderSvg } from "../../src/lib/charts";
import { csvLines } from "../../src/lib/csv";

describe("days and buckets", () => {
  it("counts a day in the zone, across DST", () => {
    // 2026-03-29 00:30 UTC is 01:30 in London (BST from 01:00 UTC) — still the 29th; 23:30 UTC on the 28th is the 28th.
    expect(dayKey(Date.UTC(2026, 2, 28, 23, 30), "Europe/London")).toBe("2026-03-28");
    expect(dayKey(Date.UTC(2026, 2, 29, 23, 30), "Europe/London")).toBe("2026-03-30");
    expect(dayKey(Date.UTC(2026, 0, 10, 2, 0), "America/New_York")).toBe("2026-01-09");
  });

  it("buckets by ISO week (from Monday) and month, every bucket listed", () => {
    expect(bucketOf("2026-11-29", "week")).toBe("2026-11-23"); // a Sunday → its Monday
    expect(bucketOf("2026-11-30", "week")).toBe("2026-11-30");
    expect(bucketOf("2026-02-28", "month")).toBe("2026-02-01");
    expect(bucketsBetween("2026-11-25", "2026-12-08", "week")).toEqual([
      "2026-11-23",
      "2026-11-30",
      "2026-12-07",
    ]);
    expect(bucketsBetween("2026-01-31", "2026-04-01", "month")).toEqual([
      "2026-01-01",
      "2026-02-01",
      "2026-03-01",
      "2026-04-01",
    ]);
    expect(bucketsBetween("2024-02-27", "2024-03-01", "day")).toEqual([
      "2024-02-27",
      "2024-02-28",
      "2024-02-29",
      "2024-03-01",
    ]);
    expect(bucketsBetween("2025-11-27", "2026-11-26", "day")).toHaveLength(365);
  });
});

describe("rates", () => {
  it("computes rates from counts, null over zero, and passes exit reasons with exited", () => {
    const v = shape(
      {
        sent: 10,
        bounced: 2,
        uniqueOpened: 4,
        uniqueClicked: 1,
        replied: 1,
        exited: 3,
        "exited.replied": 2,
      },
      [
        "openRate",
        "clickRate",
        "clickToOpenRate",
        "replyRate",
        "bounceRate",
        "conversionRate",
        "exited",
      ],
    );
    expect(v).toEqual({
      openRate: 0.5,
      clickRate: 0.125,
      clickToOpenRate: 0.25,
      replyRate: 0.1,
      bounceRate: 0.2,
      conversionRate: null,
      exited: 3,
      "exited.replied": 2,
    });
  });
});

describe("the gap histogram", () => {
  it("puts gaps in 10 % buckets and reads a median within 5 %", () => {
    expect(gapBucket(500)).toBe(0);
    for (const s of [1, 7, 60, 3600, 86_400, 2 * 86_400, 30 * 86_400]) {
      const mid = gapBucketSeconds(gapBucket(s * 1000));
      expect(Math.abs(mid - s) / s).toBeLessThan(0.05 + 1e-9);
    }
    const h = new Map<number, number>();
    for (const s of [60, 3600, 3600, 86_400, 86_400, 86_400, 172_800]) {
      const b = gapBucket(s * 1000);
      h.set(b, (h.get(b) ?? 0) + 1);
    }
    expect(Math.abs((medianGapSeconds(h) as number) - 86_400) / 86_400).toBeLessThan(0.05);
    expect(medianGapSeconds(new Map())).toBeNull();
  });
});

describe("CSV lines", () => {
  it("quotes, ends lines in CRLF, and defuses formulas but not numbers", () => {
    const text = csvLines(
      ["a", "b", "c"],
      [
        { a: "=1+1", b: -5, c: 'say "hi", ok' },
        { a: "@SUM(A1)", b: null, c: { x: 1 } },
        { a: "+33 6 12", b: true, c: "-x" },
      ],
      true,
    );
    expect(text).toBe(
      `a,b,c\r\n"'=1+1",-5,"say ""hi"", ok"\r\n"'@SUM(A1)",,"{""x"":1}"\r\n"'+33 6 12",true,"'-x"\r\n`,
    );
    expect(csvLines(["a"], [], false)).toBe("");
  });
});

describe("SVG charts", () => {
  it("parses, is labelled, and has one point per bucket and dataset", () => {
    const svg = renderSvg({
      type: "line",
      title: "Sent & opened <daily>",
      labels: ["2026-11-01", "2026-11-02", "2026-11-03"],
      datasets: [
        { label: "sent", data: [3, 0, 10] },
        { label: "opened", data: [1, null, 4] },
      ],
      xLabel: "Day",
      yLabel: "Count",
    });
    const errors: string[] = [];
    const doc = new DOMParser({
      onError: (l, m) => void errors.push(`${l}: ${m}`),
    }).parseFromString(svg, "image/svg+xml");
    expect(errors).toEqual([]);
    expect(doc.getElementsByTagName("title")[0]?.textContent).toBe("Sent & opened <daily>");
    const points = Array.from(doc.getElementsByTagName("circle"));
    expect(points).toHaveLength(5); // a null is no point
    const bars = renderSvg({
      type: "bar",
      title: "Rates",
      labels: ["a", "b"],
      datasets: [{ label: "openRate", data: [0.5, 0.25] }],
      xLabel: "Week",
      yLabel: "Rate",
      percent: true,
    });
    expect(bars).toContain(">50%<");
    expect((bars.match(/class="bar"/g) ?? []).length).toBe(2);
  });
});
