// Dense storage of the officer index. Coordinates live in the officer's grid cell: each cell owns
// a contiguous chunk of a Float64Array pool holding (lat, lng, cos lat, slot) per officer, so a
// search scanning a cell reads consecutive memory instead of chasing one cache line per officer
// (at 100k officers that chase, not arithmetic, was the cost of a query). Per officer slot, a
// small int record says where it is: (row, col, cell, entry in the pool).
//
// A move inside the cell rewrites three doubles in place; a move to another cell swap-removes
// the entry from the old chunk and appends it to the new one (chunks grow by doubling, size
// classes are recycled). Freed slots, cells and chunks are reused; empty cells leave the cell
// map at once, so it only ever holds occupied cells.
import { BlockCellMap } from './block-map.js';
import type { LatLngGrid } from './grid.js';
import { grow } from './grow.js';

export const NONE = -1;
const RAD = Math.PI / 180;
/** Ints per slot record: row, col, cell, pool entry index, spare. */
export const SLOT_INTS = 8;
/** Ints per cell record: row, col, chunk base (entry index), capacity, count, spare. */
export const CELL_INTS = 8;
/** Doubles per pool entry: lat, lng, cos lat, slot. */
export const ENTRY = 4;

export class OfficerStore {
  readonly slotOf = new Map<string, number>();
  ids: string[] = [];
  /** Slot records, SLOT_INTS per slot. */
  meta = new Int32Array(0);
  private readonly freeSlots: number[] = [];
  private slotHw = 0;

  readonly table = new BlockCellMap();
  /** Cell records, CELL_INTS per cell. */
  cells = new Int32Array(0);
  private readonly freeCells: number[] = [];
  cellHw = 0;

  /** Entries of every cell's chunk, ENTRY doubles each. */
  pool = new Float64Array(0);
  private poolHw = 0;
  /** Free chunk bases by size class (capacity 2^j). */
  private readonly freeChunks: number[][] = [];

  constructor(readonly grid: LatLngGrid) {}

  allocSlot(id: string): number {
    let s = this.freeSlots.pop();
    if (s === undefined) {
      s = this.slotHw++;
      if (s * SLOT_INTS >= this.meta.length) {
        const cap = Math.max(1024, (this.meta.length / SLOT_INTS) * 2);
        this.meta = grow(this.meta, cap * SLOT_INTS, NONE);
      }
    }
    this.ids[s] = id;
    this.slotOf.set(id, s);
    return s;
  }

  freeSlot(s: number): void {
    this.unlink(s);
    this.slotOf.delete(this.ids[s]);
    this.ids[s] = '';
    this.freeSlots.push(s);
  }

  /** Pool offset of the slot's entry. */
  entryOf(s: number): number {
    return this.meta[s * SLOT_INTS + 3] * ENTRY;
  }

  latOf(s: number): number {
    return this.pool[this.entryOf(s)];
  }

  lngOf(s: number): number {
    return this.pool[this.entryOf(s) + 1];
  }

  /** Moves the slot within its current cell. */
  write(s: number, lat: number, lng: number): void {
    const e = this.entryOf(s);
    this.pool[e] = lat;
    this.pool[e + 1] = lng;
    this.pool[e + 2] = Math.cos(lat * RAD);
  }

  /** Whether the slot's cell is (row, col). */
  inCell(s: number, row: number, col: number): boolean {
    const m = s * SLOT_INTS;
    return this.meta[m] === row && this.meta[m + 1] === col;
  }

  /** Puts the slot, at (lat, lng), into cell (row, col). */
  link(s: number, row: number, col: number, lat: number, lng: number): void {
    let c = this.table.get(row, col);
    if (c === NONE) {
      c = this.allocCell(row, col);
      this.table.add(row, col, c);
    }
    const r = c * CELL_INTS;
    let count = this.cells[r + 4];
    if (count === this.cells[r + 3]) this.growChunk(c);
    const idx = count++;
    this.cells[r + 4] = count;
    const e = (this.cells[r + 2] + idx) * ENTRY;
    this.pool[e] = lat;
    this.pool[e + 1] = lng;
    this.pool[e + 2] = Math.cos(lat * RAD);
    this.pool[e + 3] = s;
    const m = s * SLOT_INTS;
    this.meta[m] = row;
    this.meta[m + 1] = col;
    this.meta[m + 2] = c;
    this.meta[m + 3] = this.cells[r + 2] + idx;
  }

  unlink(s: number): void {
    const m = s * SLOT_INTS;
    const c = this.meta[m + 2];
    if (c === NONE) return;
    const r = c * CELL_INTS;
    const base = this.cells[r + 2];
    const idx = this.meta[m + 3] - base;
    const last = this.cells[r + 4] - 1;
    if (idx !== last) {
      // Swap-remove: the last entry takes the hole, and its slot learns its new place.
      const from = (base + last) * ENTRY;
      const to = (base + idx) * ENTRY;
      const pool = this.pool;
      pool[to] = pool[from];
      pool[to + 1] = pool[from + 1];
      pool[to + 2] = pool[from + 2];
      pool[to + 3] = pool[from + 3];
      this.meta[pool[to + 3] * SLOT_INTS + 3] = base + idx;
    }
    this.cells[r + 4] = last;
    this.meta[m] = NONE;
    this.meta[m + 1] = NONE;
    this.meta[m + 2] = NONE;
    this.meta[m + 3] = NONE;
    if (last === 0) {
      this.table.delete(this.cells[r], this.cells[r + 1]);
      this.freeChunk(base, this.cells[r + 3]);
      this.cells[r + 3] = 0;
      this.freeCells.push(c);
    }
  }

  private allocCell(row: number, col: number): number {
    let c = this.freeCells.pop();
    if (c === undefined) {
      c = this.cellHw++;
      if (c * CELL_INTS >= this.cells.length) this.cells = grow(this.cells, Math.max(256, (this.cells.length / CELL_INTS) * 2) * CELL_INTS, 0);
    }
    const r = c * CELL_INTS;
    this.cells[r] = row;
    this.cells[r + 1] = col;
    this.cells[r + 2] = 0;
    this.cells[r + 3] = 0;
    this.cells[r + 4] = 0;
    return c;
  }

  /** Gives the cell a chunk of twice its capacity (4 entries at first), copying its entries. */
  private growChunk(c: number): void {
    const r = c * CELL_INTS;
    const cap = this.cells[r + 3];
    const next = cap === 0 ? 4 : cap * 2;
    const base = this.allocChunk(next);
    if (cap > 0) {
      const old = this.cells[r + 2];
      const count = this.cells[r + 4];
      this.pool.copyWithin(base * ENTRY, old * ENTRY, (old + count) * ENTRY);
      for (let i = 0; i < count; i++) this.meta[this.pool[(base + i) * ENTRY + 3] * SLOT_INTS + 3] = base + i;
      this.freeChunk(old, cap);
    }
    this.cells[r + 2] = base;
    this.cells[r + 3] = next;
  }

  private allocChunk(cap: number): number {
    const cls = Math.log2(cap);
    const free = this.freeChunks[cls];
    const reused = free?.pop();
    if (reused !== undefined) return reused;
    const base = this.poolHw;
    this.poolHw += cap;
    if (this.poolHw * ENTRY > this.pool.length) this.pool = grow(this.pool, Math.max(4096, this.pool.length * 2, this.poolHw * ENTRY), 0);
    return base;
  }

  private freeChunk(base: number, cap: number): void {
    const cls = Math.log2(cap);
    (this.freeChunks[cls] ??= []).push(base);
  }
}
