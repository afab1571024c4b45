// A binary min-heap of (time, device) pairs on typed arrays: the worker's scheduler. Capacity is
// fixed at construction (one entry per device at most, enforced by the caller).
export class TimeHeap {
  private readonly t: Float64Array;
  private readonly d: Int32Array;
  size = 0;

  constructor(capacity: number) {
    this.t = new Float64Array(Math.max(1, capacity));
    this.d = new Int32Array(Math.max(1, capacity));
  }

  push(time: number, device: number): void {
    if (this.size >= this.t.length) throw new Error('TimeHeap full: a device was scheduled twice');
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.t[p] <= time) break;
      this.t[i] = this.t[p];
      this.d[i] = this.d[p];
      i = p;
    }
    this.t[i] = time;
    this.d[i] = device;
  }

  peekTime(): number {
    return this.size > 0 ? this.t[0] : Infinity;
  }

  /** Removes the earliest entry and returns its device. */
  pop(): number {
    const top = this.d[0];
    const n = --this.size;
    const lt = this.t[n];
    const ld = this.d[n];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && this.t[c + 1] < this.t[c]) c++;
      if (this.t[c] >= lt) break;
      this.t[i] = this.t[c];
      this.d[i] = this.d[c];
      i = c;
    }
    this.t[i] = lt;
    this.d[i] = ld;
    return top;
  }

  clear(): void {
    this.size = 0;
  }
}
