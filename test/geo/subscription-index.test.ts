// The subscription index answers "which watch circles contain this point" exactly as brute
// force does, at the awkward places, through moves and radius changes; plus edge and hostile cases.
import { describe, expect, it } from 'vitest';
import { GeoError, haversine, SubscriptionIndex } from '../../src/geo/index.js';
import { jiggle, LAYOUTS, mulberry32 } from './fixtures.js';

interface Circle {
  id: string;
  lat: number;
  lng: number;
  radius: number;
}

/** Radii as Beacon sets them: mostly the distance to the nearest officer, some search radii, a few huge. */
function radius(rnd: () => number): number {
  const r = rnd();
  if (r < 0.05) return 0;
  if (r < 0.7) return rnd() * 2_000;
  if (r < 0.9) return 5_000;
  if (r < 0.97) return 100_000;
  return rnd() * 3_000_000;
}

function brute(circles: Map<string, Circle>, lat: number, lng: number): string[] {
  const out: string[] = [];
  for (const c of circles.values()) if (haversine(lat, lng, c.lat, c.lng) <= c.radius) out.push(c.id);
  return out.sort();
}

function query(idx: SubscriptionIndex, lat: number, lng: number): string[] {
  const out: string[] = [];
  idx.forEachContaining(lat, lng, (id) => out.push(id));
  return out.sort();
}

describe('SubscriptionIndex equals brute force', () => {
  LAYOUTS.forEach((layout, li) => {
    it(`on ${layout.name}, before and after moves, radius changes and removes`, () => {
      const rnd = mulberry32(3000 + li);
      const idx = new SubscriptionIndex();
      const circles = new Map<string, Circle>();
      for (let i = 0; i < 1500; i++) {
        const c = { id: `c${i}`, ...layout.point(rnd), radius: radius(rnd) };
        circles.set(c.id, c);
        idx.set(c.id, c.lat, c.lng, c.radius);
      }
      const check = () => {
        const ids = [...circles.keys()];
        for (let q = 0; q < 1000; q++) {
          // Every third query sits on a circle's rim or centre: inclusiveness gets exercised.
          let p = layout.point(rnd);
          if (q % 3 === 0 && ids.length) {
            const c = circles.get(ids[Math.floor(rnd() * ids.length)])!;
            p = q % 2 ? { lat: c.lat, lng: c.lng } : jiggle(c, rnd);
          }
          expect(query(idx, p.lat, p.lng)).toEqual(brute(circles, p.lat, p.lng));
        }
      };
      check();
      for (let step = 0; step < 10_000; step++) {
        const ids = [...circles.keys()];
        const c = circles.get(ids[Math.floor(rnd() * ids.length)])!;
        const r = rnd();
        if (r < 0.6) {
          Object.assign(c, jiggle(c, rnd));
          c.radius = Math.max(0, c.radius + (rnd() - 0.5) * 40);
        } else if (r < 0.8) c.radius = radius(rnd);
        else if (r < 0.9) Object.assign(c, layout.point(rnd));
        else {
          circles.delete(c.id);
          expect(idx.remove(c.id)).toBe(true);
          continue;
        }
        idx.set(c.id, c.lat, c.lng, c.radius);
      }
      expect(idx.size).toBe(circles.size);
      check();
    });
  });
});

describe('SubscriptionIndex edge cases', () => {
  it('finds nothing in an empty index', () => {
    expect(query(new SubscriptionIndex(), 40.7, -74)).toEqual([]);
  });

  it('with radius 0 contains only its exact centre', () => {
    const idx = new SubscriptionIndex();
    idx.set('c', 40.7, -74, 0);
    expect(query(idx, 40.7, -74)).toEqual(['c']);
    expect(query(idx, 40.700001, -74)).toEqual([]);
  });

  it('counts the rim as inside', () => {
    const idx = new SubscriptionIndex();
    const d = haversine(40.7, -74, 40.71, -74);
    idx.set('c', 40.7, -74, d);
    expect(query(idx, 40.71, -74)).toEqual(['c']);
    idx.set('c', 40.7, -74, d * (1 - 1e-12));
    expect(query(idx, 40.71, -74)).toEqual([]);
  });

  it('moves a circle when its id is set again and forgets it on remove', () => {
    const idx = new SubscriptionIndex();
    idx.set('c', 40.7, -74, 100);
    idx.set('c', 34.05, -118.25, 100);
    expect(idx.size).toBe(1);
    expect(query(idx, 40.7, -74)).toEqual([]);
    expect(query(idx, 34.05, -118.25)).toEqual(['c']);
    expect(idx.remove('c')).toBe(true);
    expect(idx.remove('c')).toBe(false);
    expect(query(idx, 34.05, -118.25)).toEqual([]);
  });

  it('sees a circle across the antimeridian and over the pole', () => {
    const idx = new SubscriptionIndex();
    idx.set('aleut', 52, 179.99, 3_000);
    idx.set('polar', 89.99, 0, 5_000);
    expect(query(idx, 52, -179.99)).toEqual(['aleut']);
    expect(query(idx, 89.99, 180)).toEqual(['polar']);
  });

  it('keeps circles bigger than every level in the overflow list', () => {
    const idx = new SubscriptionIndex();
    idx.set('huge', 0, 0, 19_000_000);
    expect(idx.levelSizes().at(-1)).toBe(1);
    expect(query(idx, 45, 170)).toEqual(['huge']);
    idx.set('huge', 0, 0, 10);
    expect(idx.levelSizes().at(-1)).toBe(0);
  });
});

describe('SubscriptionIndex hostile input', () => {
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(GeoError);
      return (e as GeoError).code;
    }
    return undefined;
  };

  it('refuses bad coordinates, radii and ids without indexing anything', () => {
    const idx = new SubscriptionIndex();
    for (const [lat, lng] of [
      [NaN, 0],
      [0, Infinity],
      [91, 0],
      [0, -181],
      ['1', 0],
      [null, 0],
    ] as [unknown, unknown][]) {
      expect(code(() => idx.set('c', lat as number, lng as number, 10))).toBe('bad_coordinates');
      expect(code(() => idx.forEachContaining(lat as number, lng as number, () => {}))).toBe('bad_coordinates');
    }
    for (const r of [-1, NaN, Infinity, '10', null]) expect(code(() => idx.set('c', 40, -74, r as number))).toBe('bad_radius');
    for (const id of ['', 7, null, undefined]) expect(code(() => idx.set(id as string, 40, -74, 10))).toBe('bad_id');
    expect(idx.size).toBe(0);
  });

  it('keeps a circle unchanged when a bad update is refused', () => {
    const idx = new SubscriptionIndex();
    idx.set('c', 40.7, -74, 100);
    expect(code(() => idx.set('c', NaN, -74, 100))).toBe('bad_coordinates');
    expect(code(() => idx.set('c', 40.7, -74, -5))).toBe('bad_radius');
    expect(query(idx, 40.7, -74)).toEqual(['c']);
  });
});
