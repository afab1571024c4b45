// One processor (real sockets, MemoryBus) and the two distributed-mode seams issue #11 fixed:
// * `socket.replaced` on the node channel closes exactly the socket its record names;
// * a remote replica of an officer stops serving once a socket of that officer opens here, and
//   a replica's removal never removes a local officer.
// The same behaviour across real processes and Redis: test/distributed/replacement.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeChannel, type SocketRecord } from '../../src/coordination/index.js';
import { CLOSE_CODES } from '../../src/protocol/index.js';
import { north, NODE_ID, startFixture, type Fixture } from './fixture.js';
import { waitFor } from '../helpers/wait.js';

const P = { lat: 40.75, lng: -73.99 };

let f: Fixture;
beforeAll(async () => {
  f = await startFixture();
});
afterAll(() => f.close());

const openRecord = (profileId: string, nth = 1): Promise<SocketRecord> =>
  waitFor(
    () => f.toOrch.flatMap((m) => (m.type === 'socket.open' && m.record.profileId === profileId ? [m.record] : []))[nth - 1],
    5000,
    `socket.open #${nth} of ${profileId}`,
  );

describe('socket.replaced (a newer socket of the profile opened on another node)', () => {
  it('closes the named socket with bye replaced, and nothing that is not that very socket', async () => {
    const o = await f.connect('officer', 'o-x');
    const rec = await openRecord('o-x');
    // Not this socket: another open time, another node, the other role. All ignored.
    f.bus.publish(nodeChannel(NODE_ID), { type: 'socket.replaced', record: { ...rec, at: rec.at - 1 } });
    f.bus.publish(nodeChannel(NODE_ID), { type: 'socket.replaced', record: { ...rec, node: 'elsewhere' } });
    f.bus.publish(nodeChannel(NODE_ID), { type: 'socket.replaced', record: { ...rec, role: 'citizen' } });
    await o.sync();
    await o.sync();
    expect(o.of('bye')).toHaveLength(0);
    expect(o.closed).toBeNull();

    f.bus.publish(nodeChannel(NODE_ID), { type: 'socket.replaced', record: rec });
    expect(await o.waitFor('bye')).toEqual({ t: 'bye', reason: 'replaced' });
    expect((await o.waitClosed()).code).toBe(CLOSE_CODES.replaced);
    const close = await waitFor(() => f.toOrch.find((m) => m.type === 'socket.close' && m.record.profileId === 'o-x'));
    expect(close).toMatchObject({ reason: 'replaced', record: { at: rec.at } });
  });

  it('a late or repeated message cannot close a newer socket of the profile', async () => {
    const c1 = await f.connect('citizen', 'c-x');
    const rec1 = await openRecord('c-x');
    f.bus.publish(nodeChannel(NODE_ID), { type: 'socket.replaced', record: rec1 });
    await c1.waitClosed();
    // The device comes back here (a new open time), then the same message arrives again.
    await new Promise((r) => setTimeout(r, 2)); // a distinct `at` (ms clock)
    const c2 = await f.connect('citizen', 'c-x');
    const rec2 = await openRecord('c-x', 2);
    expect(rec2.at).not.toBe(rec1.at);
    f.bus.publish(nodeChannel(NODE_ID), { type: 'socket.replaced', record: rec1 });
    await c2.sync();
    await c2.sync();
    expect(c2.closed).toBeNull();
    expect(c2.of('bye')).toHaveLength(0);
    c2.close();
  });
});

describe('remote replica of an officer that opens a socket here', () => {
  it('stops serving at once and is not taken back until the local officer sends loc', async () => {
    const profile = { name: 'Officer o-r' };
    f.processor.replica.applyRemoteOfficer('o-r', north(P.lat, P.lng, 100), profile);
    const c = await f.connect('citizen', 'c-r');
    c.json({ t: 'loc', ...P });
    await c.waitFor('nearest', (m) => m.officer?.id === 'o-r');

    // The officer re-connects here and has sent no position yet: nobody is served its old one.
    const mark = c.mark();
    const o = await f.connect('officer', 'o-r');
    await c.waitFor('nearest', (m) => m.officer === null, mark);
    // The other node still reports the old socket: neither its updates nor its removal bring the
    // stale point back or touch anything.
    f.processor.replica.applyRemoteOfficer('o-r', north(P.lat, P.lng, 50), profile);
    f.processor.replica.applyRemoteOfficer('o-r', null, {});
    let m = c.mark();
    c.json({ t: 'loc', ...P });
    expect((await c.waitFor('nearest', () => true, m)).officer).toBeNull();

    // Its first loc: served from here.
    const here = north(P.lat, P.lng, 150);
    o.json({ t: 'loc', ...here });
    await c.waitFor('nearest', (x) => x.officer?.id === 'o-r' && x.officer.lat === here.lat, mark);
    // A late removal from the other node removes the replica only, never the local officer.
    f.processor.replica.applyRemoteOfficer('o-r', null, {});
    m = c.mark();
    c.json({ t: 'loc', ...P });
    expect((await c.waitFor('nearest', () => true, m)).officer).toMatchObject({ id: 'o-r', lat: here.lat });
    o.close();
    c.close();
  });
});
