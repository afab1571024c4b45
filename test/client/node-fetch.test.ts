// The client's HTTP on Node (node-fetch.ts, the default there): keep-alive reuse, a GET asked again
// once when its pooled socket turns out closed, a POST never replayed, bounded bodies and
// timeouts. A real node:http server counting connections and requests.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assign, BeaconHttpError, defaultFetch, getConnection, requestConnection, type HttpOptions } from '../../src/client/http.js';
import { MAX_RESPONSE_BYTES, nodeFetch } from '../../src/client/node-fetch.js';

let server: Server;
let base: string;
let connections: number;
let requests: { method: string; url: string; auth: string | undefined; socket: Socket }[];
/** What the server does with the next request; default: answer an assignment. */
let handler: (req: IncomingMessage, res: ServerResponse) => void;
const sockets = new Set<Socket>();

const assignment = { url: 'ws://127.0.0.1:1/ws', ticket: 't', zip: '10036', node: 'n1', expiresAt: 0 };
const answer = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

beforeEach(async () => {
  connections = 0;
  requests = [];
  handler = (_req, res) => answer(res, 200, assignment);
  server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization, socket: req.socket });
    req.resume();
    req.on('end', () => handler(req, res));
  });
  server.on('connection', (s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

const opts = (extra: Partial<HttpOptions> = {}): HttpOptions => ({ baseUrl: base, token: 'tok', ...extra });

describe('node-fetch (the client HTTP on Node)', () => {
  it('is what the client uses on Node', async () => {
    expect(await defaultFetch()).toBe(nodeFetch);
  });

  it('sends the token and keeps one connection alive across sequential calls', async () => {
    for (let i = 0; i < 5; i++) await expect(assign(opts(), 'citizen', 40.75, -73.99)).resolves.toMatchObject({ ticket: 't' });
    expect(requests).toHaveLength(5);
    expect(requests[0]).toMatchObject({ method: 'GET', auth: 'Bearer tok' });
    expect(requests[0].url).toBe('/v1/citizens/socket?lat=40.75&lng=-73.99');
    expect(connections).toBe(1);
  });

  it('asks a GET again on a fresh connection when its pooled one was closed under it', async () => {
    await assign(opts(), 'citizen', 40.75, -73.99);
    const first = requests[0].socket;
    // The next request on the pooled socket finds the server hanging up instead of answering.
    handler = (req, res) => {
      if (req.socket === first) req.socket.destroy();
      else answer(res, 200, assignment);
    };
    await expect(assign(opts(), 'citizen', 40.75, -73.99)).resolves.toMatchObject({ ticket: 't' });
    expect(requests).toHaveLength(3);
    expect(requests[2].socket).not.toBe(first);
  });

  it('never replays a POST: a closed pooled connection fails the call (status 0)', async () => {
    await assign(opts(), 'citizen', 40.75, -73.99);
    handler = (req) => req.socket.destroy();
    const err = await requestConnection(opts(), 'o1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BeaconHttpError);
    expect((err as BeaconHttpError).status).toBe(0);
    expect(requests.filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  it('gives up a GET that fails on a fresh connection too (asked twice at most)', async () => {
    handler = (req) => req.socket.destroy();
    await expect(getConnection(opts(), 'c1')).rejects.toMatchObject({ status: 0, code: 'network' });
    expect(requests.length).toBeLessThanOrEqual(2);
  });

  it('refuses a body beyond MAX_RESPONSE_BYTES and times out a server that does not answer', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(Buffer.alloc(MAX_RESPONSE_BYTES + 1, 0x20));
    };
    await expect(assign(opts(), 'citizen', 40.75, -73.99)).rejects.toMatchObject({
      status: 0,
      code: 'network',
      message: expect.stringContaining('larger than'),
    });
    handler = () => {};
    await expect(assign(opts({ timeoutMs: 100 }), 'citizen', 40.75, -73.99)).rejects.toMatchObject({ status: 0, code: 'network' });
  });

  it('passes errors through with their status and code, and the request body on a POST', async () => {
    handler = (_req, res) => answer(res, 429, { error: 'rate_limited', message: 'slow down' });
    await expect(assign(opts(), 'citizen', 40.75, -73.99)).rejects.toMatchObject({ status: 429, code: 'rate_limited', message: 'slow down' });
    let body = '';
    handler = (_req, res) => answer(res, 202, { id: 'r1', status: 'pending' });
    server.prependListener('request', (req: IncomingMessage) => req.on('data', (c: Buffer) => (body += c.toString())));
    await expect(requestConnection(opts(), 'o1')).resolves.toMatchObject({ id: 'r1' });
    expect(JSON.parse(body)).toEqual({ officerId: 'o1' });
  });

  it('refuses a scheme it cannot speak', async () => {
    await expect(nodeFetch('ftp://127.0.0.1/x')).rejects.toThrow(/unsupported URL scheme/);
  });
});
