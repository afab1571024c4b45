// Per-citizen limit on connection requests (REQUESTS_PER_MINUTE): a sliding window of the last
// `limit` request times per key. Memory is bounded by active keys × limit; idle keys are swept.
// In memory, so with several orchestrators each enforces it on its own share of the traffic.

export interface RateLimiter {
  /** True when the key may act now (and counts the action); false when over the limit. */
  take(key: string, now: number): boolean;
}

export class SlidingWindowLimiter implements RateLimiter {
  private readonly hits = new Map<string, number[]>();
  private calls = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs = 60_000,
  ) {}

  take(key: string, now: number): boolean {
    if (++this.calls % 1024 === 0) this.sweep(now);
    let times = this.hits.get(key);
    if (!times) this.hits.set(key, (times = []));
    while (times.length > 0 && now - times[0] >= this.windowMs) times.shift();
    if (times.length >= this.limit) return false;
    times.push(now);
    return true;
  }

  get keys(): number {
    return this.hits.size;
  }

  /** Forgets keys whose last action left the window. */
  sweep(now: number): void {
    for (const [key, times] of this.hits) if (times.length === 0 || now - times[times.length - 1] >= this.windowMs) this.hits.delete(key);
  }
}
