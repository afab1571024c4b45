import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeChannel } from '../../src/coordination/index.js';
import { haversine, roundToStep, snapToCell } from '../../src/geo/index.js';
import { CLOSE_CODES, MAX_PENDING_PER_OFFICER } from '../../src/protocol/index.js';
import { north, NODE_ID, startFixture, type Fixture } from './fixture.js';
import { waitFor } from '../helpers/wait.js';

const P = { lat: 40.75, lng: -73.99 };

describe('processor wire contract (SPEC §2)', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture();
  });
  afterAll(() => f.close());

  it('officer hello carries the window end; ping → pong in JSON', async () => {
    const t0 = Date.now();
    const o = await f.connect('officer', 'o-hello');
    const hello = o.messages[0];
    expect(hello).toMatchObject({ t: 'hello', id: 'o-hello', role: 'officer', radius: 5000, alertRadius: 250 });
    expect(hello.windowEndsAt).toBeGreaterThanOrEqual(t0 + 900_000 - 1000);
    o.json({ t: 'ping' });
    const pong = await o.waitFor('pong');
    expect(pong.at).toBeGreaterThan(0);
    o.close();
  });

  it('answers in the encoding of the last frame (msgpack, then JSON again)', async () => {
    const c = await f.connect('citizen', 'c-enc');
    c.pack({ t: 'ping' });
    await waitFor(() => c.binaryFrames === 1);
    expect(c.last('pong')).toBeDefined();
    c.json({ t: 'ping' });
    await waitFor(() => c.of('pong').length === 2);
    expect(c.binaryFrames).toBe(1);
    c.close();
  });

  it('can say hello in MessagePack when asked with ?enc=msgpack', async () => {
    const c = await f.connect('citizen', 'c-enc2', { enc: 'msgpack' });
    expect(c.binaryFrames).toBe(1);
    c.close();
  });

  it('citizen loc → nearest with the officer public profile; null beyond the search radius', async () => {
    const c = await f.connect('citizen', 'c-none');
    c.json({ t: 'loc', lat: 10, lng: 10 });
    expect(await c.waitFor('nearest')).toEqual({ t: 'nearest', officer: null, dist: null });

    const o = await f.connect('officer', 'o-near');
    o.json({ t: 'loc', ...P });
    await o.sync();
    const q = north(P.lat, P.lng, 1000);
    const c2 = await f.connect('citizen', 'c-1km');
    c2.json({ t: 'loc', ...q, acc: 10, ts: Date.now() });
    const n = await c2.waitFor('nearest');
    // 1 km away (outside the alert radius): the officer's 200 m cell centre, the distance to it rounded.
    const centre = snapToCell(P.lat, P.lng, 200);
    expect(n.officer).toEqual({ id: 'o-near', ...centre, precision: 200, profile: { name: 'Officer o-near', badge: 'B-o-near', precinct: '13' } });
    expect(n.dist).toBe(roundToStep(haversine(q.lat, q.lng, centre.lat, centre.lng), 50));
    expect(n.dist).toBeGreaterThanOrEqual(900);
    expect(n.dist).toBeLessThanOrEqual(1100);
    expect(JSON.stringify(n)).not.toContain('acct');
    expect(c2.of('near')).toHaveLength(0); // 1 km is outside the 250 m alert radius
    for (const x of [c, o, c2]) x.close();
    await waitFor(() => f.processor.stats().busy === 0);
  });

  it('near: once per officer per entry, re-armed on leaving the radius', async () => {
    const o = await f.connect('officer', 'o-alert');
    o.json({ t: 'loc', ...P });
    await o.sync();
    const c = await f.connect('citizen', 'c-alert');
    c.json({ t: 'loc', ...north(P.lat, P.lng, 100) });
    const near = await c.waitFor('near');
    expect(near).toMatchObject({ t: 'near', officer: { id: 'o-alert', profile: { badge: 'B-o-alert' } } });
    expect(near.dist).toBeGreaterThan(95);
    c.json({ t: 'loc', ...north(P.lat, P.lng, 120) });
    await waitFor(() => c.of('nearest').length === 2);
    expect(c.of('near')).toHaveLength(1); // still inside: no second alert
    c.json({ t: 'loc', ...north(P.lat, P.lng, 900) });
    await waitFor(() => c.of('nearest').length === 3);
    c.json({ t: 'loc', ...north(P.lat, P.lng, 50) });
    await waitFor(() => c.of('near').length === 2);
    o.close();
    c.close();
  });

  it('citizens may not send avail or resp', async () => {
    const c = await f.connect('citizen', 'c-na');
    c.json({ t: 'avail', on: false });
    c.json({ t: 'resp', id: 'r1', accept: true });
    await waitFor(() => c.of('err').length === 2);
    expect(c.of('err').map((e) => e.code)).toEqual(['not_allowed', 'not_allowed']);
    expect(c.closed).toBeNull();
    c.close();
  });

  it('avail:false leaves the index at once (socket stays); avail:true returns at the last position', async () => {
    const o = await f.connect('officer', 'o-avail');
    o.json({ t: 'loc', ...P });
    await o.sync();
    const c = await f.connect('citizen', 'c-avail');
    c.json({ t: 'loc', ...north(P.lat, P.lng, 2000) });
    await c.waitFor('nearest', (m) => m.officer?.id === 'o-avail');
    let from = c.mark();
    o.json({ t: 'avail', on: false });
    await c.waitFor('nearest', (m) => m.officer === null, from);
    expect(o.closed).toBeNull();
    // Moving while unavailable stays private.
    const moved = north(P.lat, P.lng, 600);
    o.json({ t: 'loc', ...moved });
    from = c.mark();
    o.json({ t: 'avail', on: true });
    const back = await c.waitFor('nearest', (m) => m.officer !== null, from);
    // Back at the last position, as the citizen 1.4 km away may see it (its cell, not P's).
    expect(snapToCell(moved.lat, moved.lng, 200)).not.toEqual(snapToCell(P.lat, P.lng, 200));
    expect(back.officer).toMatchObject({ id: 'o-avail', ...snapToCell(moved.lat, moved.lng, 200), precision: 200 });
    o.close();
    from = c.mark();
    await c.waitFor('nearest', (m) => m.officer === null, from); // a closed socket leaves at once
    c.close();
  });

  it('publishes socket.open and socket.close records on the orchestrator channel', async () => {
    const c = await f.connect('citizen', 'c-bus');
    await waitFor(() => f.toOrch.find((m) => m.type === 'socket.open' && m.record.profileId === 'c-bus'));
    const open = f.toOrch.find((m) => m.type === 'socket.open' && m.record.profileId === 'c-bus');
    expect(open).toMatchObject({ record: { node: NODE_ID, url: f.processor.url, role: 'citizen', zip: '10001' } });
    c.close();
    const close = await waitFor(() => f.toOrch.find((m) => m.type === 'socket.close' && m.record.profileId === 'c-bus'));
    expect(close).toMatchObject({ reason: 'dropped' });
  });

  it('a second socket for the same profile replaces the first, which keeps nothing', async () => {
    const o1 = await f.connect('officer', 'o-rep');
    o1.json({ t: 'loc', ...P });
    await o1.sync();
    const c = await f.connect('citizen', 'c-rep');
    c.json({ t: 'loc', ...north(P.lat, P.lng, 500) });
    await c.waitFor('nearest', (m) => m.officer?.id === 'o-rep');
    const o2 = await f.connect('officer', 'o-rep');
    expect(await o1.waitFor('bye')).toEqual({ t: 'bye', reason: 'replaced' });
    expect((await o1.waitClosed()).code).toBe(CLOSE_CODES.replaced);
    // 200 m from the citizen: inside the alert radius, so the exact new position is what it sees.
    const moved = north(P.lat, P.lng, 300);
    o2.json({ t: 'loc', ...moved });
    await c.waitFor('nearest', (m) => m.officer?.id === 'o-rep' && m.officer.lat === moved.lat && m.dist! < 250);
    expect(f.processor.stats().officers).toBe(1);
    // The new socket is the live one: its state survived the old one's close.
    o2.json({ t: 'ping' });
    await o2.waitFor('pong');
    const closeEvt = f.toOrch.filter((m) => m.type === 'socket.close' && m.record.profileId === 'o-rep');
    expect(closeEvt).toHaveLength(1);
    expect(closeEvt[0]).toMatchObject({ reason: 'replaced' });
    o2.close();
    c.close();
  });

  it('connection requests: conn.req → req, resp → conn.resp, conn.update → conn to both', async () => {
    const o = await f.connect('officer', 'o-req');
    const c = await f.connect('citizen', 'c-req');
    const expiresAt = Date.now() + 60_000;
    f.bus.publish(nodeChannel(NODE_ID), {
      type: 'conn.req',
      requestId: 'r-1',
      officerId: 'o-req',
      citizen: { id: 'c-req', profile: { name: 'Citizen c-req' } },
      expiresAt,
    });
    expect(await o.waitFor('req')).toEqual({ t: 'req', id: 'r-1', citizen: { id: 'c-req', profile: { name: 'Citizen c-req' } }, expiresAt });

    o.json({ t: 'resp', id: 'r-unknown', accept: true });
    expect(await o.waitFor('err')).toMatchObject({ code: 'unknown_request' });

    o.pack({ t: 'resp', id: 'r-1', accept: true });
    const resp = await waitFor(() => f.toOrch.find((m) => m.type === 'conn.resp'));
    expect(resp).toEqual({ type: 'conn.resp', requestId: 'r-1', officerId: 'o-req', accept: true });

    f.bus.publish(nodeChannel(NODE_ID), { type: 'conn.update', conn: { id: 'r-1', status: 'accepted', officerId: 'o-req', citizenId: 'c-req' } });
    expect(await o.waitFor('conn')).toEqual({ t: 'conn', id: 'r-1', status: 'accepted', officerId: 'o-req', citizenId: 'c-req' });
    expect(await c.waitFor('conn')).toEqual({ t: 'conn', id: 'r-1', status: 'accepted', officerId: 'o-req', citizenId: 'c-req' });

    // Answered once: a second resp for the same id is unknown.
    const from = o.mark();
    o.json({ t: 'resp', id: 'r-1', accept: false });
    expect(await o.waitFor('err', () => true, from)).toMatchObject({ code: 'unknown_request' });
    // A request for an officer not here is dropped quietly.
    f.bus.publish(nodeChannel(NODE_ID), { type: 'conn.req', requestId: 'r-2', officerId: 'nobody', citizen: { id: 'c-req', profile: {} }, expiresAt });
    o.close();
    c.close();
  });

  it('a full officer request table refuses the newcomer (metric), never evicts an older request; expired ones make room', async () => {
    const o = await f.connect('officer', 'o-full');
    const live = Date.now() + 60_000;
    const req = (id: string, expiresAt: number) =>
      f.bus.publish(nodeChannel(NODE_ID), { type: 'conn.req', requestId: id, officerId: 'o-full', citizen: { id: `c-${id}`, profile: {} }, expiresAt });
    req('old', live);
    for (let i = 1; i < MAX_PENDING_PER_OFFICER - 1; i++) req(`r${i}`, live);
    // Alive while the table fills and 'extra' is refused (however slow the machine), expired after.
    const shortExpiresAt = Date.now() + 3000;
    req('short', shortExpiresAt);
    await waitFor(() => o.of('req').length === MAX_PENDING_PER_OFFICER || undefined, 5000, 'a full table');
    const refusedBefore = await f.metric('beacon_processor_requests_refused_total');
    req('extra', live);
    await waitMetric(f, refusedBefore + 1);
    expect(o.of('req').map((m) => m.id)).not.toContain('extra');
    // The oldest is still answerable.
    o.json({ t: 'resp', id: 'old', accept: false });
    await waitFor(() => f.toOrch.find((m) => m.type === 'conn.resp' && m.requestId === 'old'));
    // One place freed by the answer ('late'); once 'short' expired, it makes room too ('late2').
    await waitFor(() => Date.now() > shortExpiresAt + 20 || undefined, 5000, "'short' past its expiry");
    req('late', live);
    await o.waitFor('req', (m) => m.id === 'late');
    req('late2', live);
    req('late3', live);
    await waitMetric(f, refusedBefore + 2);
    expect(o.of('req').map((m) => m.id)).toContain('late2');
    expect(o.of('req').map((m) => m.id)).not.toContain('late3');
    expect(o.of('err')).toEqual([]);
    o.close();
  });
});

