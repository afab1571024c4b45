// The reverse index for live re-pushes. A subscriber (citizen) watches a circle around its
// position; when an officer appears, moves or leaves at a point, the processor asks which circles
// contain that point.
//
// Design: a hierarchy of loose grids (`grid.ts` geometry at cell sizes 222 m · 2^L). A circle
// lives in exactly one cell: the one holding its centre, at the finest level whose cells are at
// least as tall as the radius and, in that row, at least as wide as the circle's longitude
// extent. Then every point of the circle lies in the 3×3 cells around the centre's cell, so a
// point query looks at 3×3 cells per level that has any circle (a dozen levels at most, most of
// them empty in practice). A citizen that moves within its cell or whose radius stays in its
// level costs a Map lookup and a few typed-array writes; otherwise two list relinks. Circles too
// big for any level (or capping a pole in a level with many columns) go to an overflow list
// checked by brute force.
import { CellTable } from './cell-table.js';
import { assertId, assertLatLng, assertRadius, distToA } from './distance.js';
import { gridFor, type LatLngGrid } from './grid.js';
import { grow } from './grow.js';

/** Level 0 row height: 180° / 90,000 rows ≈ 222 m. */
const BASE_ROWS = 90_000;
/** Level 13 cells are ≈ 1,800 km tall; larger circles overflow. */
const LEVELS = 14;
const NONE = -1;
/** Cell 0 is the overflow list, never in the table. */
const OVERFLOW = 0;
const FIT = 1 - 1e-9;
// Local constants: under tsx an imported binding is a getter call on every use.
const RAD = Math.PI / 180;
const TWO_R = 2 * 6_371_008.8;
const DEG_PER_M = 1 / (6_371_008.8 * RAD);

export class SubscriptionIndex {
  private readonly grids: LatLngGrid[] = [];
  private readonly slotOf = new Map<string, number>();
  private ids: string[] = [];
  private lat = new Float64Array(0);
  private lng = new Float64Array(0);
  private cosLat = new Float64Array(0);
  private radius = new Float64Array(0);
  /** Haversine term of the radius, slightly inflated: a cheap pre-check before the exact one. */
  private radA = new Float64Array(0);
  private cellOf = new Int32Array(0);
  private next = new Int32Array(0);
  private prev = new Int32Array(0);
  private readonly freeSlots: number[] = [];
  private slotHw = 0;

  private readonly table = new CellTable();
  private cellA = new Int32Array(256);
  private cellB = new Int32Array(256);
  private cellHead = new Int32Array(256).fill(NONE);
  private cellCount = new Int32Array(256);
  private cellLevel = new Int32Array(256);
  private readonly freeCells: number[] = [];
  private cellHw = 1;
  private readonly levelCount = new Int32Array(LEVELS + 1);

  constructor() {
    for (let l = 0; l < LEVELS; l++) this.grids.push(gridFor(180 / Math.max(1, Math.round(BASE_ROWS / 2 ** l))));
    this.cellLevel[OVERFLOW] = LEVELS;
  }

  get size(): number {
    return this.slotOf.size;
  }

  has(id: string): boolean {
    return this.slotOf.has(id);
  }

  /** Sets (or moves) a subscriber's watch circle (radius in metres, inclusive). */
  set(id: string, lat: number, lng: number, radius: number): void {
    if (typeof lat !== 'number' || typeof lng !== 'number' || !(lat >= -90 && lat <= 90 && lng >= -180 && lng <= 180)) assertLatLng(lat, lng);
    if (typeof radius !== 'number' || !(radius >= 0) || radius === Infinity) assertRadius(radius);
    let s = this.slotOf.get(id);
    if (s === undefined) {
      assertId(id);
      s = this.allocSlot(id);
    }
    this.lat[s] = lat;
    this.lng[s] = lng;
    this.cosLat[s] = Math.cos(lat * RAD);
    this.radius[s] = radius;
    this.radA[s] = distToA(radius * (1 + 1e-9) + 1e-6);
    const level = this.levelFor(lat, radius);
    let a = 0;
    let b = 0;
    if (level < LEVELS) {
      const g = this.grids[level];
      const row = g.rowOf(lat);
      a = (level << 17) | row;
      b = g.colOf(row, lng);
    }
    const c = this.cellOf[s];
    if (c !== NONE) {
      if (this.cellLevel[c] === level && (level === LEVELS || (this.cellA[c] === a && this.cellB[c] === b))) return;
      this.unlink(s);
    }
    this.link(s, level, a, b);
  }

  remove(id: string): boolean {
    const s = this.slotOf.get(id);
    if (s === undefined) return false;
    this.unlink(s);
    this.slotOf.delete(id);
    this.ids[s] = '';
    this.freeSlots.push(s);
    return true;
  }

