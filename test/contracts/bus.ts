// One suite for every Bus (memory and Redis): who gets a message, in what order, what unsubscribe
// and close stop, and that delivery is never re-entrant. `make` returns a publishing and a
// subscribing handle (for Redis: two connections, as two nodes hold; in memory: one bus) and
// `ready`, which resolves once the subscriptions made so far are in place. "Nothing arrived" is
// always shown by a sentinel published after it on the same channel, never by a sleep.
import { expect, it } from 'vitest';
import type { Bus, BusMessage, NodeStats } from '../../src/coordination/index.js';
import { waitFor } from '../helpers/wait.js';

export type BusPair = () => Promise<{ pub: Bus; sub: Bus; ready(): Promise<unknown> }>;

const msg = (node: string, busy = 0): BusMessage => ({
  type: 'node.stats',
  stats: { node, url: `ws://x/${node}`, officers: 0, citizens: 0, busy, free: 1, at: 1 } satisfies NodeStats,
});
const nodeOf = (m: BusMessage) => (m.type === 'node.stats' ? m.stats.node : `<${m.type}>`);

function inbox() {
  const got: string[] = [];
  return {
    got,
    handler: (m: BusMessage) => got.push(nodeOf(m)),
    has: (node: string) => waitFor(() => got.includes(node), 10_000, `message ${node}`),
  };
}

export function busContract(make: BusPair): void {
  it('delivers to every subscriber of the channel and to no one else', async () => {
    const { pub, sub, ready } = await make();
    const a = inbox();
    const b = inbox();
    const other = inbox();
    sub.subscribe('contract:one', a.handler);
    sub.subscribe('contract:one', b.handler);
    sub.subscribe('contract:two', other.handler);
    await ready();
    pub.publish('contract:one', msg('m1'));
    pub.publish('contract:two', msg('sentinel-two'));
    await Promise.all([a.has('m1'), b.has('m1'), other.has('sentinel-two')]);
    expect(other.got).toEqual(['sentinel-two']);
  });

  it('keeps the order of one publisher on one channel', async () => {
    const { pub, sub, ready } = await make();
    const a = inbox();
    sub.subscribe('contract:order', a.handler);
    await ready();
    const sent = Array.from({ length: 100 }, (_, i) => `o${i}`);
    for (const n of sent) pub.publish('contract:order', msg(n));
    await a.has('o99');
    expect(a.got).toEqual(sent);
  });

  it('delivers asynchronously: the handler has not run when publish returns', async () => {
    const { pub, sub, ready } = await make();
    const a = inbox();
    sub.subscribe('contract:async', a.handler);
    await ready();
    pub.publish('contract:async', msg('later'));
    expect(a.got).toEqual([]);
    await a.has('later');
  });

  it('unsubscribe stops delivery to that handler only, at once', async () => {
    const { pub, sub, ready } = await make();
    const gone = inbox();
    const stays = inbox();
    const off = sub.subscribe('contract:off', gone.handler);
    sub.subscribe('contract:off', stays.handler);
    await ready();
    pub.publish('contract:off', msg('before'));
    await Promise.all([gone.has('before'), stays.has('before')]);
    off();
    off(); // twice is harmless
    pub.publish('contract:off', msg('after'));
    await stays.has('after');
    expect(gone.got).toEqual(['before']);
  });

  it('a message published before anyone subscribed reaches no later subscriber', async () => {
    const { pub, sub, ready } = await make();
    pub.publish('contract:early', msg('early'));
    const a = inbox();
    sub.subscribe('contract:early', a.handler);
    await ready();
    pub.publish('contract:early', msg('sentinel'));
    await a.has('sentinel');
    expect(a.got).toEqual(['sentinel']);
  });

  it('a handler that throws does not stop the others or later messages', async () => {
    const { pub, sub, ready } = await make();
    const a = inbox();
    sub.subscribe('contract:throw', () => {
      throw new Error('handler bug');
    });
    sub.subscribe('contract:throw', a.handler);
    await ready();
    pub.publish('contract:throw', msg('t1'));
    pub.publish('contract:throw', msg('t2'));
    await a.has('t2');
    expect(a.got).toEqual(['t1', 't2']);
  });

  it('after close, nothing is delivered to it and publishing is harmless', async () => {
    const { pub, sub, ready } = await make();
    const closed = inbox();
    const witness = inbox();
    sub.subscribe('contract:close', closed.handler);
    pub.subscribe('contract:close', witness.handler);
    await ready();
    await sub.close();
    expect(() => pub.publish('contract:close', msg('after-close'))).not.toThrow();
    expect(() => sub.publish('contract:close', msg('from-closed'))).not.toThrow();
    const late = inbox();
    sub.subscribe('contract:close', late.handler);
    if (pub !== sub) {
      // The live subscriber on the other handle shows the message went out and was delivered.
      await witness.has('after-close');
    } else {
      // One bus, now closed: delivery would have been a microtask; a macrotask later it is too late.
      await new Promise((r) => setImmediate(r));
    }
    expect(closed.got).toEqual([]);
    expect(late.got).toEqual([]);
  });
}