async function waitMetric(fx: { metric(name: string): Promise<number> }, n: number): Promise<void> {
  await waitFor(async () => (await fx.metric('beacon_processor_requests_refused_total')) === n, 5000, `requests_refused_total to reach ${n}`);
}

describe('officer window', () => {
  it('ends with bye: window_expired, a close and out of the index', async () => {
    const f = await startFixture({ OFFICER_WINDOW_MS: 1000 });
    try {
      const o = await f.connect('officer', 'o-win');
      o.json({ t: 'loc', ...P });
      await o.sync();
      const c = await f.connect('citizen', 'c-win');
      c.json({ t: 'loc', ...north(P.lat, P.lng, 300) });
      await c.waitFor('nearest', (m) => m.officer?.id === 'o-win');
      const from = c.mark();
      expect(await o.waitFor('bye', () => true, 0, 5000)).toEqual({ t: 'bye', reason: 'window_expired' });
      expect((await o.waitClosed()).code).toBe(CLOSE_CODES.window_expired);
      await c.waitFor('nearest', (m) => m.officer === null, from);
      expect(f.processor.stats().officers).toBe(0);
      await waitFor(() => f.toOrch.find((m) => m.type === 'socket.close' && m.reason === 'window_expired'));
    } finally {
      await f.close();
    }
  });
});