  /** Calls back every subscriber whose watch circle contains the point (inclusive). Do not change the index from the callback. */
  forEachContaining(lat: number, lng: number, cb: (id: string) => void): void {
    assertLatLng(lat, lng);
    if (this.slotOf.size === 0) return;
    const cosq = Math.cos(lat * RAD);
    for (let l = 0; l < LEVELS; l++) {
      if (this.levelCount[l] === 0) continue;
      const g = this.grids[l];
      const rp = g.rowOf(lat);
      for (let r = Math.max(0, rp - 1); r <= Math.min(g.rows - 1, rp + 1); r++) {
        const n = g.cols[r];
        const a = (l << 17) | r;
        if (n <= 3) {
          for (let c = 0; c < n; c++) this.probe(this.table.get(a, c), lat, lng, cosq, cb);
        } else {
          const c0 = g.colOf(r, lng);
          this.probe(this.table.get(a, c0 === 0 ? n - 1 : c0 - 1), lat, lng, cosq, cb);
          this.probe(this.table.get(a, c0), lat, lng, cosq, cb);
          this.probe(this.table.get(a, c0 === n - 1 ? 0 : c0 + 1), lat, lng, cosq, cb);
        }
      }
    }
    if (this.levelCount[LEVELS] > 0) this.probe(OVERFLOW, lat, lng, cosq, cb);
  }

  /** Subscribers per grid level (the last entry is the overflow list): for stats and tuning. */
  levelSizes(): number[] {
    return Array.from(this.levelCount);
  }

  private probe(c: number, qlat: number, qlng: number, cosq: number, cb: (id: string) => void): void {
    if (c === NONE) return;
    const { lat, lng, cosLat, next, radA } = this;
    for (let s = this.cellHead[c]; s !== NONE; s = next[s]) {
      // The arithmetic of haversine(query, centre).
      const sLat = Math.sin(((lat[s] - qlat) * RAD) / 2);
      const sLng = Math.sin(((lng[s] - qlng) * RAD) / 2);
      const a = sLat * sLat + cosq * cosLat[s] * (sLng * sLng);
      if (a <= radA[s] && TWO_R * Math.asin(Math.min(1, Math.sqrt(a))) <= this.radius[s]) cb(this.ids[s]);
    }
  }

  /** The finest level at which the whole circle lies in the 3×3 cells around its centre's cell. */
  private levelFor(lat: number, radius: number): number {
    const rhoDeg = radius * DEG_PER_M;
    const rho = rhoDeg * RAD;
    const cosc = Math.cos(lat * RAD);
    // Longitude half-extent of the cap; 180 when it holds a pole.
    const dLng = Math.sin(rho) >= cosc || rho >= Math.PI / 2 ? 180 : Math.asin(Math.sin(rho) / cosc) / RAD;
    let l = rhoDeg <= this.grids[0].cellDeg ? 0 : Math.max(0, Math.floor(Math.log2(rhoDeg / this.grids[0].cellDeg)));
    for (; l < LEVELS; l++) {
      const g = this.grids[l];
      if (rhoDeg > g.cellDeg * FIT) continue;
      const row = g.rowOf(lat);
      if (g.cols[row] <= 3 || dLng <= g.colDeg[row] * FIT) return l;
    }
    return LEVELS;
  }

  private allocSlot(id: string): number {
    let s = this.freeSlots.pop();
    if (s === undefined) {
      s = this.slotHw++;
      if (s >= this.lat.length) {
        const cap = Math.max(1024, this.lat.length * 2);
        this.lat = grow(this.lat, cap, 0);
        this.lng = grow(this.lng, cap, 0);
        this.cosLat = grow(this.cosLat, cap, 0);
        this.radius = grow(this.radius, cap, 0);
        this.radA = grow(this.radA, cap, 0);
        this.cellOf = grow(this.cellOf, cap, NONE);
        this.next = grow(this.next, cap, NONE);
        this.prev = grow(this.prev, cap, NONE);
      }
    }
    this.ids[s] = id;
    this.cellOf[s] = NONE;
    this.slotOf.set(id, s);
    return s;
  }

  private link(s: number, level: number, a: number, b: number): void {
    let c = OVERFLOW;
    if (level < LEVELS) {
      c = this.table.get(a, b);
      if (c === NONE) {
        c = this.allocCell(level, a, b);
        this.table.set(a, b, c);
      }
    }
    const h = this.cellHead[c];
    this.next[s] = h;
    this.prev[s] = NONE;
    if (h !== NONE) this.prev[h] = s;
    this.cellHead[c] = s;
    this.cellCount[c]++;
    this.cellOf[s] = c;
    this.levelCount[level]++;
  }

  private unlink(s: number): void {
    const c = this.cellOf[s];
    const n = this.next[s];
    const p = this.prev[s];
    if (p !== NONE) this.next[p] = n;
    else this.cellHead[c] = n;
    if (n !== NONE) this.prev[n] = p;
    this.cellOf[s] = NONE;
    this.levelCount[this.cellLevel[c]]--;
    if (--this.cellCount[c] === 0 && c !== OVERFLOW) {
      this.table.delete(this.cellA[c], this.cellB[c]);
      this.freeCells.push(c);
    }
  }

  private allocCell(level: number, a: number, b: number): number {
    let c = this.freeCells.pop();
    if (c === undefined) {
      c = this.cellHw++;
      if (c >= this.cellA.length) {
        const cap = this.cellA.length * 2;
        this.cellA = grow(this.cellA, cap, 0);
        this.cellB = grow(this.cellB, cap, 0);
        this.cellHead = grow(this.cellHead, cap, NONE);
        this.cellCount = grow(this.cellCount, cap, 0);
        this.cellLevel = grow(this.cellLevel, cap, 0);
      }
    }
    this.cellA[c] = a;
    this.cellB[c] = b;
    this.cellHead[c] = NONE;
    this.cellCount[c] = 0;
    this.cellLevel[c] = level;
    return c;
  }
}
