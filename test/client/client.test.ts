import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BeaconClient, BeaconHttpError, ConnectError, type ClientOptions } from '../../src/client/index.js';
import { wsTransport } from '../../src/client/ws-transport.js';
import type { NearestMessage } from '../../src/protocol/index.js';
import { startStandIn, type StandIn } from './stand-in.js';
import { waitFor } from '../helpers/wait.js';

let st: StandIn;
const clients: BeaconClient[] = [];

beforeEach(async () => {
  st = await startStandIn();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await st.close();
});

function client(extra: Partial<ClientOptions> = {}): BeaconClient {
  const c = new BeaconClient({ baseUrl: st.baseUrl, role: 'citizen', token: 'tok', transport: wsTransport(), heartbeatMs: 0, delay: async () => {}, ...extra });
  clients.push(c);
  return c;
}

describe('BeaconClient', () => {
  it('assigns over HTTP with the bearer token, opens the ticket URL and gets hello', async () => {
    const c = client();
    const opened: unknown[] = [];
    c.on('open', (e) => opened.push(e));
    const hello = await c.connect(40.75, -73.99);
    expect(hello.t).toBe('hello');
    expect(c.state).toBe('open');
    expect(st.assigns).toEqual([{ role: 'citizen', lat: 40.75, lng: -73.99, auth: 'Bearer tok' }]);
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({ node: 'stand-in', zip: '10001', reconnect: false });
  });

  it('picks a transport by itself (global WebSocket, else the ws package)', async () => {
    const c = new BeaconClient({ baseUrl: st.baseUrl, role: 'citizen', token: async () => 'tok', heartbeatMs: 0 });
    clients.push(c);
    await c.connect(40.75, -73.99);
    expect(c.state).toBe('open');
  });

  it('heartbeats with ping so an idle socket stays open', async () => {
    const c = client({ heartbeatMs: 20 });
    let pongs = 0;
    c.on('pong', () => pongs++);
    await c.connect(40.75, -73.99);
    await waitFor(() => pongs >= 2, 5000, 'two pongs');
    expect(st.received.every((r) => r.msg.t === 'ping')).toBe(true);
  });

  for (const encoding of ['json', 'msgpack'] as const) {
    it(`speaks ${encoding} both ways`, async () => {
      const c = client({ encoding });
      const got: NearestMessage[] = [];
      c.on('nearest', (m) => got.push(m));
      await c.connect(40.75, -73.99);
      expect(c.sendLocation(40.76, -73.98, { acc: 5, ts: 1 })).toBe(true);
      expect(c.ping()).toBe(true);
      await waitFor(() => got.length === 1 && st.received.length === 2, 5000, 'nearest');
      expect(st.received.map((r) => r.encoding)).toEqual([encoding, encoding]);
      expect(st.received[0].msg).toEqual({ t: 'loc', lat: 40.76, lng: -73.98, acc: 5, ts: 1 });
      expect(got[0].officer?.id).toBe('o1');
    });
  }

  it('skips positions under the movement threshold, and force sends anyway', async () => {
    const c = client({ moveThresholdM: 10 });
    await c.connect(40.75, -73.99);
    expect(c.sendLocation(40.75, -73.99)).toBe(true); // first one always goes
    expect(c.sendLocation(40.75003, -73.99)).toBe(false); // ~3.3 m
    expect(c.sendLocation(40.75008, -73.99)).toBe(false); // ~8.9 m from the last *sent*
    expect(c.sendLocation(40.7501, -73.99)).toBe(true); // ~11 m
    expect(c.sendLocation(40.7501, -73.99, { force: true })).toBe(true);
    await waitFor(() => st.received.length === 3, 5000, 'three locs');
    expect(st.received.map((r) => (r.msg.t === 'loc' ? r.msg.lat : 0))).toEqual([40.75, 40.7501, 40.7501]);
  });

  it('reconnects after the server drops it, with a fresh assignment, and resends its position', async () => {
    const delays: number[] = [];
    const c = client({ delay: async (ms) => void delays.push(ms), random: () => 0, reconnect: { baseMs: 200, maxMs: 1000, maxAttempts: 3 } });
    const closes: { willReconnect: boolean }[] = [];
    const opens: { reconnect: boolean }[] = [];
    c.on('close', (e) => closes.push(e));
    c.on('open', (e) => opens.push(e));
    await c.connect(40.75, -73.99);
    c.sendLocation(40.751, -73.99);
    await waitFor(() => st.received.length === 1);
    st.dropAll();
    await waitFor(() => opens.length === 2, 5000, 'second open');
    expect(closes).toEqual([expect.objectContaining({ willReconnect: true })]);
    expect(opens[1].reconnect).toBe(true);
    expect(st.assigns).toHaveLength(2);
    expect(st.assigns[1]).toMatchObject({ lat: 40.751, lng: -73.99 }); // asked again from where it last was
    expect(delays).toEqual([100]); // attempt 0 with random 0: half the base
    await waitFor(() => st.received.length === 2, 5000, 'position resent');
    expect(st.received[1].msg).toMatchObject({ t: 'loc', lat: 40.751 });
  });

  it('retries refused upgrades and failing assignments within the backoff bounds, then gives up', async () => {
    const delays: number[] = [];
    const c = client({ delay: async (ms) => void delays.push(ms), random: () => 1, reconnect: { baseMs: 100, maxMs: 300, maxAttempts: 4 } });
    st.failAssign = [503, 503];
    st.refuseUpgrades = 1;
    await c.connect(40.75, -73.99);
    expect(delays).toEqual([100, 200, 300]); // ceilings 100, 200, 400→300
    expect(st.assigns).toHaveLength(4);

    const d = client({ delay: async (ms) => void delays.push(ms), random: () => 0, reconnect: { baseMs: 100, maxMs: 300, maxAttempts: 2 } });
    st.failAssign = [503, 503, 503, 503];
    delays.length = 0;
    await expect(d.connect(40.75, -73.99)).rejects.toBeInstanceOf(BeaconHttpError);
    expect(delays).toEqual([50, 100]);
    expect(d.state).toBe('closed');
  });

  it('does not retry a final HTTP refusal (401)', async () => {
    const c = client();
    st.failAssign = [401];
    const err = await c.connect(40.75, -73.99).catch((e) => e);
    expect(err).toBeInstanceOf(BeaconHttpError);
    expect(err).toMatchObject({ status: 401, code: 'unauthorized', retryable: false });
    expect(st.assigns).toHaveLength(1);
  });

  it('surfaces a refused upgrade as ConnectError with the status when not reconnecting', async () => {
    const c = client({ reconnect: false });
    st.refuseUpgrades = 1;
    const err = await c.connect(40.75, -73.99).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect(err.status).toBe(401);
  });

  for (const reason of ['replaced', 'window_expired'] as const) {
    it(`does not reconnect after bye: ${reason}, and surfaces it`, async () => {
      const c = client();
      const byes: string[] = [];
      const closes: { bye?: string; willReconnect: boolean }[] = [];
      c.on('bye', (m) => byes.push(m.reason));
      c.on('close', (e) => closes.push(e));
      await c.connect(40.75, -73.99);
      st.bye(reason);
      await waitFor(() => closes.length === 1, 5000, 'close');
      expect(byes).toEqual([reason]);
      expect(closes[0]).toMatchObject({ bye: reason, willReconnect: false });
      expect(c.state).toBe('closed');
      await new Promise((r) => setTimeout(r, 50));
      expect(st.assigns).toHaveLength(1);
    });
  }

  it('reconnects after bye: drain', async () => {
    const c = client();
    let opens = 0;
    c.on('open', () => opens++);
    await c.connect(40.75, -73.99);
    st.bye('drain');
    await waitFor(() => opens === 2, 5000, 'reopen after drain');
    expect(st.assigns).toHaveLength(2);
  });

  it('close() stops for good: no reconnect', async () => {
    const c = client();
    const closes: { willReconnect: boolean }[] = [];
    c.on('close', (e) => closes.push(e));
    await c.connect(40.75, -73.99);
    c.close();
    await waitFor(() => closes.length === 1);
    expect(closes[0].willReconnect).toBe(false);
    expect(c.sendLocation(40.7, -73.9)).toBe(false);
    expect(st.assigns).toHaveLength(1);
  });

  it('posts connection requests as a citizen and reports HTTP errors with their code', async () => {
    const c = client();
    await expect(c.requestConnection('o1')).resolves.toEqual({ id: 'c1', status: 'pending' });
    expect(st.posts).toEqual([{ body: { officerId: 'o1' }, auth: 'Bearer tok' }]);
    await expect(c.requestConnection('busy')).rejects.toMatchObject({ status: 409, code: 'officer_unavailable' });
    const officer = client({ role: 'officer' });
    expect(() => officer.requestConnection('o1')).toThrow(/citizens only/);
  });

  it('refuses hostile input from the app before it reaches the wire', async () => {
    const c = client();
    await expect(c.connect(NaN, 0)).rejects.toThrow(RangeError);
    await c.connect(40.75, -73.99);
    for (const [lat, lng] of [
      [NaN, 0],
      [91, 0],
      [0, -181],
      ['40' as unknown as number, 0],
      [Infinity, 0],
    ]) {
      expect(() => c.sendLocation(lat, lng)).toThrow(RangeError);
    }
    expect(() => c.sendLocation(40.7, -73.9, { acc: -1 })).toThrow(RangeError);
    expect(() => c.sendLocation(40.7, -73.9, { ts: NaN })).toThrow(RangeError);
    expect(() => c.setAvailable(true)).toThrow(/officers only/);
    await expect(c.requestConnection('x'.repeat(129))).rejects.toThrow(RangeError);
    const o = client({ role: 'officer' });
    expect(() => o.respond('', true)).toThrow(RangeError);
    expect(() => o.respond('r1', 'yes' as unknown as boolean)).toThrow(TypeError);
    expect(() => new BeaconClient({ baseUrl: st.baseUrl, role: 'admin' as never, token: 't' })).toThrow(RangeError);
    expect(() => new BeaconClient({ baseUrl: st.baseUrl, role: 'citizen', token: 't', moveThresholdM: -1 })).toThrow(RangeError);
    expect(st.received).toHaveLength(0);
  });

  it('ignores hostile frames from the server without dropping the socket', async () => {
    const c = client();
    const errs: unknown[] = [];
    const nearest: unknown[] = [];
    c.on('error', (e) => errs.push(e));
    c.on('nearest', (m) => nearest.push(m));
    await c.connect(40.75, -73.99);
    for (const ws of st.sockets) {
      for (const junk of ['not json', '[]', 'null', '{"t":"evil"}', '{"t":5}', 'x'.repeat(100_000)]) ws.send(junk);
      ws.send(Buffer.from([0xc1, 0xff, 0x00]), { binary: true });
      ws.send(JSON.stringify({ t: 'nearest', officer: null, dist: null }));
    }
    await waitFor(() => nearest.length === 1);
    expect(c.state).toBe('open');
    expect(errs).toEqual([]);
  });

  it('a listener that throws is reported, not fatal', async () => {
    const c = client();
    const errs: unknown[] = [];
    c.on('error', (e) => errs.push(e));
    c.on('nearest', () => {
      throw new Error('app bug');
    });
    await c.connect(40.75, -73.99);
    c.sendLocation(40.76, -73.99);
    await waitFor(() => errs.length === 1);
    expect(c.state).toBe('open');
    expect(c.ping()).toBe(true);
  });
});
