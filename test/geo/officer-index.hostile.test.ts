// Hostile input: bad values are thrown as GeoError with a code and never reach the index.
import { describe, expect, it } from 'vitest';
import { GeoError, OfficerIndex } from '../../src/geo/index.js';

const BAD_COORDS: [unknown, unknown][] = [
  [NaN, 0],
  [0, NaN],
  [Infinity, 0],
  [0, -Infinity],
  [90.0000001, 0],
  [-90.0000001, 0],
  [0, 180.0000001],
  [0, -180.0000001],
  [1e308, 1e308],
  ['40.7', -74],
  [40.7, '-74'],
  [null, 0],
  [undefined, 0],
  [{}, 0],
  [[40], 0],
];

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(GeoError);
    return (e as GeoError).code;
  }
  return undefined;
}

describe('OfficerIndex hostile input', () => {
  it('refuses bad coordinates on upsert and keeps the previous position', () => {
    const idx = new OfficerIndex();
    idx.upsert('o', 40.7, -74);
    for (const [lat, lng] of BAD_COORDS) {
      expect(code(() => idx.upsert('o', lat as number, lng as number))).toBe('bad_coordinates');
      expect(code(() => idx.upsert('new', lat as number, lng as number))).toBe('bad_coordinates');
    }
    expect(idx.size).toBe(1);
    expect(idx.get('o')).toEqual({ lat: 40.7, lng: -74 });
    expect(idx.has('new')).toBe(false);
  });

  it('refuses bad coordinates on every query', () => {
    const idx = new OfficerIndex();
    idx.upsert('o', 40.7, -74);
    for (const [lat, lng] of BAD_COORDS) {
      expect(code(() => idx.nearestOne(lat as number, lng as number, 100))).toBe('bad_coordinates');
      expect(code(() => idx.nearest(lat as number, lng as number, { radius: 100 }))).toBe('bad_coordinates');
      expect(code(() => idx.within(lat as number, lng as number, 100))).toBe('bad_coordinates');
    }
  });

  it('refuses bad radii and bad k', () => {
    const idx = new OfficerIndex();
    for (const r of [-1, NaN, Infinity, -Infinity, '5', null, undefined]) {
      expect(code(() => idx.nearestOne(40.7, -74, r as number))).toBe('bad_radius');
      expect(code(() => idx.within(40.7, -74, r as number))).toBe('bad_radius');
    }
    for (const k of [0, -1, 1.5, NaN, Infinity, '2']) expect(code(() => idx.nearest(40.7, -74, { radius: 1, k: k as number }))).toBe('bad_radius');
  });

  it('refuses ids that are not non-empty strings', () => {
    const idx = new OfficerIndex();
    for (const id of ['', 42, null, undefined, {}, Symbol('x')]) expect(code(() => idx.upsert(id as string, 40.7, -74))).toBe('bad_id');
    expect(idx.size).toBe(0);
  });

  it('stays correct under a flood of inserts and removes of the same ids', () => {
    const idx = new OfficerIndex();
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 1000; i++) idx.upsert(`o${i}`, 40.7 + i * 1e-4, -74 + round * 1e-3);
      for (let i = 0; i < 1000; i += 2) idx.remove(`o${i}`);
    }
    expect(idx.size).toBe(500);
    expect(idx.stats().cells).toBeLessThanOrEqual(500);
    expect(idx.nearestOne(40.7001, -74 + 19e-3, 5)?.id).toBe('o1');
  });

  it('handles ids that look like object keys', () => {
    const idx = new OfficerIndex();
    for (const id of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) idx.upsert(id, 40.7, -74);
    expect(idx.size).toBe(4);
    expect(idx.nearestOne(40.7, -74, 1)?.id).toBe('__proto__');
  });
});
