// A latitude/longitude grid of roughly square cells, computed by arithmetic (no H3 call, no
// allocation): rows are bands of equal latitude height; each row has as many columns as fit at
// its poleward edge, so cells stay about `cellDeg` of a meridian wide everywhere and shrink to a
// single cell per row at the poles (a search near a pole never walks 180,000 slivers). Columns
// wrap at ±180°, so the antimeridian is an ordinary cell border.
//
// The ring search of the indexes runs on this geometry: square k around a query = rows qr±k,
// and in each row the columns qc(row)±k (the search in officer-search.ts walks it); `outsideLowerBoundA` bounds
// the haversine term of every point outside square k from below, which is what makes the search
// stop exactly (never too early) whatever the row widths, the latitude or the wrap.

// A local constant: under tsx an imported binding is a getter call on every use.
const RAD = Math.PI / 180;

export class LatLngGrid {
  /** Row height in degrees of latitude. */
  readonly cellDeg: number;
  readonly rows: number;
  /** Columns per row. */
  readonly cols: Int32Array;
  /** cols / 360, to map a longitude to its column with one multiplication. */
  readonly colScale: Float64Array;
  /** 360 / cols: a column's width in degrees of longitude. */
  readonly colDeg: Float64Array;
  /** cos of the row's poleward edge: the least cos(lat) of any point in the row. */
  readonly cosFar: Float64Array;
  private readonly invCell: number;

  constructor(cellDeg: number) {
    this.rows = Math.max(1, Math.round(180 / cellDeg));
    this.cellDeg = 180 / this.rows;
    this.invCell = this.rows / 180;
    const n = this.rows;
    this.cols = new Int32Array(n);
    this.colScale = new Float64Array(n);
    this.colDeg = new Float64Array(n);
    this.cosFar = new Float64Array(n);
    const perCircle = 360 / this.cellDeg;
    for (let r = 0; r < n; r++) {
      const bottom = r * this.cellDeg - 90;
      const far = Math.max(Math.abs(bottom), Math.abs(bottom + this.cellDeg));
      const cf = far >= 90 ? 0 : Math.max(0, Math.cos(far * RAD));
      const cols = Math.max(1, Math.floor(perCircle * cf + 1e-9));
      this.cols[r] = cols;
      this.colScale[r] = cols / 360;
      this.colDeg[r] = 360 / cols;
      this.cosFar[r] = cf;
    }
  }

  rowOf(lat: number): number {
    const r = Math.floor((lat + 90) * this.invCell);
    return r >= this.rows ? this.rows - 1 : r < 0 ? 0 : r;
  }

  /** Column of a longitude in [-180, 180] (180 wraps to column 0, the same cell as -180). */
  colOf(row: number, lng: number): number {
    const n = this.cols[row];
    const c = Math.floor((lng + 180) * this.colScale[row]);
    return c >= n ? c - n : c < 0 ? c + n : c;
  }

  rowBottom(row: number): number {
    return row * this.cellDeg - 90;
  }

  /**
   * A lower bound of the haversine term between the query and any point outside square k
   * (Infinity when square k covers the globe). Points in rows beyond qr±k are at least the
   * latitude gap away; points in rows inside but columns outside qc±k are at least the longitude
   * gap away, weighted by cos(query lat) and the least cos(lat) of their row.
   */
  outsideLowerBoundA(qlat: number, qlng: number, cosq: number, qr: number, k: number): number {
    let lb = Infinity;
    if (qr - k - 1 >= 0) lb = Math.min(lb, hav(Math.max(0, qlat - this.rowBottom(qr - k))));
    if (qr + k + 1 < this.rows) lb = Math.min(lb, hav(Math.max(0, this.rowBottom(qr + k + 1) - qlat)));
    // One bound for all rows: the least longitude gap and the least cos(lat) of the square's
    // rows (cos is least at one of the end rows). Weaker than per row, but one sine per ring.
    const from = Math.max(0, qr - k);
    const to = Math.min(this.rows - 1, qr + k);
    let gap = 180;
    let any = false;
    if (k <= 2) {
      // Exact per row while rings are small: the query's offset inside its column counts.
      for (let r = from; r <= to; r++) {
        const n = this.cols[r];
        if (2 * k + 1 >= n) continue;
        any = true;
        const qc = this.colOf(r, qlng);
        const w = this.colDeg[r];
        const g = Math.min(qlng - ((qc - k) * w - 180), (qc + k + 1) * w - 180 - qlng);
        if (g < gap) gap = g;
      }
    } else {
      // Any row with columns outside qc±k is at least k of its columns away; the narrowest
      // columns are in the row nearest the equator.
      const eq = this.rows >> 1;
      const maxCols = from <= eq && eq <= to ? this.cols[eq] : Math.max(this.cols[from], this.cols[to]);
      if (2 * k + 1 < maxCols) {
        any = true;
        gap = (k * 360) / maxCols;
      }
    }
    if (any) {
      const b = cosq * Math.min(this.cosFar[from], this.cosFar[to]) * hav(Math.max(0, gap));
      if (b < lb) lb = b;
    }
    return lb;
  }

  /** A lower bound of the haversine term between the query and any point of cell (row, col). */
  cellLowerBoundA(row: number, col: number, qlat: number, qlng: number, cosq: number): number {
    const bottom = this.rowBottom(row);
    const top = bottom + this.cellDeg;
    const latGap = qlat < bottom ? bottom - qlat : qlat > top ? qlat - top : 0;
    const w = this.colDeg[row];
    const left = col * w - 180;
    // Longitude of the query east of the cell's west edge, in [0, 360).
    let east = qlng - left;
    if (east < 0) east += 360;
    else if (east >= 360) east -= 360;
    const lngGap = east <= w ? 0 : Math.min(east - w, 360 - east);
    return hav(latGap) + cosq * this.cosFar[row] * hav(lngGap);
  }

  /** Whether cell (row, col) belongs to square k around the query (rows qr±k, columns qc(row)±k). */
  inSquare(row: number, col: number, qr: number, qlng: number, k: number): boolean {
    if (row < qr - k || row > qr + k) return false;
    const n = this.cols[row];
    if (2 * k + 1 >= n) return true;
    let d = col - this.colOf(row, qlng);
    if (d < 0) d = -d;
    return Math.min(d, n - d) <= k;
  }
}

/** sin²(g/2) for g in degrees. */
function hav(gDeg: number): number {
  const s = Math.sin((gDeg * RAD) / 2);
  return s * s;
}

const grids = new Map<number, LatLngGrid>();

/** Grids are immutable: indexes with the same cell size share one. */
export function gridFor(cellDeg: number): LatLngGrid {
  let g = grids.get(cellDeg);
  if (!g) grids.set(cellDeg, (g = new LatLngGrid(cellDeg)));
  return g;
}
