// Fixed snapping to grid-cell centres (the disclosure policy's coarse positions): seeded property
// tests over the globe, the antimeridian and the poles, and hostile input.
import { describe, expect, it } from 'vitest';
import { EARTH_RADIUS_M, GeoError, haversine, RAD, roundToStep, SNAP_M_PER_DEG, snapCell, snapToCell, type SnapCell } from '../../src/geo/index.js';
import { mulberry32 } from './fixtures.js';

const SIZES = [1, 10, 50, 200, 1000, 10_000, 100_000];
/** Metres a degree of latitude really is on the haversine sphere (the grid is sized with 111 320). */
const M_PER_DEG = EARTH_RADIUS_M * RAD;

/** The largest distance from the cell's centre to any of its points: a corner (see snap.ts). */
function halfDiagonal(c: SnapCell): number {
  let d = 0;
  for (const lat of [c.south, c.north]) for (const lng of [c.west, c.east]) d = Math.max(d, haversine(c.lat, c.lng, lat, Math.min(180, lng)));
  return d;
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(GeoError);
    return (e as GeoError).code;
  }
  return undefined;
}

const uniformGlobe = (rnd: () => number) => ({ lat: Math.asin(2 * rnd() - 1) / RAD, lng: rnd() * 360 - 180 });
const nearPoles = (rnd: () => number) => ({ lat: (rnd() < 0.5 ? -1 : 1) * (90 - rnd() * 0.05), lng: rnd() * 360 - 180 });
const nearAntimeridian = (rnd: () => number) => ({ lat: rnd() * 160 - 80, lng: (rnd() < 0.5 ? -1 : 1) * (180 - rnd() * 0.01) });
const nyc = (rnd: () => number) => ({ lat: 40.5 + rnd() * 0.4, lng: -74.2 + rnd() * 0.5 });
const AREAS = { uniformGlobe, nearPoles, nearAntimeridian, nyc };

