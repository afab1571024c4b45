import { describe, expect, it } from 'vitest';
import { backoffCeiling, backoffDelay, checkBackoff } from '../../src/client/backoff.js';

const opts = { baseMs: 100, maxMs: 5000 };

describe('backoff', () => {
  it('doubles the ceiling per attempt up to maxMs', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 50, 1e9].map((n) => backoffCeiling(n, opts))).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
  });

  it('keeps every delay within [ceiling/2, ceiling]', () => {
    for (let n = 0; n < 12; n++) {
      const c = backoffCeiling(n, opts);
      expect(backoffDelay(n, opts, () => 0)).toBe(c / 2);
      expect(backoffDelay(n, opts, () => 0.999999)).toBeLessThanOrEqual(c);
      expect(backoffDelay(n, opts, () => 0.5)).toBe(c * 0.75);
    }
  });

  it('cannot be pushed out of bounds by a broken random source or a hostile attempt number', () => {
    for (const r of [-5, 7, NaN, Infinity]) {
      const d = backoffDelay(3, opts, () => r);
      expect(d >= 400 && d <= 800).toBe(true);
    }
    expect(backoffDelay(-3, opts, () => 0)).toBe(50);
    expect(backoffDelay(NaN, opts, () => 1)).toBe(100);
  });

  it('refuses nonsense options', () => {
    expect(() => checkBackoff({ baseMs: 0, maxMs: 10, maxAttempts: 1 })).toThrow(RangeError);
    expect(() => checkBackoff({ baseMs: 10, maxMs: 5, maxAttempts: 1 })).toThrow(RangeError);
    expect(() => checkBackoff({ baseMs: 10, maxMs: 50, maxAttempts: 1.5 })).toThrow(RangeError);
    expect(() => checkBackoff({ baseMs: NaN, maxMs: 50, maxAttempts: 1 })).toThrow(RangeError);
  });
});
