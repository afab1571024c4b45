// The search bounds its work with trigonometry-free stop and radius bounds (officer-search.ts);
// they must never cost exactness. Radii set to an officer's exact distance (inclusive), a hair
// below and above, changing from query to query and repeating, against brute force.
import { describe, expect, it } from 'vitest';
import { haversine, OfficerIndex } from '../../src/geo/index.js';
import { bruteNearest, bruteWithin, LAYOUTS, mulberry32, type Pt } from './fixtures.js';

describe('radius and stop bounds', () => {
  for (const layout of LAYOUTS) {
    it(`answers as brute force at radius = an officer's exact distance, ±1 ulp-ish, on ${layout.name}`, () => {
      const rnd = mulberry32(77);
      const pts: Pt[] = [];
      const idx = new OfficerIndex();
      for (let i = 0; i < 1500; i++) {
        const p = { id: `o${i}`, ...layout.point(rnd) };
        pts.push(p);
        idx.upsert(p.id, p.lat, p.lng);
      }
      for (let q = 0; q < 600; q++) {
        const at = layout.point(rnd);
        const target = pts[Math.floor(rnd() * pts.length)];
        const exact = haversine(at.lat, at.lng, target.lat, target.lng);
        const radius = [exact, exact * (1 - 1e-15), exact * (1 + 1e-15), exact + 0.0005, Math.max(0, exact - 0.0005)][q % 5];
        for (const k of [1, 3]) {
          const want = bruteNearest(pts, at.lat, at.lng, radius, k).map((h) => h.dist);
          expect(idx.nearest(at.lat, at.lng, { radius, k }).map((h) => h.dist)).toEqual(want);
          // The same radius again (the search keeps the last radius' bounds).
          expect(idx.nearest(at.lat, at.lng, { radius, k }).map((h) => h.dist)).toEqual(want);
        }
        const one = idx.nearestOne(at.lat, at.lng, radius);
        const wantOne = bruteNearest(pts, at.lat, at.lng, radius)[0] ?? null;
        expect(one?.dist ?? null).toBe(wantOne?.dist ?? null);
        if (q % 10 === 0)
          expect(
            idx
              .within(at.lat, at.lng, radius)
              .map((h) => h.id)
              .sort(),
          ).toEqual(bruteWithin(pts, at.lat, at.lng, radius));
      }
    });
  }
});