describe('snapToCell', () => {
  it('puts the centre within the cell, within its half-diagonal of the input, and never moves a centre', () => {
    const rnd = mulberry32(1010);
    for (const size of SIZES) {
      for (const [name, area] of Object.entries(AREAS)) {
        for (let i = 0; i < 400; i++) {
          const p = area(rnd);
          const c = snapCell(p.lat, p.lng, size);
          const at = `${name} size ${size} at ${p.lat},${p.lng}`;
          expect(p.lat >= c.south && p.lat <= c.north, at).toBe(true);
          expect(p.lng === 180 ? c.col === 0 : p.lng >= c.west && p.lng < c.east, at).toBe(true);
          expect(haversine(p.lat, p.lng, c.lat, c.lng), at).toBeLessThanOrEqual(halfDiagonal(c) + 1e-6);
          // Idempotent: the centre is in its own cell.
          const again = snapCell(c.lat, c.lng, size);
          expect([again.row, again.col, again.lat, again.lng], at).toEqual([c.row, c.col, c.lat, c.lng]);
          expect(snapToCell(c.lat, c.lng, size), at).toEqual(snapToCell(p.lat, p.lng, size));
        }
      }
    }
  });

  it('cells are never narrower than the size and, off the poles, not much coarser', () => {
    const rnd = mulberry32(77);
    for (const size of [10, 200, 1000, 10_000]) {
      for (let i = 0; i < 500; i++) {
        const p = { lat: rnd() * 160 - 80, lng: rnd() * 360 - 180 };
        const c = snapCell(p.lat, p.lng, size);
        const scale = M_PER_DEG / SNAP_M_PER_DEG; // the sphere's metres per grid metre
        const far = Math.max(Math.abs(c.south), Math.abs(c.north));
        // Arc length of the poleward edge, the narrowest part of the cell.
        expect((c.east - c.west) * Math.cos(far * RAD) * M_PER_DEG).toBeGreaterThanOrEqual(size * scale * (1 - 1e-12));
        expect((c.north - c.south) * M_PER_DEG).toBeCloseTo(size * scale, 6);
        expect(halfDiagonal(c)).toBeGreaterThan(0.7 * size * scale);
        expect(halfDiagonal(c)).toBeLessThan(0.8 * size);
      }
    }
  });

  it('gives one centre for every point of a cell, and another for the neighbouring cells', () => {
    const rnd = mulberry32(5);
    for (const size of [50, 200, 5000]) {
      for (let k = 0; k < 30; k++) {
        const seed = nyc(rnd);
        const c = snapCell(seed.lat, seed.lng, size);
        const centre = snapToCell(seed.lat, seed.lng, size);
        for (let i = 0; i < 200; i++) {
          const q = { lat: c.south + (0.001 + 0.998 * rnd()) * (c.north - c.south), lng: c.west + (0.001 + 0.998 * rnd()) * (c.east - c.west) };
          expect(snapToCell(q.lat, q.lng, size)).toEqual(centre);
        }
        // Just across each border: the neighbouring cell (1e-9° is far above float error).
        const eps = 1e-9;
        expect(snapCell(c.north + eps, seed.lng, size).row).toBe(c.row + 1);
        expect(snapCell(c.north - eps, seed.lng, size).row).toBe(c.row);
        expect(snapCell(c.south - eps, seed.lng, size).row).toBe(c.row - 1);
        expect(snapCell(c.south + eps, seed.lng, size).row).toBe(c.row);
        expect(snapCell(seed.lat, c.east + eps, size).col).toBe((c.col + 1) % c.cols);
        expect(snapCell(seed.lat, c.east - eps, size).col).toBe(c.col);
        expect(snapCell(seed.lat, c.west - eps, size).col).toBe((c.col - 1 + c.cols) % c.cols);
        expect(snapCell(seed.lat, c.west + eps, size).col).toBe(c.col);
        expect(snapToCell(c.north + eps, seed.lng, size)).not.toEqual(centre);
        expect(snapToCell(seed.lat, c.west - eps, size)).not.toEqual(centre);
      }
    }
  });

  it('is deterministic: the same input always gives the same centre (no noise)', () => {
    const p = { lat: 40.758, lng: -73.9855 };
    const first = snapToCell(p.lat, p.lng, 200);
    for (let i = 0; i < 1000; i++) expect(snapToCell(p.lat, p.lng, 200)).toEqual(first);
    expect(first).not.toEqual(p);
  });

  it('wraps at the antimeridian: 180 and -180 are one cell, and the columns tile the row exactly', () => {
    for (const lat of [0, 45.3, -60.1, 80]) {
      for (const size of [200, 10_000]) {
        expect(snapCell(lat, 180, size)).toEqual(snapCell(lat, -180, size));
        const east = snapCell(lat, 179.999999, size);
        const west = snapCell(lat, -179.999999, size);
        expect(west.col).toBe(0);
        expect(east.col).toBe(east.cols - 1);
        expect(east.east).toBeCloseTo(180, 9);
        expect(west.west).toBe(-180);
        // Across the antimeridian the two cells are neighbours, each centre inside its half-diagonal.
        expect(haversine(lat, 179.999999, east.lat, east.lng)).toBeLessThanOrEqual(halfDiagonal(east));
        expect(haversine(lat, -179.999999, west.lat, west.lng)).toBeLessThanOrEqual(halfDiagonal(west));
        expect(east.lng).toBeLessThan(180);
        expect(west.lng).toBeGreaterThan(-180);
      }
    }
  });

  it('clamps at the poles: the row touching a pole is one ring cell, centre inside the row', () => {
    for (const size of [1, 200, 10_000]) {
      for (const pole of [90, -90]) {
        const cells = [-180, -90, 0, 45.5, 179.99, 180].map((lng) => snapCell(pole, lng, size));
        for (const c of cells) expect(c).toEqual(cells[0]);
        const c = cells[0];
        expect(c.cols).toBe(1);
        expect(c.lng).toBe(0);
        expect(Math.abs(c.lat)).toBeLessThan(90);
        expect(pole > 0 ? c.north : c.south).toBe(pole);
        // A point of the ring on the far side of the pole is still within the half-diagonal.
        expect(haversine(pole, 180, c.lat, c.lng)).toBeLessThanOrEqual(halfDiagonal(c));
      }
    }
    // The last row absorbs the remainder: its height is between 0.5 and 1.5 rows.
    for (const size of [7, 200, 333, 12_345]) {
      const top = snapCell(90, 0, size);
      const h = (top.north - top.south) / (size / SNAP_M_PER_DEG);
      expect(h).toBeGreaterThanOrEqual(0.5);
      expect(h).toBeLessThan(1.5);
    }
    // Cells the size of the globe: one row, one column.
    expect(snapToCell(12, 34, 1e9)).toEqual({ lat: 0, lng: 0 });
  });

  it('refuses hostile input with the geo module’s errors', () => {
    for (const [lat, lng] of [
      [NaN, 0],
      [0, NaN],
      [Infinity, 0],
      [0, -Infinity],
      [90.0000001, 0],
      [-91, 0],
      [0, 180.0000001],
      ['40.7', -74],
      [null, 0],
      [undefined, 0],
      [{}, 0],
      [[40], 0],
    ] as [unknown, unknown][]) {
      expect(code(() => snapToCell(lat as number, lng as number, 200))).toBe('bad_coordinates');
    }
    for (const size of [0, -1, 0.5, NaN, Infinity, -Infinity, '200', null, undefined, {}]) {
      expect(
        code(() => snapToCell(40.7, -74, size as number)),
        String(size),
      ).toBe('bad_cell_size');
    }
  });
});

describe('roundToStep', () => {
  it('rounds half up to multiples of the step', () => {
    expect([0, 24.9, 25, 74.99, 75, 380.2, 4999.9].map((d) => roundToStep(d, 50))).toEqual([0, 0, 50, 50, 100, 400, 5000]);
    expect(roundToStep(123.4, 1)).toBe(123);
  });

  it('refuses hostile input', () => {
    for (const [v, s] of [
      [NaN, 50],
      [Infinity, 50],
      ['10', 50],
      [10, 0],
      [10, -5],
      [10, NaN],
      [10, Infinity],
      [10, '50'],
    ] as [unknown, unknown][]) {
      expect(code(() => roundToStep(v as number, s as number))).toBe('bad_radius');
    }
  });
});
