// Sockets by the moment their credentials end (the device token's `exp`, carried by the ticket),
// so the ticker can close each one then without a timer per socket. Buckets of one second: adding
// and removing are O(1), a sweep looks only at the buckets that came due since the last one.

const BUCKET_MS = 1000;

export class ExpiryQueue<T extends { tokenExp: number }> {
  private readonly buckets = new Map<number, Set<T>>();
  /** First bucket not yet swept completely. */
  private next: number;

  constructor(now: number) {
    this.next = Math.floor(now / BUCKET_MS);
  }

  add(item: T): void {
    const k = Math.max(this.next, Math.floor(item.tokenExp / BUCKET_MS));
    let b = this.buckets.get(k);
    if (!b) this.buckets.set(k, (b = new Set()));
    b.add(item);
  }

  delete(item: T): void {
    const k = Math.max(this.next, Math.floor(item.tokenExp / BUCKET_MS));
    const b = this.buckets.get(k);
    if (b?.delete(item) && b.size === 0) this.buckets.delete(k);
  }

  /** Calls `expire` for every item whose tokenExp ≤ now, and forgets it. */
  sweep(now: number, expire: (item: T) => void): void {
    const last = Math.floor(now / BUCKET_MS);
    for (let k = this.next; k <= last; k++) {
      const b = this.buckets.get(k);
      if (!b) continue;
      for (const item of b) {
        if (item.tokenExp > now) continue; // only in the current, partly due bucket
        b.delete(item);
        expire(item);
      }
      if (b.size === 0) this.buckets.delete(k);
    }
    // The current bucket may still hold items due later within it: sweep it again next time.
    this.next = last;
  }

  get size(): number {
    let n = 0;
    for (const b of this.buckets.values()) n += b.size;
    return n;
  }
}
