// The split's hash is part of stored behaviour: an enrollment re-evaluated after a deploy must
// land in the variant it got before, so the hash's values are pinned, not just its spread.
import { describe, expect, it } from "vitest";
import { chooseVariant, hashUnit } from "../../src/engine/split";

describe("hashUnit", () => {
  it.each([
    ["", 2872998923],
    ["a", 444641715],
    ["enr_1:split1", 2292999246],
    ["enr_01JD0000000000000000000000:s", 2753667190],
  ])("hashes %j to %i / 2^32, every character counted", (s, h) => {
    expect(hashUnit(s)).toBe(h / 2 ** 32);
  });
});

describe("chooseVariant", () => {
  it("keeps a known enrollment in its variant", () => {
    // hashUnit("enr_1:split1") ≈ 0.534: past the first half of two equal weights.
    const even = [
      { key: "a", weight: 1 },
      { key: "b", weight: 1 },
    ];
    expect(chooseVariant("enr_1", "split1", even)).toBe("b");
    // …and inside the first variant when it weighs 54 of 100.
    const a54 = [
      { key: "a", weight: 54 },
      { key: "b", weight: 46 },
    ];
    expect(chooseVariant("enr_1", "split1", a54)).toBe("a");
    const a53 = [
      { key: "a", weight: 53 },
      { key: "b", weight: 47 },
    ];
    expect(chooseVariant("enr_1", "split1", a53)).toBe("b");
  });

  it("gives the only variant to everyone", () => {
    expect(chooseVariant("enr_2", "s", [{ key: "only", weight: 3 }])).toBe("only");
  });
});
