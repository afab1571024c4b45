// Seeded randomness for the harness, so the same --seed places and moves the same devices; tests
// and benchmarks use mulberry32 too, so a failing run can be replayed from its seed.
export type Random = () => number;

/** mulberry32: a tiny seeded PRNG. */
export function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Independent stream per device: same seed + same index = same device, whatever the worker. */
export function deviceRandom(seed: number, kind: 0 | 1, index: number): Random {
  return mulberry32((Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b) ^ (kind ? 0xc2b2ae35 : 0)) >>> 0);
}

export const uniform = (r: Random, lo: number, hi: number): number => lo + r() * (hi - lo);
