// The replication key of cross-node officers: a coarse lat/lng grid cell of the officer's
// POSITION (not its zip). A citizen's search circle maps to the small set of cells it touches, so a
// node that listens to those cells knows every officer that can be its citizens' nearest,
// whatever the zip sizes (a 50 km rural zip changes nothing). Pure functions, no I/O.
//
// Grid: rows of `step` degrees of latitude, columns of `step` degrees of longitude. Near the poles
// a column is a few hundred metres wide, so rows reaching beyond ±POLAR_LAT are one cell each:
// a citizen there touches a handful of cells instead of thousands (exact either way, just coarser).
import { EARTH_RADIUS_M } from '../geo/index.js';

const RAD = Math.PI / 180;
/** Rows with any part beyond this latitude are a single cell. */
export const POLAR_LAT = 80;
/** Finest cell: keeps tiny search radii from producing a flood of channels. */
const MIN_STEP_DEG = 0.01;
/** Relative and absolute slack on the covering box, so rounding can never drop a cell. */
const SLACK = 1.001;
const SLACK_DEG = 1e-6;

export interface CellBox {
  i0: number;
  i1: number;
  /** Column range; may run past the last column (wraps at the antimeridian). */
  j0: number;
  j1: number;
}

export class CellGrid {
  readonly step: number;
  readonly rows: number;
  readonly cols: number;
  /** Part of every channel and key name: nodes configured with another grid never mix. */
  readonly tag: string;

  /** `stepDeg`: cell size in degrees; defaults to the search radius (a circle touches ≤ ~3×4 cells). */
  constructor(searchRadiusM: number, stepDeg?: number) {
    const raw = stepDeg ?? searchRadiusM / EARTH_RADIUS_M / RAD;
    // Rounded to 1e-4° so every node derives the very same grid from the same setting.
    this.step = Math.max(MIN_STEP_DEG, Math.round(raw * 1e4) / 1e4);
    this.rows = Math.ceil(180 / this.step);
    this.cols = Math.ceil(360 / this.step);
    this.tag = String(Math.round(this.step * 1e4));
  }

  private row(lat: number): number {
    return Math.min(this.rows - 1, Math.max(0, Math.floor((lat + 90) / this.step)));
  }

  private polar(i: number): boolean {
    return i * this.step - 90 < -POLAR_LAT || (i + 1) * this.step - 90 > POLAR_LAT;
  }

  private col(lng: number): number {
    return Math.min(this.cols - 1, Math.max(0, Math.floor((lng + 180) / this.step)));
  }

  key(i: number, j: number): string {
    return `${i}:${j}`;
  }

  /** The cell holding a position. */
  cellOf(lat: number, lng: number): string {
    const i = this.row(lat);
    return this.key(i, this.polar(i) ? 0 : this.col(lng));
  }

  /** Rows and columns of every cell within `radiusM` (great-circle) of the point. */
  boxOf(lat: number, lng: number, radiusM: number): CellBox {
    const rho = (radiusM / EARTH_RADIUS_M) * SLACK; // angular radius, radians
    const dLat = rho / RAD + SLACK_DEG;
    const latMin = lat - dLat;
    const latMax = lat + dLat;
    const i0 = this.row(latMin);
    const i1 = this.row(latMax);
    const cosLat = Math.cos(lat * RAD);
    const s = Math.sin(Math.min(rho, Math.PI / 2));
    // The cap around the point spans asin(sin ρ / cos φ) of longitude unless it holds a pole.
    if (latMin <= -90 || latMax >= 90 || s >= cosLat) return { i0, i1, j0: 0, j1: this.cols - 1 };
    const dLng = (Math.asin(s / cosLat) / RAD) * SLACK + SLACK_DEG;
    if (dLng >= 180) return { i0, i1, j0: 0, j1: this.cols - 1 };
    // Unclamped so that a box across the antimeridian runs past the last column and wraps.
    const j0 = Math.floor((lng - dLng + 180) / this.step);
    const j1 = Math.floor((lng + dLng + 180) / this.step);
    return { i0, i1, j0, j1 };
  }

  /** Cell keys of a box (deduplicated). */
  cellsOf(box: CellBox): string[] {
    const out = new Set<string>();
    const full = box.j1 - box.j0 + 1 >= this.cols;
    for (let i = box.i0; i <= box.i1; i++) {
      if (this.polar(i)) {
        out.add(this.key(i, 0));
        continue;
      }
      if (full) {
        for (let j = 0; j < this.cols; j++) out.add(this.key(i, j));
        continue;
      }
      for (let j = box.j0; j <= box.j1; j++) out.add(this.key(i, ((j % this.cols) + this.cols) % this.cols));
    }
    return [...out];
  }

  /** Every cell that may hold an officer within `radiusM` of the point. */
  cellsWithin(lat: number, lng: number, radiusM: number): string[] {
    return this.cellsOf(this.boxOf(lat, lng, radiusM));
  }
}

export function sameBox(a: CellBox | undefined, b: CellBox): boolean {
  return a !== undefined && a.i0 === b.i0 && a.i1 === b.i1 && a.j0 === b.j0 && a.j1 === b.j1;
}
