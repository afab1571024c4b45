// Several orchestrator URLs: the client moves to the next one after a call that got no answer or a
// 5xx, keeps it for later calls, and never moves on a final 4xx. Real HTTP and websockets (two
// stand-ins and a port nobody listens on).
import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BeaconClient, BeaconHttpError, type ClientOptions } from '../../src/client/index.js';
import { wsTransport } from '../../src/client/ws-transport.js';
import { startStandIn, type StandIn } from './stand-in.js';
import { waitFor } from '../helpers/wait.js';

let a: StandIn;
let b: StandIn;
let dead: string;
const clients: BeaconClient[] = [];

/** A loopback URL nothing listens on: a port that was free a moment ago. */
async function deadUrl(): Promise<string> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

beforeEach(async () => {
  [a, b, dead] = await Promise.all([startStandIn(), startStandIn(), deadUrl()]);
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all([a.close(), b.close()]);
});

function client(baseUrl: ClientOptions['baseUrl'], extra: Partial<ClientOptions> = {}): BeaconClient {
  const c = new BeaconClient({ baseUrl, role: 'citizen', token: 'tok', transport: wsTransport(), heartbeatMs: 0, delay: async () => {}, ...extra });
  clients.push(c);
  return c;
}

describe('BeaconClient with several orchestrator URLs', () => {
  it('connects through the second URL when the first does not answer, and stays there', async () => {
    const c = client([dead, a.baseUrl]);
    expect(c.baseUrl).toBe(dead);
    await c.connect(40.75, -73.99);
    expect(c.state).toBe('open');
    expect(c.baseUrl).toBe(a.baseUrl);
    expect(a.assigns).toHaveLength(1);
    await expect(c.requestConnection('o1')).resolves.toMatchObject({ status: 'pending' });
    expect(a.posts).toHaveLength(1);
  });

  it('a connection request to a dead orchestrator fails once (not repeated elsewhere); the next one goes to the other', async () => {
    const c = client([a.baseUrl, b.baseUrl], { reconnect: false });
    await c.connect(40.75, -73.99);
    await a.close();
    const err = await c.requestConnection('o1').catch((e) => e);
    expect(err).toBeInstanceOf(BeaconHttpError);
    expect(err.status).toBe(0);
    expect(b.posts).toHaveLength(0); // a POST is not replayed behind the caller's back
    expect(c.baseUrl).toBe(b.baseUrl);
    await expect(c.requestConnection('o1')).resolves.toMatchObject({ status: 'pending' });
    expect(b.posts).toHaveLength(1);
  });

  it('reconnects through the other orchestrator after its own one died', async () => {
    const c = client([a.baseUrl, b.baseUrl], { random: () => 0, reconnect: { baseMs: 10, maxMs: 20, maxAttempts: 5 } });
    let opens = 0;
    c.on('open', () => opens++);
    await c.connect(40.75, -73.99);
    a.dropAll();
    await a.close();
    await waitFor(() => opens === 2, 5000, 'reopen through b');
    expect(b.assigns).toHaveLength(1);
    expect(c.baseUrl).toBe(b.baseUrl);
  });

  it('a 5xx moves to the next URL, round robin; a 4xx does not', async () => {
    const c = client([a.baseUrl, b.baseUrl], { reconnect: { baseMs: 10, maxMs: 20, maxAttempts: 5 } });
    a.failAssign = [503];
    await c.connect(40.75, -73.99);
    expect([a.assigns.length, b.assigns.length]).toEqual([1, 1]);
    expect(c.baseUrl).toBe(b.baseUrl);
    await expect(c.requestConnection('busy')).rejects.toMatchObject({ status: 409 });
    expect(c.baseUrl).toBe(b.baseUrl);
    b.failAssign = [500];
    await expect(c.assign()).rejects.toMatchObject({ status: 500 });
    expect(c.baseUrl).toBe(a.baseUrl); // wrapped around
  });

  it('refuses an empty list or an empty URL', () => {
    expect(() => client([])).toThrow(RangeError);
    expect(() => client([a.baseUrl, ''])).toThrow(RangeError);
  });
});
