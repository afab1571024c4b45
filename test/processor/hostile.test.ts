import { encode } from '@msgpack/msgpack';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ABUSE_STRIKES, MAX_PAYLOAD_BYTES } from '../../src/processor/index.js';
import { CLOSE_CODES, MAX_FRAME_BYTES } from '../../src/protocol/index.js';
import { north, startFixture, type Fixture, type TestClient } from './fixture.js';
import { waitFor } from '../helpers/wait.js';

const P = { lat: 40.75, lng: -73.99 };
const socketOf = (c: TestClient) => (c.ws as unknown as { _socket: Socket })._socket;

describe('hostile input: err, socket stays, nobody else pays', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture({ MSG_RATE_PER_S: 1000, MSG_BURST: 1000 });
  });
  afterAll(() => f.close());

  const cases: [string, string | Uint8Array, boolean, string][] = [
    ['bad JSON', '{"t":"loc",', false, 'bad_frame'],
    ['bad JSON bytes', new TextEncoder().encode('{{{'), false, 'bad_frame'],
    ['bad MessagePack', new Uint8Array([0xc1, 0xc1, 0xc1]), true, 'bad_frame'],
    ['truncated MessagePack', encode({ t: 'loc', lat: 1, lng: 2 }).slice(0, 6), true, 'bad_frame'],
    ['a number', '42', false, 'not_object'],
    ['an array', '[{"t":"ping"}]', false, 'not_object'],
    ['null', 'null', false, 'not_object'],
    ['t not a string', '{"t":7}', false, 'not_object'],
    ['unknown t', '{"t":"teleport"}', false, 'unknown_type'],
    ['__proto__ t', '{"t":"__proto__"}', false, 'unknown_type'],
    ['lat as a string', '{"t":"loc","lat":"40.7","lng":-73.9}', false, 'bad_field'],
    ['lat out of range', '{"t":"loc","lat":91,"lng":-73.9}', false, 'bad_field'],
    ['lng out of range', '{"t":"loc","lat":40,"lng":-180.5}', false, 'bad_field'],
    ['NaN via MessagePack', encode({ t: 'loc', lat: NaN, lng: 1 }), true, 'bad_field'],
    ['Infinity via MessagePack', encode({ t: 'loc', lat: 1, lng: Infinity }), true, 'bad_field'],
    ['negative accuracy', '{"t":"loc","lat":1,"lng":1,"acc":-1}', false, 'bad_field'],
    ['avail not boolean', '{"t":"avail","on":"yes"}', false, 'bad_field'],
    ['resp without id', '{"t":"resp","accept":true}', false, 'bad_field'],
    ['too large', JSON.stringify({ t: 'ping', pad: 'x'.repeat(MAX_FRAME_BYTES * 2) }), false, 'too_large'],
    ['too large MessagePack', encode({ t: 'ping', pad: new Uint8Array(MAX_FRAME_BYTES * 4) }), true, 'too_large'],
  ];

  it.each(cases)('%s → err and the socket stays', async (_name, data, binary, code) => {
    const o = await f.connect('officer', `h-${_name}`);
    o.raw(data, binary);
    const err = await o.waitFor('err');
    expect(err.code).toBe(code);
    expect(typeof err.message).toBe('string');
    await o.sync(); // still served
    expect(o.closed).toBeNull();
    o.close();
  });

  it('uWS closes a frame above its payload limit (16 KiB); other sockets are untouched', async () => {
    const bystander = await f.connect('citizen', 'h-bystander');
    const c = await f.connect('citizen', 'h-huge');
    c.raw('x'.repeat(MAX_PAYLOAD_BYTES + 1024), false);
    const closed = await c.waitClosed();
    expect(closed.code).not.toBe(1000);
    await bystander.sync();
    bystander.close();
  });

  it(`repeated bad frames (> ${ABUSE_STRIKES}) → bye: abuse and close`, async () => {
    const c = await f.connect('citizen', 'h-abuse');
    for (let i = 0; i <= ABUSE_STRIKES; i++) c.raw('nope', false);
    expect(await c.waitFor('bye')).toEqual({ t: 'bye', reason: 'abuse' });
    expect((await c.waitClosed()).code).toBe(CLOSE_CODES.abuse);
    expect(c.of('err')).toHaveLength(ABUSE_STRIKES);
    expect(await f.metric('beacon_processor_closes_total', 'reason="abuse"')).toBeGreaterThanOrEqual(1);
  });
});

