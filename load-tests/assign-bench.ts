// The one orchestrator assignment benchmark (SPEC §5, issue #12), used by `npm run bench:orchestrator`
// (rounds, table, bench/results/orchestrator.json) and by the load harness's "assignments" step.
//
// autocannon on GET /v1/citizens/socket with real citizen tokens at NYC positions, no `zip` (the
// orchestrator maps the position itself), against the one bare peer (baselines/fastify-constant.ts:
// the same path answering a constant body of an assignment's shape and size) with the same
// requests, connections and duration, in the same run. Two ratios:
// * `ratio`: assignments/s ÷ bare req/s, each server one process (what SPEC §5 and the issue name);
// * `perCoreRatio`: the same per CPU second of the server process (bare CPU µs per request ÷
//   beacon's, read from /proc/<pid>), so a server using more cores is not counted as faster.
import autocannon from 'autocannon';
import { HTTP_PATHS } from '../src/protocol/index.js';
import { placeDevice } from './areas.js';
import { mulberry32 } from './prng.js';
import { sampleProc } from './system.js';
import { mintToken } from './tokens.js';

export interface CannonResult {
  perSec: number;
  p50: number;
  p99: number;
  max: number;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Server CPU (user + system, every thread) per answered request, µs; null when the pid is unknown. */
  cpuUsPerReq: number | null;
}

export interface Comparison {
  beacon: CannonResult;
  bare: CannonResult;
  /** beacon req/s ÷ bare req/s. */
  ratio: number;
  /** bare CPU µs/req ÷ beacon CPU µs/req; null without both pids. */
  perCoreRatio: number | null;
}

/** A server under test: its base URL and, when it is a local child, its pid (for its CPU). */
export interface Target {
  url: string;
  pid?: number;
}

/**
 * `n` citizens (tokens `<idPrefix>a<i>`, seeded positions over NYC): one request each. Static
 * requests, so autocannon builds each request's bytes once and the generator stays cheap.
 */
export async function assignRequests(secret: Uint8Array, idPrefix: string, seed: number, n = 1000): Promise<autocannon.Request[]> {
  const r = mulberry32(seed ^ 0x5a5a5a5a);
  const out: autocannon.Request[] = [];
  for (let i = 0; i < n; i++) {
    const p = placeDevice(r);
    const token = await mintToken(secret, 'citizen', `${idPrefix}a${i}`);
    out.push({
      method: 'GET',
      path: `${HTTP_PATHS.citizenSocket}?lat=${p.lat.toFixed(6)}&lng=${p.lng.toFixed(6)}`,
      headers: { authorization: `Bearer ${token}` },
    });
  }
  return out;
}

export interface CannonOptions {
  seconds: number;
  connections: number;
  /** Cuts the run short (Ctrl-C); what was measured is still returned. */
  signal?: AbortSignal;
}

/** One autocannon run against `t`. */
export async function cannon(t: Target, requests: autocannon.Request[], o: CannonOptions): Promise<CannonResult> {
  const cpu0 = t.pid ? sampleProc(t.pid)?.cpuS : undefined;
  const r = await new Promise<autocannon.Result>((resolve, reject) => {
    const inst = autocannon({ url: t.url, connections: o.connections, duration: o.seconds, timeout: 10, requests }, (err, res) =>
      err ? reject(err) : resolve(res),
    );
    o.signal?.addEventListener('abort', () => inst.stop(), { once: true });
  });
  const cpu1 = t.pid ? sampleProc(t.pid)?.cpuS : undefined;
  const answered = r.requests.total;
  return {
    perSec: Math.round(r.requests.average),
    p50: r.latency.p50,
    p99: r.latency.p99,
    max: r.latency.max,
    requests: answered,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    cpuUsPerReq: cpu0 !== undefined && cpu1 !== undefined && answered > 0 ? Math.round(((cpu1 - cpu0) * 1e6 * 10) / answered) / 10 : null,
  };
}

/** Beacon and the bare peer with the same requests, one after the other (`bareFirst` swaps the order). */
export async function compareWithBare(
  beacon: Target,
  bare: Target,
  requests: autocannon.Request[],
  o: CannonOptions & { bareFirst?: boolean },
): Promise<Comparison> {
  let b: CannonResult | undefined;
  if (o.bareFirst) b = await cannon(bare, requests, o);
  const z = await cannon(beacon, requests, o);
  b ??= await cannon(bare, requests, o);
  return {
    beacon: z,
    bare: b,
    ratio: b.perSec > 0 ? Math.round((z.perSec / b.perSec) * 1000) / 1000 : 0,
    perCoreRatio: z.cpuUsPerReq && b.cpuUsPerReq ? Math.round((b.cpuUsPerReq / z.cpuUsPerReq) * 1000) / 1000 : null,
  };
}

/** Bytes of one answer of each server (the bare body must be an assignment's size, or the comparison is off). */
export async function bodyBytes(t: Target, request: autocannon.Request): Promise<number> {
  const res = await fetch(`${t.url}${request.path}`, { headers: request.headers as Record<string, string> });
  return (await res.arrayBuffer()).byteLength;
}
