// Edge cases of the officer index, named after the behaviour they pin down.
import { describe, expect, it } from 'vitest';
import { GeoError, haversine, OfficerIndex } from '../../src/geo/index.js';

describe('OfficerIndex edge cases', () => {
  it('answers nothing from an empty index', () => {
    const idx = new OfficerIndex();
    expect(idx.size).toBe(0);
    expect(idx.nearestOne(40.7, -74, 5000)).toBeNull();
    expect(idx.nearest(40.7, -74, { radius: 1e7, k: 3 })).toEqual([]);
    expect(idx.within(40.7, -74, 5000)).toEqual([]);
    expect(idx.remove('nobody')).toBe(false);
    expect(idx.get('nobody')).toBeUndefined();
  });

  it('with radius 0 finds only officers at exactly the query point', () => {
    const idx = new OfficerIndex();
    idx.upsert('here', 40.7, -74);
    idx.upsert('near', 40.70001, -74);
    expect(idx.nearestOne(40.7, -74, 0)).toMatchObject({ id: 'here', dist: 0 });
    expect(idx.nearestOne(40.700005, -74, 0)).toBeNull();
    expect(idx.within(40.7, -74, 0).map((h) => h.id)).toEqual(['here']);
  });

  it('counts the radius as inclusive', () => {
    const idx = new OfficerIndex();
    idx.upsert('a', 40.71, -74);
    const d = haversine(40.7, -74, 40.71, -74);
    expect(idx.nearestOne(40.7, -74, d)?.id).toBe('a');
    expect(idx.nearestOne(40.7, -74, d * (1 - 1e-12))).toBeNull();
  });

  it('breaks ties at the same distance by the smallest id', () => {
    const idx = new OfficerIndex();
    for (const id of ['m', 'c', 'x', 'a2']) idx.upsert(id, 40.7, -74);
    idx.upsert('a1', 40.7, -74.001);
    expect(idx.nearestOne(40.7, -74, 100)?.id).toBe('a2');
    expect(idx.nearest(40.7, -74, { radius: 100, k: 4 }).map((h) => h.id)).toEqual(['a2', 'c', 'm', 'x']);
  });

  it('moves an officer when the same id is upserted again, never duplicates it', () => {
    const idx = new OfficerIndex();
    idx.upsert('o', 40.7, -74);
    idx.upsert('o', 34.05, -118.25);
    expect(idx.size).toBe(1);
    expect(idx.get('o')).toEqual({ lat: 34.05, lng: -118.25 });
    expect(idx.nearestOne(40.7, -74, 10_000)).toBeNull();
    expect(idx.nearestOne(34.05, -118.25, 1)?.id).toBe('o');
  });

  it('forgets a removed officer at once and reuses its slot', () => {
    const idx = new OfficerIndex();
    idx.upsert('a', 40.7, -74);
    idx.upsert('b', 40.701, -74);
    expect(idx.remove('a')).toBe(true);
    expect(idx.has('a')).toBe(false);
    expect(idx.nearestOne(40.7, -74, 10_000)?.id).toBe('b');
    idx.upsert('c', 40.7, -74);
    expect(idx.nearestOne(40.7, -74, 10_000)?.id).toBe('c');
    expect(idx.size).toBe(2);
  });

  it('finds the officer across the antimeridian', () => {
    const idx = new OfficerIndex();
    idx.upsert('east', 52, 179.999);
    idx.upsert('far', 52, -179.9);
    const h = idx.nearestOne(52, -179.999, 1000)!;
    expect(h.id).toBe('east');
    expect(h.dist).toBeCloseTo(haversine(52, -179.999, 52, 179.999), 9);
    expect(h.dist).toBeLessThan(200);
  });

  it('treats longitude 180 and -180 as the same meridian', () => {
    const idx = new OfficerIndex();
    idx.upsert('a', 10, 180);
    expect(idx.nearestOne(10, -180, 1)?.id).toBe('a');
    expect(idx.within(10, -180, 1).map((h) => h.id)).toEqual(['a']);
  });

  it('finds officers on the far side of the pole', () => {
    const idx = new OfficerIndex();
    idx.upsert('across', 89.995, 0);
    idx.upsert('same-side-farther', 89.97, 180);
    expect(idx.nearestOne(89.99, 180, 5000)?.id).toBe('across');
    expect(idx.nearestOne(90, 0, 5000)?.id).toBe('across');
    expect(
      idx
        .within(90, 45, 5000)
        .map((h) => h.id)
        .sort(),
    ).toEqual(['across', 'same-side-farther']);
  });

  it('finds the nearest officer on the other side of the globe with a huge radius', () => {
    const idx = new OfficerIndex();
    idx.upsert('sydney', -33.87, 151.21);
    idx.upsert('nyc', 40.7, -74);
    expect(idx.nearestOne(-30, 150, 20_100_000)?.id).toBe('sydney');
    expect(idx.nearestOne(51.5, -0.12, 20_100_000)?.id).toBe('nyc');
    expect(idx.nearest(51.5, -0.12, { radius: 20_100_000, k: 2 }).map((h) => h.id)).toEqual(['nyc', 'sydney']);
  });

  it('applies the filter inside the search, so a filtered-out nearest never hides the next one', () => {
    const idx = new OfficerIndex();
    idx.upsert('busy', 40.7, -74);
    for (let i = 0; i < 50; i++) idx.upsert(`busy${i}`, 40.7 + i * 1e-5, -74);
    idx.upsert('free', 40.75, -74);
    expect(idx.nearestOne(40.7, -74, 10_000, (id) => id === 'free')?.id).toBe('free');
    expect(idx.nearest(40.7, -74, { radius: 10_000, k: 2, filter: (id) => !id.startsWith('busy') }).map((h) => h.id)).toEqual(['free']);
  });

  it('survives a filter that queries the same index again', () => {
    const idx = new OfficerIndex();
    idx.upsert('a', 40.7, -74);
    idx.upsert('b', 40.71, -74);
    const filter = (id: string) => idx.nearestOne(40.71, -74, 10)?.id !== id;
    expect(idx.nearestOne(40.7, -74, 5000, filter)?.id).toBe('a');
    expect(idx.nearestOne(40.71, -74, 5000, filter)?.id).toBe('a');
  });

  it('answers across zip borders: the officer in the next zip wins when nearer', () => {
    const idx = new OfficerIndex();
    idx.upsert('own-zip', 40.75, -73.99);
    idx.upsert('next-zip', 40.7405, -73.99);
    expect(idx.nearestOne(40.741, -73.99, 5000)?.id).toBe('next-zip');
  });

  it('streams within() through a callback and iterates every officer', () => {
    const idx = new OfficerIndex();
    idx.upsert('a', 40.7, -74);
    idx.upsert('b', 40.7001, -74);
    const seen: [string, number][] = [];
    idx.forEachWithin(40.7, -74, 50, (id, dist) => seen.push([id, dist]));
    expect(seen.map((s) => s[0]).sort()).toEqual(['a', 'b']);
    const all: string[] = [];
    idx.forEach((id) => all.push(id));
    expect(all.sort()).toEqual(['a', 'b']);
  });

  it('honours a custom cell size and rejects an absurd one', () => {
    const idx = new OfficerIndex({ cellMeters: 50 });
    idx.upsert('a', 40.7, -74);
    expect(idx.nearestOne(40.72, -74, 5000)?.id).toBe('a');
    expect(() => new OfficerIndex({ cellMeters: 0 })).toThrow(GeoError);
  });
});
