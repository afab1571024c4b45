// Grid cell (row, col) → cell record, stored as 8×8 blocks: a hash table finds the block by
// (row >> 3, col >> 3), the block is 64 ints in one pool. A ring search walks neighbouring cells,
// which mostly share a block, so it pays one hash probe per block and an array read per cell;
// an empty region costs one probe per 64 cells. Blocks are freed when their last cell empties.
import { CellTable } from './cell-table.js';
import { grow } from './grow.js';

const NONE = -1;

export class BlockCellMap {
  private readonly blocks = new CellTable();
  /** 64 cell records per block, NONE where a cell is empty. */
  pool = new Int32Array(64 * 64).fill(NONE);
  private blockUsed = new Int32Array(64);
  private readonly freeBlocks: number[] = [];
  private blockHw = 0;
  /** Occupied cells. */
  size = 0;

  /** Block id of block (br, bc), or -1: the search reads `pool[(id << 6) | (row & 7) << 3 | (col & 7)]`. */
  blockOf(br: number, bc: number): number {
    return this.blocks.get(br, bc);
  }

  get(row: number, col: number): number {
    const b = this.blocks.get(row >> 3, col >> 3);
    return b === NONE ? NONE : this.pool[(b << 6) | ((row & 7) << 3) | (col & 7)];
  }

  /** Sets a cell that is empty now; v >= 0. */
  add(row: number, col: number, v: number): void {
    let b = this.blocks.get(row >> 3, col >> 3);
    if (b === NONE) {
      b = this.allocBlock();
      this.blocks.set(row >> 3, col >> 3, b);
    }
    this.pool[(b << 6) | ((row & 7) << 3) | (col & 7)] = v;
    this.blockUsed[b]++;
    this.size++;
  }

  delete(row: number, col: number): void {
    const b = this.blocks.get(row >> 3, col >> 3);
    if (b === NONE) return;
    const i = (b << 6) | ((row & 7) << 3) | (col & 7);
    if (this.pool[i] === NONE) return;
    this.pool[i] = NONE;
    this.size--;
    if (--this.blockUsed[b] === 0) {
      this.blocks.delete(row >> 3, col >> 3);
      this.freeBlocks.push(b);
    }
  }

  private allocBlock(): number {
    let b = this.freeBlocks.pop();
    if (b === undefined) {
      b = this.blockHw++;
      if (b >= this.blockUsed.length) {
        this.blockUsed = grow(this.blockUsed, this.blockUsed.length * 2, 0);
        this.pool = grow(this.pool, this.blockUsed.length * 64, NONE);
      }
    }
    this.blockUsed[b] = 0;
    return b;
  }
}
