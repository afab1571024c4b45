// HDR histograms in microseconds (integers), reported in milliseconds. Workers ship interval
// histograms to the main thread as compressed base64; the main thread merges them.
import * as hdr from 'hdr-histogram-js';

export type Histogram = hdr.Histogram;

export const newHistogram = (): Histogram => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });

export const recordMs = (h: Histogram, ms: number): void => h.recordValue(Math.max(1, Math.round(ms * 1000)));

export const encodeHist = (h: Histogram): string => hdr.encodeIntoCompressedBase64(h);

export function decodeInto(target: Histogram, b64: string): void {
  const h = hdr.decodeFromCompressedBase64(b64);
  target.add(h);
  h.destroy();
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

const ms = (us: number): number => Math.round(us) / 1000;

export function summarize(h: Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 };
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  };
}

/** Bucketed counts for the HTML histogram plot: log-spaced bins in ms. */
export function bins(h: Histogram, n = 40): { lo: number; hi: number; count: number }[] {
  if (h.totalCount === 0) return [];
  const minUs = Math.max(1, h.minNonZeroValue);
  const maxUs = Math.max(minUs * 1.0001, h.maxValue);
  const ratio = Math.pow(maxUs / minUs, 1 / n);
  const out: { lo: number; hi: number; count: number }[] = [];
  let prevCum = 0;
  for (let i = 1; i <= n; i++) {
    const hiUs = minUs * ratio ** i;
    // cumulative count up to hiUs via percentile search is costly; use countBetween-like walk
    const cum = countBelow(h, hiUs);
    out.push({ lo: ms(minUs * ratio ** (i - 1)), hi: ms(hiUs), count: cum - prevCum });
    prevCum = cum;
  }
  return out;
}

function countBelow(h: Histogram, us: number): number {
  // Binary search on percentiles: hdr-histogram-js exposes no direct CDF.
  let lo = 0;
  let hi = 100;
  for (let i = 0; i < 30; i++) {
    const mid = (lo + hi) / 2;
    if (h.getValueAtPercentile(mid) <= us) lo = mid;
    else hi = mid;
  }
  return Math.round((lo / 100) * h.totalCount);
}
