// The officer index: available officers by id, exact nearest and within-radius by great-circle
// distance.
//
// Design (why it looks like this):
// * One global grid of ~300 m cells (`grid.ts`: rows of equal latitude height, per-row column
//   count, columns wrap at ±180°), cells found through 8×8 blocks in an int-pair hash table
//   (`block-map.ts`). A cell key is two multiplications and a floor — no H3 call (≈1 µs across
//   the WASM boundary) on the update path. A move that stays in its cell is one Map lookup
//   (id → slot) and three typed-array writes (lat, lng, cos lat); a move to another cell is a
//   swap-remove from one cell's chunk and an append to the other's.
// * No structure per zip: zip areas differ by orders of magnitude (a Manhattan ZCTA is 500 m
//   across, an Alaskan one hundreds of km) and an officer need not be near its zip's centroid, so
//   a per-zip structure would force every query to search all zips that might reach it. With one
//   grid, `nearest` is exact across zip (and node) borders by construction. Zip ownership is the
//   orchestrator's (rendezvous hashing); replication between processors is by position cell.
// * Storage is dense (`officer-store.ts`): id → slot via Map, each cell's officers contiguous in
//   one Float64Array pool (a query scans consecutive memory, not one cache line per officer),
//   freed slots, cells and chunks are reused.
// * Nearest = ring search (`officer-search.ts`): ring k around the query cell, stopping when a rigorous lower bound
//   of the distance to anything outside square k exceeds the k-th best (or the radius). Ranking
//   uses the haversine term with the very arithmetic of `haversine()`, so results are
//   bit-identical to brute force; a latitude band and a trigonometry-free bound reject most
//   candidates before any sine. Searches that would walk more empty cells than the index has
//   occupied cells (huge radius in an empty region) switch to scanning the occupied cells.
// * The filter runs inside the search on candidates that would enter the top k, never after a
//   truncated search, so "nearest available" never comes back empty by mistake.
import { assertId, assertLatLng, assertRadius } from './distance.js';
import { GeoError } from './errors.js';
import { gridFor } from './grid.js';
import { Search, type WithinCallback } from './officer-search.js';
import { OfficerStore, SLOT_INTS } from './officer-store.js';

export interface Hit {
  id: string;
  lat: number;
  lng: number;
  /** Great-circle distance from the query point, metres. */
  dist: number;
}

export interface NearestOptions {
  /** Search radius in metres (inclusive). */
  radius: number;
  /** How many hits at most (default 1). */
  k?: number;
  /** Only ids for which this returns true are candidates (applied inside the search, never after a truncated one). */
  filter?: (id: string) => boolean;
}

export interface OfficerPosition {
  lat: number;
  lng: number;
}

export interface OfficerIndexOptions {
  /** Grid cell size in metres (default 300: best measured at 100k officers over NYC; smaller cells suit denser indexes). */
  cellMeters?: number;
}

export interface OfficerIndexStats {
  officers: number;
  /** Occupied grid cells. */
  cells: number;
}

export const DEFAULT_CELL_METERS = 300;
const M_PER_DEG = 6_371_008.8 * (Math.PI / 180);

export class OfficerIndex {
  private readonly st: OfficerStore;
  private readonly search: Search;

  constructor(opts: OfficerIndexOptions = {}) {
    const m = opts.cellMeters ?? DEFAULT_CELL_METERS;
    if (typeof m !== 'number' || !(m >= 10 && m <= 100_000)) throw new GeoError('bad_radius', 'cellMeters must be between 10 and 100000');
    this.st = new OfficerStore(gridFor(m / M_PER_DEG));
    this.search = new Search(this.st);
  }

  get size(): number {
    return this.st.slotOf.size;
  }

  /** Inserts or moves an officer. A move within its grid cell rewrites three numbers in place. */
  upsert(id: string, lat: number, lng: number): void {
    if (typeof lat !== 'number' || typeof lng !== 'number' || !(lat >= -90 && lat <= 90 && lng >= -180 && lng <= 180)) assertLatLng(lat, lng);
    const st = this.st;
    const row = st.grid.rowOf(lat);
    const col = st.grid.colOf(row, lng);
    const s = st.slotOf.get(id);
    if (s === undefined) {
      assertId(id);
      st.link(st.allocSlot(id), row, col, lat, lng);
      return;
    }
    const m = s * SLOT_INTS;
    if (st.meta[m] !== row || st.meta[m + 1] !== col) {
      st.unlink(s);
      st.link(s, row, col, lat, lng);
    } else {
      st.write(s, lat, lng);
    }
  }

  remove(id: string): boolean {
    const s = this.st.slotOf.get(id);
    if (s === undefined) return false;
    this.st.freeSlot(s);
    return true;
  }

  has(id: string): boolean {
    return this.st.slotOf.has(id);
  }

  get(id: string): Readonly<OfficerPosition> | undefined {
    const s = this.st.slotOf.get(id);
    if (s === undefined) return undefined;
    return { lat: this.st.latOf(s), lng: this.st.lngOf(s) };
  }

  /** The k nearest officers within radius (inclusive), nearest first; equal distances by id. */
  nearest(lat: number, lng: number, opts: NearestOptions): Hit[] {
    const k = opts.k ?? 1;
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) throw new GeoError('bad_radius', 'k must be an integer >= 1');
    const se = this.begin(lat, lng, opts.radius);
    const n = se.nearest(lat, lng, opts.radius, k, opts.filter);
    const out: Hit[] = [];
    for (let i = 0; i < n; i++) out.push(this.hit(se.slots[i], se.dist[i]));
    return out;
  }

  nearestOne(lat: number, lng: number, radius: number, filter?: (id: string) => boolean): Hit | null {
    const se = this.begin(lat, lng, radius);
    return se.nearest(lat, lng, radius, 1, filter) === 0 ? null : this.hit(se.slots[0], se.dist[0]);
  }

  /** Every officer within radius (inclusive), in no particular order. */
  within(lat: number, lng: number, radius: number): Hit[] {
    const out: Hit[] = [];
    this.forEachWithin(lat, lng, radius, (id, dist, olat, olng) => out.push({ id, lat: olat, lng: olng, dist }));
    return out;
  }

  /** Calls back every officer within radius (inclusive) without building an array. Do not change the index from the callback. */
  forEachWithin(lat: number, lng: number, radius: number, cb: WithinCallback): void {
    this.begin(lat, lng, radius).within(lat, lng, radius, cb);
  }

  /** Calls back every officer. */
  forEach(cb: (id: string, lat: number, lng: number) => void): void {
    const st = this.st;
    for (const [id, s] of st.slotOf) cb(id, st.latOf(s), st.lngOf(s));
  }

  stats(): OfficerIndexStats {
    return { officers: this.st.slotOf.size, cells: this.st.table.size };
  }

  /** Validates a query and picks the search state (a fresh one if a filter re-entered the index). */
  private begin(lat: number, lng: number, radius: number): Search {
    if (typeof lat !== 'number' || typeof lng !== 'number' || !(lat >= -90 && lat <= 90 && lng >= -180 && lng <= 180)) assertLatLng(lat, lng);
    if (typeof radius !== 'number' || !(radius >= 0) || radius === Infinity) assertRadius(radius);
    return this.search.running ? new Search(this.st) : this.search;
  }

  private hit(s: number, dist: number): Hit {
    return { id: this.st.ids[s], lat: this.st.latOf(s), lng: this.st.lngOf(s), dist };
  }
}
