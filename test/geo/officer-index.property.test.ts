// Property tests: the index answers exactly what brute force answers, on random layouts at the
// awkward places, before and after random sequences of moves, jumps, removes and re-inserts.
import { describe, expect, it } from 'vitest';
import { OfficerIndex } from '../../src/geo/index.js';
import { bruteNearest, bruteWithin, jiggle, LAYOUTS, mulberry32, type Pt } from './fixtures.js';

const OFFICERS = 2500;
const QUERIES = 1500;
const RADII = [0, 30, 300, 2_000, 5_000, 100_000, 25_000_000];

function build(layoutIdx: number, seed: number) {
  const rnd = mulberry32(seed);
  const layout = LAYOUTS[layoutIdx];
  const pts = new Map<string, Pt>();
  const idx = new OfficerIndex();
  for (let i = 0; i < OFFICERS; i++) {
    const p = { id: `o${i}`, ...layout.point(rnd) };
    pts.set(p.id, p);
    idx.upsert(p.id, p.lat, p.lng);
  }
  return { rnd, layout, pts, idx };
}

/** Every query answered as brute force does: same id, or the same distance on a tie. */
function checkQueries(idx: OfficerIndex, pts: Map<string, Pt>, layout: (typeof LAYOUTS)[number], rnd: () => number) {
  const ids = [...pts.keys()];
  for (let q = 0; q < QUERIES; q++) {
    // Half the queries sit on an officer's exact position: radius 0 and ties get exercised.
    const at = q % 4 === 0 && ids.length > 0 ? pts.get(ids[Math.floor(rnd() * ids.length)])! : layout.point(rnd);
    const radius = RADII[q % RADII.length];
    const want = bruteNearest(pts.values(), at.lat, at.lng, radius)[0] ?? null;
    const got = idx.nearestOne(at.lat, at.lng, radius);
    if (want === null) expect(got).toBeNull();
    else {
      expect(got).not.toBeNull();
      if (got!.id !== want.id) expect(got!.dist).toBe(want.dist);
      else expect(got!.dist).toBe(want.dist);
    }
    if (q % 5 === 0) {
      const k = 1 + (q % 9);
      const wantK = bruteNearest(pts.values(), at.lat, at.lng, radius, k).map((h) => h.dist);
      expect(idx.nearest(at.lat, at.lng, { radius, k }).map((h) => h.dist)).toEqual(wantK);
    }
    if (q % 7 === 0) {
      // "available" = ids ending in an even digit; the filter runs inside the search.
      const filter = (id: string) => Number(id[id.length - 1]) % 2 === 0;
      const k = 1 + (q % 3);
      const wantF = bruteNearest(pts.values(), at.lat, at.lng, radius, k, filter).map((h) => h.dist);
      const gotF = idx.nearest(at.lat, at.lng, { radius, k, filter });
      expect(gotF.map((h) => h.dist)).toEqual(wantF);
      for (const h of gotF) expect(filter(h.id)).toBe(true);
    }
    if (q % 11 === 0 && radius <= 5_000) {
      expect(
        idx
          .within(at.lat, at.lng, radius)
          .map((h) => h.id)
          .sort(),
      ).toEqual(bruteWithin(pts.values(), at.lat, at.lng, radius));
    }
  }
}

describe('OfficerIndex equals brute force', () => {
  LAYOUTS.forEach((layout, li) => {
    it(`on ${layout.name}`, () => {
      const { rnd, pts, idx } = build(li, 1000 + li);
      expect(idx.size).toBe(OFFICERS);
      checkQueries(idx, pts, layout, rnd);
    });

    it(`on ${layout.name} after random moves, jumps, removes and re-inserts`, () => {
      const { rnd, pts, idx } = build(li, 2000 + li);
      let next = OFFICERS;
      for (let step = 0; step < 20_000; step++) {
        const ids = [...pts.keys()];
        const r = rnd();
        if (r < 0.8 && ids.length > 0) {
          const p = pts.get(ids[Math.floor(rnd() * ids.length)])!;
          const m = jiggle(p, rnd);
          p.lat = m.lat;
          p.lng = m.lng;
          idx.upsert(p.id, p.lat, p.lng);
        } else if (r < 0.87 && ids.length > 0) {
          const p = pts.get(ids[Math.floor(rnd() * ids.length)])!;
          Object.assign(p, layout.point(rnd));
          idx.upsert(p.id, p.lat, p.lng);
        } else if (r < 0.95 && ids.length > 0) {
          const id = ids[Math.floor(rnd() * ids.length)];
          pts.delete(id);
          expect(idx.remove(id)).toBe(true);
        } else {
          const p = { id: `o${next++}`, ...layout.point(rnd) };
          pts.set(p.id, p);
          idx.upsert(p.id, p.lat, p.lng);
        }
        // Keep the ids array fresh only every so often: building it is the slow part here.
        if (step % 2000 === 1999) expect(idx.size).toBe(pts.size);
      }
      expect(idx.size).toBe(pts.size);
      for (const p of pts.values()) {
        const got = idx.get(p.id)!;
        expect([got.lat, got.lng]).toEqual([p.lat, p.lng]);
      }
      checkQueries(idx, pts, layout, rnd);
    });
  });
});
