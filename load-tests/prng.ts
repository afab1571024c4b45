// Seeded randomness for the harness, so the same --seed places and moves the same devices.
import { mulberry32, type Random } from '../src/util/prng.js';

export { mulberry32, type Random };

/** Independent stream per device: same seed + same index = same device, whatever the worker. */
export function deviceRandom(seed: number, kind: 0 | 1, index: number): Random {
  return mulberry32((Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b) ^ (kind ? 0xc2b2ae35 : 0)) >>> 0);
}

export const uniform = (r: Random, lo: number, hi: number): number => lo + r() * (hi - lo);
