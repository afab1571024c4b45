// Fixed snapping of a position to the centre of a grid cell of a given size, for the disclosure
// policy of officer positions (issue #10): a citizen far from an officer sees the centre of the
// officer's cell, never the point itself. Fixed, not noisy: the same input always gives the same
// centre, so repeated queries cannot average out to the truth.
//
// Grid: rows of constant latitude height (size / 111 320 m per degree) from the south pole; the
// last row reaches the north pole and absorbs the remainder (its height is 0.5–1.5 rows). Each
// row is split into an integer number of equal longitude columns, as many as are at least `size`
// wide at the row's poleward edge, so no cell is narrower than `size` anywhere and the cells tile
// the sphere exactly; columns wrap at ±180° (180 is column 0, like -180). A row touching a pole
// is one cell (a ring around the pole, centre longitude 0).
import { assertLatLng } from './distance.js';
import { GeoError } from './errors.js';

/** Metres per degree of latitude used to size the grid (the policy's stated figure). */
export const SNAP_M_PER_DEG = 111_320;
/** Smaller cells are refused: below a metre the grid says nothing and float error starts to matter. */
export const MIN_SNAP_CELL_M = 1;

const RAD = Math.PI / 180;

export interface SnapCell {
  row: number;
  col: number;
  /** Columns in this row. */
  cols: number;
  /** The cell's centre: what a coarse position shows. */
  lat: number;
  lng: number;
  /** Bounds in degrees; `east` may be 180 (the column ends at the antimeridian). */
  south: number;
  north: number;
  west: number;
  east: number;
}

export function assertCellSize(sizeM: number): void {
  if (typeof sizeM !== 'number' || !(sizeM >= MIN_SNAP_CELL_M) || sizeM === Infinity) {
    throw new GeoError('bad_cell_size', `cell size must be a finite number of metres >= ${MIN_SNAP_CELL_M}`);
  }
}

/** The cell of the `sizeM` grid that holds (lat, lng). */
export function snapCell(lat: number, lng: number, sizeM: number): SnapCell {
  assertLatLng(lat, lng);
  assertCellSize(sizeM);
  const step = sizeM / SNAP_M_PER_DEG;
  const rows = Math.max(1, Math.round(180 / step));
  const row = Math.min(rows - 1, Math.floor((lat + 90) / step));
  const south = row * step - 90;
  const north = row === rows - 1 ? 90 : south + step;
  // Columns at least `size` wide at the poleward edge (cos is least there).
  const far = Math.max(Math.abs(south), Math.abs(north));
  const cols = far >= 90 ? 1 : Math.max(1, Math.floor((360 * Math.cos(far * RAD)) / step));
  let col = Math.floor(((lng + 180) * cols) / 360);
  if (col >= cols) col -= cols; // lng = 180 is the column of -180
  const width = 360 / cols;
  const west = col * width - 180;
  return { row, col, cols, lat: (south + north) / 2, lng: west + width / 2, south, north, west, east: west + width };
}

/** The centre of the `sizeM` cell holding (lat, lng); snapping a centre returns it unchanged. */
export function snapToCell(lat: number, lng: number, sizeM: number): { lat: number; lng: number } {
  const c = snapCell(lat, lng, sizeM);
  return { lat: c.lat, lng: c.lng };
}

/** `value` rounded to the nearest multiple of `step` (half up). */
export function roundToStep(value: number, step: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new GeoError('bad_radius', 'distance must be a finite number of metres');
  if (typeof step !== 'number' || !(step > 0) || step === Infinity) throw new GeoError('bad_radius', 'step must be a finite number of metres > 0');
  return Math.round(value / step) * step;
}
