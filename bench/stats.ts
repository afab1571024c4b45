// Timing helpers: warm-up, repeats, min and mean ± std, and a sink against dead-code elimination.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Anything a measured loop computes goes here, and is printed at the end. */
export const sink = { value: 0 };

export interface Rate {
  /** ops/s of the fastest repeat (from the minimum time). */
  best: number;
  mean: number;
  std: number;
  ops: number;
  repeats: number;
}

/** Runs `run(ops)` once to warm up, then `repeats` times; rates in ops/s. */
export async function measure(ops: number, repeats: number, run: (ops: number, rep: number) => void | Promise<void>): Promise<Rate> {
  await run(Math.min(ops, Math.max(1000, ops >> 2)), -1);
  const rates: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = process.hrtime.bigint();
    await run(ops, r);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    rates.push(ops / s);
  }
  const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
  const std = Math.sqrt(rates.reduce((a, b) => a + (b - mean) ** 2, 0) / rates.length);
  return { best: Math.max(...rates), mean, std, ops, repeats };
}

setFlagsFromString('--expose-gc');
const gcFn = runInNewContext('gc') as () => void;

/** Heap plus typed-array memory, after a full GC. */
export function usedBytes(): number {
  gcFn();
  gcFn();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

export function fmtRate(r: Rate | undefined): string {
  if (!r) return '—';
  return `${fmt(r.best)} (${fmt(r.mean)}±${fmt(r.std)})`;
}

export function fmt(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(0);
}
