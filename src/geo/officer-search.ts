// Exact search over the officer store: ring k around the query cell, stopping when a rigorous
// lower bound of the haversine term of anything outside square k exceeds the current bound (the
// k-th best found, or the radius). Candidates are ranked by the haversine term computed with the
// arithmetic of `haversine()` (query first), so distances are bit-identical to brute force;
// equal terms rank by id. Searches that would walk more empty cells than the store has occupied
// cells (a huge radius in an empty region) finish by scanning the occupied cells instead.
//
// One Search object holds the state of one running query in fields (no closures on the hot
// path). The index keeps one and creates a fresh one only if a filter re-enters the index.
import type { LatLngGrid } from './grid.js';
import { CELL_INTS, ENTRY, NONE, type OfficerStore } from './officer-store.js';

const RAD = Math.PI / 180;
const HALF_RAD = RAD / 2;
const TWO_R = 2 * 6_371_008.8;
/** The stop test allows this much floating-point slack, so a tie just outside a square is still seen. */
const STOP_MARGIN_M = 0.001;

/** Rings up to this size keep each row's query column (qc) from when the row was an edge row. */
const QC_HALF = 512;

export type WithinCallback = (id: string, dist: number, lat: number, lng: number) => void;

/** STOP_MARGIN_M as an angle: half the central angle it spans. */
const STOP_MARGIN_H = STOP_MARGIN_M / TWO_R;

/**
 * An upper bound of distToA(distance(a) + STOP_MARGIN_M) without trigonometry, for a ≤ 1/4: with
 * x = asin(√a) (half the central angle) and h = STOP_MARGIN_H, sin²(x+h) − sin²(x) =
 * sin(2x+h)·sin(h) ≤ (2x+h)·h, and asin(√a) ≤ √a(1 + a/3) there. The stop bound tightens as
 * candidates improve without a sin and two asin each time; it is a hair looser than the exact one.
 */
function stopAbove(a: number): number {
  const x = Math.sqrt(a) * (1 + a / 3);
  return a + (2 * x + STOP_MARGIN_H) * STOP_MARGIN_H;
}

/** Haversine term for a distance in metres (1 at or beyond the antipode). */
function distToA(metres: number): number {
  const half = metres / TWO_R;
  if (half >= Math.PI / 2) return 1;
  const s = Math.sin(half);
  return s * s;
}

export class Search {
  slots = new Int32Array(1);
  a = new Float64Array(1);
  dist = new Float64Array(1);
  count = 0;
  running = false;
  /** One-entry cache of the last storage block probed (blocks do not change during a search). */
  private lastBr = -1;
  private lastBc = -1;
  private lastBase = -1;
  private qlat = 0;
  private qlng = 0;
  private cosq = 1;
  private radius = 0;
  private k = 1;
  private stopA = 0;
  /** Latitude difference (degrees) beyond which a candidate's term must exceed stopA. */
  private maxDLat = 360;
  /** Terms at or below this are within the radius for sure (distance computed only above it). */
  private sureA = 0;
  /** The last radius and its derived bounds: queries mostly repeat one radius. */
  private lastRadius = -1;
  private radiusStopA = 0;
  private radiusMaxDLat = 360;
  private radiusSureA = 0;
  private filter: ((id: string) => boolean) | undefined = undefined;
  private cb: WithinCallback | undefined = undefined;

  /** qc of row qr + j at [QC_HALF + j], set when the row is first walked as an edge row. */
  private readonly qcs = new Int32Array(2 * QC_HALF + 1);

  constructor(private readonly st: OfficerStore) {}

