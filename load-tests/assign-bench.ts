// Orchestrator throughput: autocannon on GET /v1/citizens/socket (real tokens, NYC positions, no
// zip: the orchestrator maps the position itself) against a bare fastify route, same settings.
import autocannon from 'autocannon';
import { HTTP_PATHS } from '../src/protocol/index.js';
import { placeDevice } from './areas.js';
import { mulberry32 } from './prng.js';
import { mintToken } from './tokens.js';

export interface CannonResult {
  perSec: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

export interface AssignRequests {
  paths: string[];
  headers: string[];
}

export async function assignRequests(secret: Uint8Array, idPrefix: string, seed: number, n = 1000): Promise<AssignRequests> {
  const r = mulberry32(seed ^ 0x5a5a5a5a);
  const paths: string[] = [];
  const headers: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = placeDevice(r);
    paths.push(`${HTTP_PATHS.citizenSocket}?lat=${p.lat.toFixed(6)}&lng=${p.lng.toFixed(6)}`);
    headers.push(`Bearer ${await mintToken(secret, 'citizen', `${idPrefix}a${i}`)}`);
  }
  return { paths, headers };
}

/** Runs autocannon; `signal` cuts it short (Ctrl-C) and still returns what was measured. */
export function cannon(baseUrl: string, reqs: AssignRequests, seconds: number, connections: number, signal?: AbortSignal): Promise<CannonResult> {
  let k = 0;
  return new Promise((resolve, reject) => {
    const inst = autocannon(
      {
        url: baseUrl,
        connections,
        duration: seconds,
        timeout: 10,
        requests: [
          {
            method: 'GET',
            setupRequest: (req) => {
              const i = k++ % reqs.paths.length;
              return { ...req, path: reqs.paths[i], headers: { ...req.headers, authorization: reqs.headers[i] } };
            },
          },
        ],
      },
      (err, res) => {
        if (err) return reject(err);
        resolve({
          perSec: Math.round(res.requests.average),
          p50: res.latency.p50,
          p99: res.latency.p99,
          requests: res.requests.total,
          non2xx: res.non2xx,
          errors: res.errors,
          timeouts: res.timeouts,
        });
      },
    );
    signal?.addEventListener('abort', () => inst.stop(), { once: true });
  });
}