describe('drain', () => {
  it('says bye: drain to everyone, closes them and stops listening', async () => {
    const f = await startFixture();
    const o = await f.connect('officer', 'o-drain');
    const c = await f.connect('citizen', 'c-drain');
    await f.processor.drain();
    for (const x of [o, c]) {
      expect(await x.waitFor('bye')).toEqual({ t: 'bye', reason: 'drain' });
      expect((await x.waitClosed()).code).toBe(CLOSE_CODES.drain);
    }
    await expect(fetch(`http://127.0.0.1:${f.processor.port}/healthz`)).rejects.toThrow();
    await f.close();
  });
});

describe('heartbeats', () => {
  it('closes a silent socket after IDLE_TIMEOUT_S; one that pings stays', async () => {
    const f = await startFixture({ IDLE_TIMEOUT_S: 8 });
    try {
      const silent = await f.connect('citizen', 'idle-silent');
      const pinger = await f.connect('citizen', 'idle-pinger');
      const iv = setInterval(() => pinger.json({ t: 'ping' }), 1000);
      try {
        await silent.waitClosed(20_000);
        expect(pinger.closed).toBeNull();
        await waitFor(() => f.toOrch.find((m) => m.type === 'socket.close' && m.record.profileId === 'idle-silent'));
      } finally {
        clearInterval(iv);
      }
    } finally {
      await f.close();
    }
  }, 30_000);
});
