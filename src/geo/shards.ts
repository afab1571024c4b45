// Zip-shard membership of the officer index's slots: which shard each slot is in, how many each
// shard holds, and iteration over one shard. Intrusive doubly linked lists in typed arrays, so a
// change of shard is a handful of array writes and costs nothing on moves within a shard.
// Shards are bookkeeping (ownership, per-area replication, stats); the spatial search never
// looks at them, which is what keeps `nearest` exact across shard borders.

const NONE = -1;

export class ShardBook {
  private readonly idOf = new Map<string, number>();
  private readonly keys: string[] = [];
  private head = new Int32Array(64).fill(NONE);
  private count = new Int32Array(64);
  private of = new Int32Array(0);
  private next = new Int32Array(0);
  private prev = new Int32Array(0);

  /** Grows the per-slot arrays to `capacity` slots. */
  resize(capacity: number): void {
    this.of = grow(this.of, capacity, NONE);
    this.next = grow(this.next, capacity, NONE);
    this.prev = grow(this.prev, capacity, NONE);
  }

  keyOf(slot: number): string {
    return this.keys[this.of[slot]];
  }

  keyOfId(shard: number): string {
    return this.keys[shard];
  }

  /** Puts the slot in shard `key` (a no-op when it is there already); returns the shard id. */
  assign(slot: number, key: string): number {
    const cur = this.of[slot];
    if (cur !== NONE && this.keys[cur] === key) return cur;
    let sh = this.idOf.get(key);
    if (sh === undefined) {
      sh = this.keys.length;
      this.keys.push(key);
      this.idOf.set(key, sh);
      if (sh >= this.head.length) {
        this.head = grow(this.head, sh * 2, NONE);
        this.count = grow(this.count, sh * 2, 0);
      }
    }
    if (cur !== NONE) this.unlink(slot);
    const h = this.head[sh];
    this.next[slot] = h;
    this.prev[slot] = NONE;
    if (h !== NONE) this.prev[h] = slot;
    this.head[sh] = slot;
    this.of[slot] = sh;
    this.count[sh]++;
    return sh;
  }

  unlink(slot: number): void {
    const sh = this.of[slot];
    if (sh === NONE) return;
    const n = this.next[slot];
    const p = this.prev[slot];
    if (p !== NONE) this.next[p] = n;
    else this.head[sh] = n;
    if (n !== NONE) this.prev[n] = p;
    this.of[slot] = NONE;
    this.count[sh]--;
  }

  sizeOf(key: string): number {
    const sh = this.idOf.get(key);
    return sh === undefined ? 0 : this.count[sh];
  }

  /** Non-empty shards with their sizes. */
  *entries(): IterableIterator<[string, number]> {
    for (let sh = 0; sh < this.keys.length; sh++) if (this.count[sh] > 0) yield [this.keys[sh], this.count[sh]];
  }

  /** Calls back each slot of the shard (do not change the index from the callback). */
  forEachSlot(key: string, cb: (slot: number) => void): void {
    const sh = this.idOf.get(key);
    if (sh === undefined) return;
    for (let s = this.head[sh]; s !== NONE; s = this.next[s]) cb(s);
  }
}

export function grow<T extends Int32Array | Float64Array | Uint8Array>(a: T, capacity: number, fill: number): T {
  if (a.length >= capacity) return a;
  const b = new (a.constructor as new (n: number) => T)(capacity);
  b.set(a);
  if (fill !== 0) b.fill(fill, a.length);
  return b;
}
