// The client's HTTP calls on Node's own http/https modules, for Node only (loaded lazily by
// defaultFetch, so a browser bundle never pulls node:http in). Node's global `fetch` (undici)
// costs about three times the CPU per assignment of a plain keep-alive request (measured in a
// connect storm: ~450 µs against ~150 µs of the generator's CPU), and a city-wide reconnect is
// thousands of assignments a second from a process like the load generator.
//
// One keep-alive pool per process and scheme, shared by every client (like fetch's global
// dispatcher); Nagle is off on its sockets (`noDelay`), so a request is never held back
// waiting for an ACK.
import http from 'node:http';
import https from 'node:https';
import type { FetchLike } from './fetch-like.js';

/** Bodies larger than this are refused: an assignment or a connection record is a few hundred bytes. */
export const MAX_RESPONSE_BYTES = 1 << 20;

const agents = {
  'http:': new http.Agent({ keepAlive: true, noDelay: true }),
  'https:': new https.Agent({ keepAlive: true, noDelay: true }),
};

/** Codes a reused keep-alive socket gives when the server closed it just as it was picked up. */
const STALE_SOCKET = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

interface Answer {
  status: number;
  ok: boolean;
  json(): Promise<unknown>;
  text(): Promise<string>;
}

export const nodeFetch: FetchLike = (input, init = {}) => request(input, init, true);

function request(input: string, init: Parameters<FetchLike>[1] & object, mayRetry: boolean): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const url = new URL(input);
    const agent = url.protocol === 'https:' ? agents['https:'] : url.protocol === 'http:' ? agents['http:'] : undefined;
    if (!agent) return reject(new TypeError(`unsupported URL scheme ${url.protocol}`));
    const { signal } = init;
    if (signal?.aborted) return reject(abortError(signal));
    const method = init.method ?? 'GET';
    const headers: Record<string, string | number> = { ...init.headers };
    if (init.body !== undefined) headers['content-length'] = Buffer.byteLength(init.body);
    const req = (url.protocol === 'https:' ? https : http).request(url, { method, headers, agent });
    const onAbort = (): void => {
      req.destroy(abortError(signal as AbortSignal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = (): void => signal?.removeEventListener('abort', onAbort);
    req.on('error', (err: NodeJS.ErrnoException) => {
      done();
      // A GET on a pooled socket the server had just closed: ask once more on a fresh one. A call
      // with a body (POST) is never replayed: the server may have acted on it.
      if (mayRetry && req.reusedSocket && method === 'GET' && init.body === undefined && err.code && STALE_SOCKET.has(err.code) && !signal?.aborted) {
        request(input, init, false).then(resolve, reject);
        return;
      }
      reject(err);
    });
    req.on('response', (res) => {
      res.on('error', (err) => {
        done();
        reject(err);
      });
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_RESPONSE_BYTES) {
          req.destroy(new Error(`response larger than ${MAX_RESPONSE_BYTES} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => {
        done();
        const text = chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        resolve({
          status,
          ok: status >= 200 && status < 300,
          json: async () => JSON.parse(text) as unknown,
          text: async () => text,
        });
      });
    });
    req.end(init.body);
  });
}

function abortError(signal: AbortSignal): Error {
  const r = signal.reason as unknown;
  return r instanceof Error ? r : new Error('the request was aborted');
}