  /** Fills slots/a/dist with the k nearest within radius; returns how many. */
  nearest(qlat: number, qlng: number, radius: number, k: number, filter: ((id: string) => boolean) | undefined): number {
    if (this.slots.length < k) {
      this.slots = new Int32Array(k);
      this.a = new Float64Array(k);
      this.dist = new Float64Array(k);
    }
    this.count = 0;
    this.k = k;
    this.filter = filter;
    this.cb = undefined;
    this.run(qlat, qlng, radius);
    this.filter = undefined;
    // Distances of the winners only, with the arithmetic of aToDist(): bit-identical to haversine().
    const { a, dist } = this;
    for (let i = 0; i < this.count; i++) dist[i] = TWO_R * Math.asin(Math.min(1, Math.sqrt(a[i])));
    return this.count;
  }

  within(qlat: number, qlng: number, radius: number, cb: WithinCallback): void {
    this.cb = cb;
    this.filter = undefined;
    this.run(qlat, qlng, radius);
    this.cb = undefined;
  }

  private run(qlat: number, qlng: number, radius: number): void {
    this.qlat = qlat;
    this.qlng = qlng;
    this.radius = radius;
    this.cosq = Math.cos(qlat * RAD);
    if (radius !== this.lastRadius) {
      this.setStop(distToA(radius + STOP_MARGIN_M));
      this.lastRadius = radius;
      this.radiusStopA = this.stopA;
      this.radiusMaxDLat = this.maxDLat;
      // Below the radius minus the margin, rounding cannot carry a distance over the radius.
      this.radiusSureA = radius > STOP_MARGIN_M ? distToA(radius - STOP_MARGIN_M) : -1;
    } else {
      this.stopA = this.radiusStopA;
      this.maxDLat = this.radiusMaxDLat;
    }
    this.sureA = this.radiusSureA;
    const st = this.st;
    if (st.slotOf.size === 0) return;
    this.running = true;
    try {
      this.walk(st.grid, st);
    } finally {
      this.running = false;
    }
  }

  private walk(grid: LatLngGrid, st: OfficerStore): void {
    const { qlat, qlng, cosq } = this;
    const qr = grid.rowOf(qlat);
    const rows = grid.rows;
    const cols = grid.cols;
    const budget = 2 * st.table.size + 64;
    const halfCellRad = grid.cellDeg * HALF_RAD;
    const qcs = this.qcs;
    this.lastBr = -1;
    this.lastBc = -1;
    let visited = 0;
    for (let k = 0; ; k++) {
      if (visited > budget) {
        this.scanOccupied(grid, st, qr, k - 1);
        return;
      }
      // Ring k: the two edge rows in full (qc±k), then the new right and left column of each
      // inner row — all right columns first, so consecutive cells share a storage block.
      const lo = qr - k;
      const hi = qr + k;
      // Each row's query column is computed once, when the row is an edge row; the inner rows of
      // later rings read it back (a search that finds nothing near walks every ring to the radius).
      const kept = k <= QC_HALF;
      if (lo >= 0) {
        const qc = grid.colOf(lo, qlng);
        if (kept) qcs[QC_HALF - k] = qc;
        visited += this.edgeRow(grid, st, lo, k, qc);
      }
      if (k > 0 && hi < rows) {
        const qc = grid.colOf(hi, qlng);
        if (kept) qcs[QC_HALF + k] = qc;
        visited += this.edgeRow(grid, st, hi, k, qc);
      }
      const from = Math.max(0, lo + 1);
      const to = Math.min(rows - 1, hi - 1);
      for (let r = from; r <= to; r++) {
        const n = cols[r];
        if (2 * k - 1 >= n) continue;
        const c = (kept ? qcs[QC_HALF + r - qr] : grid.colOf(r, qlng)) + k;
        this.cellAt(grid, st, r, c >= n ? c % n : c);
        visited++;
      }
      for (let r = from; r <= to; r++) {
        const n = cols[r];
        if (2 * k + 1 > n) continue;
        const c = (kept ? qcs[QC_HALF + r - qr] : grid.colOf(r, qlng)) - k;
        this.cellAt(grid, st, r, c < 0 ? (c % n) + n : c);
        visited++;
      }
      // That bound is at most the term of the latitude gap to row qr-k-1, under ((k+1)·cellDeg/2)²
      // in radians (sin²y ≤ y²): while that is within stopA the test cannot pass, so its
      // trigonometry is skipped (most rings of a search that finds nothing near, e.g. over water).
      const t = (k + 1) * halfCellRad;
      if (qr - k - 1 >= 0 && t * t <= this.stopA) continue;
      if (grid.outsideLowerBoundA(qlat, qlng, cosq, qr, k) > this.stopA) return;
    }
  }

