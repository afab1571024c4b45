// Reconnect pacing: exponential backoff with "equal jitter" (half fixed, half random), so a fleet
// of devices dropped by the same dead node does not come back in lockstep, yet no device waits
// less than half its step. Pure: the random source is passed in (tests inject their own).

export interface BackoffOptions {
  /** First step, ms. */
  baseMs: number;
  /** Ceiling of any single wait, ms. */
  maxMs: number;
  /** Attempts after which the client gives up and surfaces the last error. */
  maxAttempts: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 30_000, maxAttempts: 10 };

/** Upper bound of the wait before retry number `attempt` (0-based). */
export function backoffCeiling(attempt: number, opts: Pick<BackoffOptions, 'baseMs' | 'maxMs'>): number {
  const exp = attempt >= 0 ? Math.min(Math.floor(attempt), 40) : 0; // NaN → 0; 2^40 already dwarfs any ceiling
  return Math.min(opts.maxMs, opts.baseMs * 2 ** exp);
}

/** Wait before retry number `attempt`: uniform in [ceiling/2, ceiling]. */
export function backoffDelay(attempt: number, opts: Pick<BackoffOptions, 'baseMs' | 'maxMs'>, random: () => number = Math.random): number {
  const ceiling = backoffCeiling(attempt, opts);
  const raw = random();
  const r = raw >= 0 ? Math.min(1, raw) : 0; // a broken random source (NaN, <0, >1) cannot escape the bounds
  return ceiling / 2 + (r * ceiling) / 2;
}

export function checkBackoff(opts: BackoffOptions): void {
  if (!(opts.baseMs > 0) || !(opts.maxMs >= opts.baseMs) || !Number.isInteger(opts.maxAttempts) || opts.maxAttempts < 0) {
    throw new RangeError('backoff needs baseMs > 0, maxMs >= baseMs and an integer maxAttempts >= 0');
  }
}