describe('flood control', () => {
  it('over the rate: err rate_limited, then bye: abuse; other sockets keep working', async () => {
    const f = await startFixture({ MSG_RATE_PER_S: 5, MSG_BURST: 10 });
    try {
      const bystander = await f.connect('citizen', 'fl-b');
      const c = await f.connect('citizen', 'fl-c');
      for (let i = 0; i < 200; i++) c.json({ t: 'ping' });
      expect(await c.waitFor('bye')).toEqual({ t: 'bye', reason: 'abuse' });
      expect((await c.waitClosed()).code).toBe(CLOSE_CODES.abuse);
      expect(c.of('pong').length).toBeLessThanOrEqual(11);
      expect(c.of('err').every((e) => e.code === 'rate_limited')).toBe(true);
      expect(c.of('err').length).toBeGreaterThan(0);
      await bystander.sync();
      const closeEvt = await waitFor(() => f.toOrch.find((m) => m.type === 'socket.close' && m.record.profileId === 'fl-c'));
      expect(closeEvt).toMatchObject({ reason: 'abuse' });
    } finally {
      await f.close();
    }
  });

  it('a client within its rate is never limited', async () => {
    const f = await startFixture({ MSG_RATE_PER_S: 1000, MSG_BURST: 50 });
    try {
      const c = await f.connect('citizen', 'fl-ok');
      for (let i = 0; i < 40; i++) c.json({ t: 'loc', lat: 40 + i / 1000, lng: -73 });
      await waitFor(() => c.of('nearest').length === 40);
      expect(c.of('err')).toHaveLength(0);
    } finally {
      await f.close();
    }
  });
});

describe('backpressure', () => {
  it('a client that sends but never reads is closed at MAX_BACKPRESSURE_BYTES; others unaffected', async () => {
    const f = await startFixture({ MSG_RATE_PER_S: 10_000, MSG_BURST: 100_000, MAX_BACKPRESSURE_BYTES: 64 * 1024 });
    try {
      const o = await f.connect('officer', 'bp-o');
      o.json({ t: 'loc', ...P });
      await o.sync();
      const bystander = await f.connect('citizen', 'bp-b');
      const c = await f.connect('citizen', 'bp-c');
      socketOf(c).pause();
      // Each loc is answered with a `nearest` it never reads: kernel buffers fill, then uWS's.
      const frame = JSON.stringify({ t: 'loc', ...north(P.lat, P.lng, 10) });
      for (let i = 0; i < 90_000 && f.processor.stats().citizens === 2; i++) {
        c.raw(frame, false);
        if (i % 2000 === 1999) await new Promise((r) => setTimeout(r, 1));
      }
      await waitFor(() => f.processor.stats().citizens === 1, 15_000, 'the non-reading citizen to be closed');
      const evt = await waitFor(() => f.toOrch.find((m) => m.type === 'socket.close' && m.record.profileId === 'bp-c'));
      expect(evt).toMatchObject({ reason: 'backpressure' });
      expect(await f.metric('beacon_processor_closes_total', 'reason="backpressure"')).toBe(1);
      await bystander.sync();
      socketOf(c).resume();
    } finally {
      await f.close();
    }
  });

  it('pushes to a citizen that does not read are held, not queued; it gets the latest once it reads', async () => {
    // Exact positions (policy off): every move is a push, and the latest one is recognisable.
    const f = await startFixture({ MSG_RATE_PER_S: 10_000, MSG_BURST: 100_000, MAX_BACKPRESSURE_BYTES: 64 * 1024, OFFICER_PRECISION_M: 0 });
    try {
      const c = await f.connect('citizen', 'hold-c');
      c.json({ t: 'loc', ...P });
      await c.waitFor('nearest');
      // A long public profile makes every push big, so unread pushes outgrow the kernel buffers.
      const long = 'x'.repeat(128);
      const o = await f.connect('officer', 'hold-o', { claims: { profile: { name: long, badge: long, precinct: long } } });
      socketOf(c).pause();
      let last = P;
      for (let i = 0; i < 400 && (await f.metric('beacon_processor_pushes_held_total')) === 0; i++) {
        for (let k = 0; k < 50; k++) {
          last = north(P.lat, P.lng, 1 + ((i * 50 + k) % 4000) / 2);
          o.json({ t: 'loc', ...last });
          await new Promise((r) => setImmediate(r));
        }
        await o.sync();
      }
      expect(await f.metric('beacon_processor_pushes_held_total')).toBeGreaterThan(0);
      expect(f.processor.stats().citizens).toBe(1); // held pushes never close it
      socketOf(c).resume();
      await waitFor(
        () => {
          const n = c.last('nearest');
          return n?.officer?.lat === last.lat && n.officer.lng === last.lng;
        },
        15_000,
        'the latest position after reading again',
      );
      expect(c.closed).toBeNull();
    } finally {
      await f.close();
    }
  });
});
