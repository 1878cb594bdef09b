// Deterministic variant choice: the same enrollment always lands in the same variant. Pure.
/** FNV-1a over the string, finished with murmur3's avalanche so close ids spread evenly. */
export function hashUnit(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 0x1_0000_0000;
}

export function chooseVariant(
  enrollmentId: string,
  stepId: string,
  variants: { key: string; weight: number }[],
): string {
  const total = variants.reduce((s, v) => s + v.weight, 0);
  const point = hashUnit(`${enrollmentId}:${stepId}`) * total;
  let acc = 0;
  for (const v of variants) {
    acc += v.weight;
    if (point < acc) {
      return v.key;
    }
  }
  return variants[variants.length - 1].key;
}