  /** Scans row r's columns qc±k (all of them when that wraps the row). Returns the cells listed. */
  private edgeRow(grid: LatLngGrid, st: OfficerStore, r: number, k: number, qc: number): number {
    const n = grid.cols[r];
    if (2 * k + 1 >= n) {
      this.rowRange(grid, st, r, 0, n - 1);
      return n;
    }
    const a = qc - k;
    const b = qc + k;
    if (a < 0) {
      this.rowRange(grid, st, r, a + n, n - 1);
      this.rowRange(grid, st, r, 0, b);
    } else if (b >= n) {
      this.rowRange(grid, st, r, a, n - 1);
      this.rowRange(grid, st, r, 0, b - n);
    } else {
      this.rowRange(grid, st, r, a, b);
    }
    return 2 * k + 1;
  }

  /** Scans cells (r, a..b), one block probe per 8 columns, skipping empty blocks whole. */
  private rowRange(grid: LatLngGrid, st: OfficerStore, r: number, a: number, b: number): void {
    const table = st.table;
    const br = r >> 3;
    const rowBits = (r & 7) << 3;
    for (let c = a; c <= b; c++) {
      const bc = c >> 3;
      if (br !== this.lastBr || bc !== this.lastBc) {
        this.lastBr = br;
        this.lastBc = bc;
        const blk = table.blockOf(br, bc);
        this.lastBase = blk === NONE ? -1 : blk << 6;
      }
      if (this.lastBase < 0) {
        c = (bc << 3) + 7;
        continue;
      }
      const cell = table.pool[this.lastBase | rowBits | (c & 7)];
      if (cell !== NONE) this.visitCell(grid, st, r, c, cell);
    }
  }

  private cellAt(grid: LatLngGrid, st: OfficerStore, r: number, c: number): void {
    const br = r >> 3;
    const bc = c >> 3;
    if (br !== this.lastBr || bc !== this.lastBc) {
      this.lastBr = br;
      this.lastBc = bc;
      const blk = st.table.blockOf(br, bc);
      this.lastBase = blk === NONE ? -1 : blk << 6;
    }
    if (this.lastBase < 0) return;
    const cell = st.table.pool[this.lastBase | ((r & 7) << 3) | (c & 7)];
    if (cell !== NONE) this.visitCell(grid, st, r, c, cell);
  }

  private visitCell(grid: LatLngGrid, st: OfficerStore, row: number, col: number, c: number): void {
    // A cheap cell bound spares the per-officer work of crowded far cells.
    if (st.cells[c * CELL_INTS + 4] > 2 && grid.cellLowerBoundA(row, col, this.qlat, this.qlng, this.cosq) > this.stopA) return;
    this.scanCell(st, c);
  }

  /** Every occupied cell outside square k, pruned by its lower bound. */
  private scanOccupied(grid: LatLngGrid, st: OfficerStore, qr: number, k: number): void {
    const cells = st.cells;
    for (let c = 0; c < st.cellHw; c++) {
      const r = c * CELL_INTS;
      if (cells[r + 4] === 0) continue;
      const row = cells[r];
      const col = cells[r + 1];
      if (k >= 0 && grid.inSquare(row, col, qr, this.qlng, k)) continue;
      if (grid.cellLowerBoundA(row, col, this.qlat, this.qlng, this.cosq) > this.stopA) continue;
      this.scanCell(st, c);
    }
  }

