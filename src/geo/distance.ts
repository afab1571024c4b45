// Great-circle distance and coordinate checks.
//
// The index ranks candidates by the haversine term `a` (monotone in distance, no asin) and only
// turns winners into metres. `havA` and `haversine` below are the single definition of that
// arithmetic: the index inlines the very same operations in the very same order, so its
// distances are bit-identical to `haversine()` and a brute-force check can compare them exactly.
import { GeoError } from './errors.js';

/** Mean Earth radius (IUGG), metres. */
export const EARTH_RADIUS_M = 6_371_008.8;
export const RAD = Math.PI / 180;

/** The haversine term a = sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2) ∈ [0, 1]. */
export function havA(lat1: number, lng1: number, lat2: number, lng2: number): number {
  const sLat = Math.sin(((lat2 - lat1) * RAD) / 2);
  const sLng = Math.sin(((lng2 - lng1) * RAD) / 2);
  return sLat * sLat + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * (sLng * sLng);
}

/** Metres for a haversine term. */
export function aToDist(a: number): number {
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** Haversine term for a distance in metres (1 for anything at or beyond the antipode). */
export function distToA(metres: number): number {
  const half = metres / (2 * EARTH_RADIUS_M);
  if (half >= Math.PI / 2) return 1;
  const s = Math.sin(half);
  return s * s;
}

/** Great-circle (haversine) distance in metres. */
export function haversine(lat1: number, lng1: number, lat2: number, lng2: number): number {
  return aToDist(havA(lat1, lng1, lat2, lng2));
}

export function isValidLatLng(lat: number, lng: number): boolean {
  return typeof lat === 'number' && typeof lng === 'number' && lat >= -90 && lat <= 90 && lng >= -180 && lng <= 180;
}

export function assertLatLng(lat: number, lng: number): void {
  if (!isValidLatLng(lat, lng)) throw new GeoError('bad_coordinates', `coordinates out of range or not numbers: lat must be in [-90, 90], lng in [-180, 180]`);
}

export function assertRadius(radius: number): void {
  if (typeof radius !== 'number' || !(radius >= 0) || radius === Infinity) throw new GeoError('bad_radius', 'radius must be a finite number of metres >= 0');
}

export function assertId(id: string): void {
  if (typeof id !== 'string' || id.length === 0) throw new GeoError('bad_id', 'id must be a non-empty string');
}
