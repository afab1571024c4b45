// The bench's one data generator: officers spread around New York City's ZCTA centroids, moves
// of 1–50 m as phones send them, and query points over the same map. Seeded (mulberry32), so
// every peer and every run sees the same numbers.
import { nycCentroids } from '../load-tests/areas.js';
import { mulberry32 } from '../load-tests/prng.js';

export { mulberry32 };

/** NYC's ZCTA centroids: the bench's map. */
export const NYC_ZIPS = nycCentroids();

const M_PER_DEG = 111_195;
/** Jitter around a zip's centroid: standard deviation in metres. */
const SPREAD_M = 700;

export interface Officers {
  n: number;
  ids: string[];
  zip: string[];
  lat: Float64Array;
  lng: Float64Array;
}

/** A standard normal draw (Box–Muller). */
function gauss(rnd: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
}

export function makeOfficers(n: number, seed = 1): Officers {
  const rnd = mulberry32(seed);
  const o: Officers = { n, ids: [], zip: [], lat: new Float64Array(n), lng: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    const z = NYC_ZIPS[i % NYC_ZIPS.length];
    o.ids.push(`officer-${i}`);
    o.zip.push(z.zip);
    o.lat[i] = z.lat + (gauss(rnd) * SPREAD_M) / M_PER_DEG;
    o.lng[i] = z.lng + (gauss(rnd) * SPREAD_M) / (M_PER_DEG * Math.cos((z.lat * Math.PI) / 180));
  }
  return o;
}

/** `count` moves: which officer (random order) and a displacement of 1–50 m in degrees. */
export interface Moves {
  count: number;
  who: Int32Array;
  dLat: Float64Array;
  dLng: Float64Array;
}

export function makeMoves(n: number, count: number, seed = 2): Moves {
  const rnd = mulberry32(seed);
  const m: Moves = { count, who: new Int32Array(count), dLat: new Float64Array(count), dLng: new Float64Array(count) };
  for (let i = 0; i < count; i++) {
    m.who[i] = Math.floor(rnd() * n);
    const d = 1 + rnd() * 49;
    const th = rnd() * 2 * Math.PI;
    m.dLat[i] = (d * Math.cos(th)) / M_PER_DEG;
    m.dLng[i] = (d * Math.sin(th)) / (M_PER_DEG * 0.758);
  }
  return m;
}

/** Citizens: half near a zip centroid (where officers are), half anywhere in the city's box. */
export function makeQueries(count: number, seed = 3): { lat: Float64Array; lng: Float64Array } {
  const rnd = mulberry32(seed);
  const lat = new Float64Array(count);
  const lng = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    if (i % 2 === 0) {
      const z = NYC_ZIPS[Math.floor(rnd() * NYC_ZIPS.length)];
      lat[i] = z.lat + (gauss(rnd) * SPREAD_M) / M_PER_DEG;
      lng[i] = z.lng + (gauss(rnd) * SPREAD_M) / (M_PER_DEG * 0.758);
    } else {
      lat[i] = 40.5 + rnd() * 0.41;
      lng[i] = -74.25 + rnd() * 0.55;
    }
  }
  return { lat, lng };
}
