// The replication key: every point within the radius of a citizen lies in a cell of the citizen's
// covering set (exactness of cross-node nearest rests on it), including the antimeridian and the
// poles; and the wire format refuses hostile payloads.
import { describe, expect, it } from 'vitest';
import { CellGrid } from '../../src/distributed/cells.js';
import { parseBatch, parseSnapshotEntry, snapshotField, snapshotValue } from '../../src/distributed/wire.js';
import { haversine } from '../../src/geo/index.js';
import { prng } from './fixture.js';

/** A point at `dist` metres and `bearing` radians from (lat, lng) on the sphere. */
function destination(lat: number, lng: number, dist: number, bearing: number): { lat: number; lng: number } {
  const R = 6_371_008.8;
  const d = dist / R;
  const p1 = (lat * Math.PI) / 180;
  const l1 = (lng * Math.PI) / 180;
  const p2 = Math.asin(Math.sin(p1) * Math.cos(d) + Math.cos(p1) * Math.sin(d) * Math.cos(bearing));
  const l2 = l1 + Math.atan2(Math.sin(bearing) * Math.sin(d) * Math.cos(p1), Math.cos(d) - Math.sin(p1) * Math.sin(p2));
  let lngOut = (l2 * 180) / Math.PI;
  lngOut = ((((lngOut + 180) % 360) + 360) % 360) - 180;
  return { lat: (p2 * 180) / Math.PI, lng: lngOut };
}

describe('CellGrid', () => {
  for (const radius of [5000, 250, 50_000]) {
    it(`covers every point within ${radius} m (random centres, also near the antimeridian and the poles)`, () => {
      const grid = new CellGrid(radius);
      const rnd = prng(radius);
      const centres = [
        ...Array.from({ length: 300 }, () => ({ lat: -85 + rnd() * 170, lng: -180 + rnd() * 360 })),
        { lat: 51.2, lng: 179.99 },
        { lat: -16.5, lng: -179.995 },
        { lat: 89.99, lng: 12 },
        { lat: -89.95, lng: -100 },
        { lat: 79.97, lng: 45 },
        { lat: 40.758, lng: -73.9855 },
      ];
      for (const c of centres) {
        const cells = new Set(grid.cellsWithin(c.lat, c.lng, radius));
        expect(cells.size).toBeLessThan(200);
        for (let k = 0; k < 40; k++) {
          // Points on and just inside the circle, where a too-small box would miss a cell.
          const p = destination(c.lat, c.lng, radius * (k % 4 === 0 ? rnd() : 0.999999), rnd() * 2 * Math.PI);
          if (haversine(c.lat, c.lng, p.lat, p.lng) > radius) continue;
          expect(cells.has(grid.cellOf(p.lat, p.lng)), `${JSON.stringify(c)} → ${JSON.stringify(p)}`).toBe(true);
        }
      }
    });
  }

  it('derives the same grid from the same radius on every node, and a small one for tiny radii', () => {
    expect(new CellGrid(5000).tag).toBe(new CellGrid(5000).tag);
    expect(new CellGrid(0).step).toBeGreaterThanOrEqual(0.01);
    expect(new CellGrid(0).cellsWithin(40, -70, 0).length).toBeGreaterThan(0);
  });
});

describe('replication wire format', () => {
  it('accepts a well-formed batch and snapshot entry', () => {
    expect(parseBatch(JSON.stringify({ n: 'p1', v: 1, u: [['o1', 40.7, -73.9, { name: 'x' }]], r: ['o2'] }))).toBeDefined();
    const e = parseSnapshotEntry(snapshotField('p1', 'o1'), snapshotValue(40.7, -73.9, { name: 'x' }, 5));
    expect(e).toEqual({ node: 'p1', version: 5, upsert: ['o1', 40.7, -73.9, { name: 'x' }] });
  });

  it('refuses hostile payloads without throwing', () => {
    const bad: unknown[] = [
      '',
      'not json',
      'null',
      '[]',
      '{"n":"p1","v":1,"u":[],"r":"x"}',
      '{"n":"","v":1,"u":[],"r":[]}',
      '{"n":"p1","v":"1","u":[],"r":[]}',
      '{"n":"p1","v":NaN,"u":[],"r":[]}',
      '{"n":"p1","v":-1,"u":[],"r":[]}',
      JSON.stringify({ n: 'p1', v: 1, u: [['o1', 91, 0, {}]], r: [] }),
      JSON.stringify({ n: 'p1', v: 1, u: [['o1', 0, 181, {}]], r: [] }),
      JSON.stringify({ n: 'p1', v: 1, u: [['o1', '40', 0, {}]], r: [] }),
      JSON.stringify({ n: 'p1', v: 1, u: [['o1', 40, 0, null]], r: [] }),
      JSON.stringify({ n: 'p1', v: 1, u: [['x'.repeat(300), 40, 0, {}]], r: [] }),
      JSON.stringify({ n: 'p1', v: 1, u: [], r: [42] }),
      JSON.stringify({ n: 'p1', v: 1, u: [], r: ['a'.repeat(300 * 1024)] }),
      42,
    ];
    for (const b of bad) expect(parseBatch(b as string), String(b).slice(0, 60)).toBeUndefined();
    expect(parseSnapshotEntry('garbage', '[1,2,{},3]')).toBeUndefined();
    expect(parseSnapshotEntry('["p1","o1"]', 'garbage')).toBeUndefined();
    expect(parseSnapshotEntry('["p1","o1"]', '[100,2,{},3]')).toBeUndefined();
    expect(parseSnapshotEntry('["p1","o1"]', '[1,2,{},"3"]')).toBeUndefined();
    expect(parseSnapshotEntry('["p1"]', '[1,2,{},3]')).toBeUndefined();
  });
});
