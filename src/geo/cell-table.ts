// Open-addressing hash table from an int pair (row, col) to an int, in typed arrays: a cell
// lookup on the query path is a multiply-shift hash and one or two probes, with no boxed keys
// (a packed row·2^18+col key would exceed V8's small-integer range and make Map slower).
// Linear probing with backward-shift deletion, so removals leave no tombstones.

const EMPTY = -1;

export class CellTable {
  private keyA: Int32Array;
  private keyB: Int32Array;
  private vals: Int32Array;
  private mask: number;
  private shift: number;
  size = 0;

  constructor(capacityPow2 = 1024) {
    this.keyA = new Int32Array(capacityPow2);
    this.keyB = new Int32Array(capacityPow2);
    this.vals = new Int32Array(capacityPow2).fill(EMPTY);
    this.mask = capacityPow2 - 1;
    this.shift = 32 - Math.log2(capacityPow2);
  }

  private slot(a: number, b: number): number {
    const h = Math.imul(Math.imul(a, 0x85ebca6b) ^ b, 0x9e3779b1);
    return h >>> this.shift;
  }

  /** The value for (a, b), or -1. */
  get(a: number, b: number): number {
    const keyA = this.keyA;
    const keyB = this.keyB;
    const vals = this.vals;
    const mask = this.mask;
    for (let i = this.slot(a, b); ; i = (i + 1) & mask) {
      const v = vals[i];
      if (v === EMPTY) return EMPTY;
      if (keyA[i] === a && keyB[i] === b) return v;
    }
  }

  /** Sets (a, b) → v; v must be >= 0. */
  set(a: number, b: number, v: number): void {
    if ((this.size + 1) * 2 > this.vals.length) this.grow();
    const mask = this.mask;
    for (let i = this.slot(a, b); ; i = (i + 1) & mask) {
      if (this.vals[i] === EMPTY) {
        this.keyA[i] = a;
        this.keyB[i] = b;
        this.vals[i] = v;
        this.size++;
        return;
      }
      if (this.keyA[i] === a && this.keyB[i] === b) {
        this.vals[i] = v;
        return;
      }
    }
  }

  delete(a: number, b: number): boolean {
    const mask = this.mask;
    let i = this.slot(a, b);
    for (; ; i = (i + 1) & mask) {
      if (this.vals[i] === EMPTY) return false;
      if (this.keyA[i] === a && this.keyB[i] === b) break;
    }
    // Backward shift: pull later entries of the probe run into the hole when their home allows it.
    let hole = i;
    for (let j = (i + 1) & mask; this.vals[j] !== EMPTY; j = (j + 1) & mask) {
      const home = this.slot(this.keyA[j], this.keyB[j]);
      // j may move to hole iff home is not cyclically in (hole, j].
      const between = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!between) {
        this.keyA[hole] = this.keyA[j];
        this.keyB[hole] = this.keyB[j];
        this.vals[hole] = this.vals[j];
        hole = j;
      }
    }
    this.vals[hole] = EMPTY;
    this.size--;
    return true;
  }

  private grow(): void {
    const { keyA, keyB, vals } = this;
    const cap = vals.length * 2;
    this.keyA = new Int32Array(cap);
    this.keyB = new Int32Array(cap);
    this.vals = new Int32Array(cap).fill(EMPTY);
    this.mask = cap - 1;
    this.shift = 32 - Math.log2(cap);
    this.size = 0;
    for (let i = 0; i < vals.length; i++) if (vals[i] !== EMPTY) this.set(keyA[i], keyB[i], vals[i]);
  }
}
