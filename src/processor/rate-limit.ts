// Per-socket flood control: a token bucket for frames and a strike counter for abuse. Both live
// inline in the socket's user data (plain numbers, no allocation per frame).

/** Strikes (bad frames, rate-limit hits) within ABUSE_WINDOW_MS past which the socket is closed. */
export const ABUSE_STRIKES = 20;
export const ABUSE_WINDOW_MS = 10_000;

export interface Bucket {
  tokens: number;
  /** Monotonic ms of the last refill. */
  refilledAt: number;
}

export interface Strikes {
  strikes: number;
  /** Monotonic ms when the current strike window started. */
  strikeWindowAt: number;
}

/** Takes one token; false when the socket is over its rate. */
export function takeToken(b: Bucket, now: number, ratePerS: number, burst: number): boolean {
  const elapsed = now - b.refilledAt;
  if (elapsed > 0) {
    b.tokens = Math.min(burst, b.tokens + (elapsed * ratePerS) / 1000);
    b.refilledAt = now;
  }
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

/** Records one strike; true when the socket has now earned `bye: abuse`. */
export function strike(s: Strikes, now: number): boolean {
  if (now - s.strikeWindowAt > ABUSE_WINDOW_MS) {
    s.strikeWindowAt = now;
    s.strikes = 0;
  }
  s.strikes += 1;
  return s.strikes > ABUSE_STRIKES;
}
