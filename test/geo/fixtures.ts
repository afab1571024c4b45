// Shared generators for the geo tests: a seeded PRNG and officer layouts at the awkward places.
import { haversine } from '../../src/geo/index.js';
import { mulberry32 } from '../../load-tests/prng.js';

export { mulberry32 };

export interface Pt {
  id: string;
  lat: number;
  lng: number;
}

export interface Layout {
  name: string;
  /** Draws a random point of the layout's area (officer or query). */
  point(rnd: () => number): { lat: number; lng: number };
}

const clampLat = (x: number) => Math.max(-90, Math.min(90, x));
/** Wraps a longitude into [-180, 180]. */
export const wrapLng = (x: number) => (x > 180 ? x - 360 : x < -180 ? x + 360 : x);

function box(lat0: number, lat1: number, lng0: number, lng1: number) {
  return (rnd: () => number) => ({ lat: lat0 + rnd() * (lat1 - lat0), lng: wrapLng(lng0 + rnd() * (lng1 - lng0)) });
}

/** A gaussian-ish offset (sum of uniforms) in degrees around a centre. */
function around(c: { lat: number; lng: number }, sdKm: number, rnd: () => number) {
  const g = () => (rnd() + rnd() + rnd() - 1.5) * 2;
  const dLat = (g() * sdKm) / 111.2;
  const dLng = (g() * sdKm) / (111.2 * Math.max(0.05, Math.cos((c.lat * Math.PI) / 180)));
  return { lat: clampLat(c.lat + dLat), lng: wrapLng(c.lng + dLng) };
}

export const LAYOUTS: Layout[] = [
  { name: 'uniform over a metro (NYC)', point: box(40.5, 40.92, -74.26, -73.7) },
  {
    name: 'clustered around a few points',
    point: (rnd) => {
      const centres = [
        { lat: 40.758, lng: -73.9855 },
        { lat: 40.6782, lng: -73.9442 },
        { lat: 40.7282, lng: -73.7949 },
        { lat: 40.8448, lng: -73.8648 },
      ];
      return around(centres[Math.floor(rnd() * centres.length)], rnd() < 0.8 ? 0.3 : 3, rnd);
    },
  },
  {
    name: 'several zips (Manhattan ZCTA centroids, tight)',
    point: (rnd) => {
      const zips = [
        { lat: 40.75065, lng: -73.997293 },
        { lat: 40.715969, lng: -73.986895 },
        { lat: 40.731865, lng: -73.989124 },
        { lat: 40.689805, lng: -74.017389 },
        { lat: 40.706215, lng: -74.008687 },
      ];
      return around(zips[Math.floor(rnd() * zips.length)], 0.8, rnd);
    },
  },
  { name: 'across the antimeridian (Aleutians)', point: box(51, 53, 178.5, 181.5) },
  { name: 'high latitude (northern Alaska)', point: box(68, 71.5, -168, -141) },
  { name: 'around the north pole', point: box(89.2, 90, -180, 180) },
  { name: 'the whole globe, sparse', point: (rnd) => ({ lat: (Math.asin(2 * rnd() - 1) * 180) / Math.PI, lng: -180 + 360 * rnd() }) },
];

/** Brute-force nearest k (by haversine, ties by id) within radius, optional filter. */
export function bruteNearest(pts: Iterable<Pt>, lat: number, lng: number, radius: number, k = 1, filter?: (id: string) => boolean) {
  const all: { id: string; dist: number }[] = [];
  for (const p of pts) {
    if (filter && !filter(p.id)) continue;
    const dist = haversine(lat, lng, p.lat, p.lng);
    if (dist <= radius) all.push({ id: p.id, dist });
  }
  all.sort((a, b) => a.dist - b.dist || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return all.slice(0, k);
}

export function bruteWithin(pts: Iterable<Pt>, lat: number, lng: number, radius: number): string[] {
  const out: string[] = [];
  for (const p of pts) if (haversine(lat, lng, p.lat, p.lng) <= radius) out.push(p.id);
  return out.sort();
}

/** A move of 1–50 m in a random direction. */
export function jiggle(p: { lat: number; lng: number }, rnd: () => number) {
  const m = 1 + rnd() * 49;
  const th = rnd() * 2 * Math.PI;
  const lat = clampLat(p.lat + (m * Math.cos(th)) / 111_200);
  const lng = wrapLng(p.lng + (m * Math.sin(th)) / (111_200 * Math.max(1e-6, Math.cos((lat * Math.PI) / 180))));
  return { lat, lng: Math.max(-180, Math.min(180, lng)) };
}
