// The movement model: citizens walk (~1.4 m/s) and report every 2–5 s, or sooner after 10 m;
// officers drive (8–14 m/s) or walk, and report every 1–3 s. Headings wander; devices turn back
// at the edge of their area (areas.ts). Seeded per device, so a run is reproducible.
import { inBounds, nycArea, offset, type Area, type Bounds } from './areas.js';
import { uniform, type Random } from './prng.js';

export interface Mover {
  lat: number;
  lng: number;
  /** Radians from north. */
  heading: number;
  /** m/s */
  speed: number;
  /** Report interval bounds, ms. */
  minIntervalMs: number;
  maxIntervalMs: number;
  /** Report early once this far from the last report, metres (0: never). */
  reportDistanceM: number;
  /** The box it turns back at. */
  readonly bounds: Bounds;
  readonly r: Random;
}

const NYC = nycArea();

export function newCitizen(r: Random, meanIntervalMs?: number, area: Area = NYC): Mover {
  const p = area.placeCitizen(r);
  // With --rate the mean interval is set by the total rate, spread ±50 %, and the 10 m trigger is
  // off: otherwise walking citizens would report every ~7 s whatever rate was asked for.
  const [minI, maxI] = meanIntervalMs ? [meanIntervalMs * 0.5, meanIntervalMs * 1.5] : [2000, 5000];
  const reportDistanceM = meanIntervalMs ? 0 : 10;
  return {
    lat: p.lat,
    lng: p.lng,
    heading: r() * 2 * Math.PI,
    speed: uniform(r, 1.1, 1.7),
    minIntervalMs: minI,
    maxIntervalMs: maxI,
    reportDistanceM,
    bounds: p.bounds,
    r,
  };
}

/** `meanIntervalMs` (from --officer-rate): report every 0.5–1.5 × it instead of every 1–3 s. */
export function newOfficer(r: Random, area: Area = NYC, meanIntervalMs?: number): Mover {
  const p = area.placeOfficer(r);
  const driving = r() < 0.6;
  const [minI, maxI] = meanIntervalMs ? [meanIntervalMs * 0.5, meanIntervalMs * 1.5] : [1000, 3000];
  return {
    lat: p.lat,
    lng: p.lng,
    heading: r() * 2 * Math.PI,
    speed: driving ? uniform(r, 8, 14) : uniform(r, 1.2, 1.6),
    minIntervalMs: minI,
    maxIntervalMs: maxI,
    reportDistanceM: 0,
    bounds: p.bounds,
    r,
  };
}

/** The wait before the next report: the drawn interval, or sooner when the distance trigger fires. */
export function nextInterval(m: Mover): number {
  const interval = uniform(m.r, m.minIntervalMs, m.maxIntervalMs);
  if (m.reportDistanceM > 0 && m.speed > 0) return Math.min(interval, (m.reportDistanceM / m.speed) * 1000);
  return interval;
}

/** Advances the device by `ms` of movement. */
export function advance(m: Mover, ms: number): void {
  m.heading += uniform(m.r, -0.5, 0.5); // a gentle wander, ~±30° per report
  let [lat, lng] = offset(m.lat, m.lng, (m.speed * ms) / 1000, m.heading);
  if (!inBounds(m.bounds, lat, lng)) {
    m.heading += Math.PI;
    [lat, lng] = offset(m.lat, m.lng, (m.speed * ms) / 1000, m.heading);
    if (!inBounds(m.bounds, lat, lng)) return; // stay put rather than leave the area
  }
  m.lat = lat;
  m.lng = lng;
}