  private scanCell(st: OfficerStore, c: number): void {
    const pool = st.pool;
    const { qlat, qlng, cosq } = this;
    const r = c * CELL_INTS;
    const start = st.cells[r + 2] * ENTRY;
    const end = start + st.cells[r + 4] * ENTRY;
    for (let p = start; p < end; p += ENTRY) {
      const dLat = pool[p] - qlat;
      if (dLat > this.maxDLat || dLat < -this.maxDLat) continue;
      // Trigonometry-free lower bound of the term: sin²y >= y²(1 - y²/3) for |y| <= π/2.
      let dLng = pool[p + 1] - qlng;
      if (dLng > 180) dLng -= 360;
      else if (dLng < -180) dLng += 360;
      const yLat = dLat * HALF_RAD;
      const yLng = dLng * HALF_RAD;
      const t1 = yLat * yLat;
      const t2 = yLng * yLng;
      if (t1 * (1 - t1 / 3) + cosq * pool[p + 2] * t2 * (1 - t2 / 3) > this.stopA) continue;
      // The arithmetic of havA(query, officer), with the officer's cos(lat) cached.
      const sLat = Math.sin(((pool[p] - qlat) * RAD) / 2);
      const sLng = Math.sin(((pool[p + 1] - qlng) * RAD) / 2);
      const a = sLat * sLat + cosq * pool[p + 2] * (sLng * sLng);
      if (a > this.stopA) continue;
      const s = pool[p + 3];
      if (this.cb !== undefined) {
        const d = TWO_R * Math.asin(Math.min(1, Math.sqrt(a)));
        if (d <= this.radius) this.cb(st.ids[s], d, pool[p], pool[p + 1]);
      } else {
        this.offer(st.ids, s, a);
      }
    }
  }

  private offer(ids: string[], s: number, a: number): void {
    const k = this.k;
    const count = this.count;
    const id = ids[s];
    if (count === k) {
      const wa = this.a[k - 1];
      if (a > wa || (a === wa && !(id < ids[this.slots[k - 1]]))) return;
    }
    if (this.filter !== undefined && !this.filter(id)) return;
    // Near the radius, the exact distance decides (same operations as aToDist(), bit-identical to
    // haversine()); nearest() computes the winners' distances once at the end.
    if (a > this.sureA && TWO_R * Math.asin(Math.min(1, Math.sqrt(a))) > this.radius) return;
    const { slots } = this;
    const as = this.a;
    let i = count === k ? k - 1 : count;
    while (i > 0 && (as[i - 1] > a || (as[i - 1] === a && id < ids[slots[i - 1]]))) {
      slots[i] = slots[i - 1];
      as[i] = as[i - 1];
      i--;
    }
    slots[i] = s;
    as[i] = a;
    if (count < k) this.count = count + 1;
    if (this.count === k) {
      const w = as[k - 1];
      if (w <= 0.25) this.setStopFast(stopAbove(w));
      else this.setStop(distToA(TWO_R * Math.asin(Math.min(1, Math.sqrt(w))) + STOP_MARGIN_M));
    }
  }

  /** a >= sin²(Δφ/2), so a latitude gap beyond 2·asin(√stopA) rules a candidate out without trigonometry. */
  private setStop(stopA: number): void {
    this.stopA = stopA;
    this.maxDLat = stopA >= 1 ? 360 : ((2 * Math.asin(Math.sqrt(stopA))) / RAD) * (1 + 1e-9) + 1e-12;
  }

  /**
   * setStop without asin: for x = √stopA ≤ 0.5, asin(x) = x + x³/6 + 3x⁵/40 + … ≤ x(1 + x²/3), so
   * the latitude gap is overestimated by a hair (a few candidates more get the exact test) and
   * never under.
   */
  private setStopFast(stopA: number): void {
    if (stopA > 0.25) {
      this.setStop(stopA);
      return;
    }
    this.stopA = stopA;
    const x = Math.sqrt(stopA);
    this.maxDLat = ((2 * x * (1 + (x * x) / 3)) / RAD) * (1 + 1e-9) + 1e-12;
  }
}
