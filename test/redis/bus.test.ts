import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, RedisBus, type RedisConnection } from '../../src/adapters/redis/index.js';
import { nodeChannel, ORCHESTRATOR_CHANNEL, type BusMessage, type NodeStats } from '../../src/coordination/index.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { busContract } from '../contracts/bus.js';
import { waitFor } from '../helpers/wait.js';

const stats = (node: string, busy = 1): BusMessage => ({
  type: 'node.stats',
  stats: { node, url: `ws://x/${node}`, officers: 0, citizens: 0, busy, free: 10, at: Date.now() } satisfies NodeStats,
});

describe('RedisBus on a single Redis', () => {
  let server: RedisServer;
  const conns: RedisConnection[] = [];
  const buses: RedisBus[] = [];
  const conn = () => {
    const c = connectRedis({ url: server.url, name: `t${conns.length}` });
    conns.push(c);
    return c;
  };
  const bus = () => {
    const b = new RedisBus(conn());
    buses.push(b);
    return b;
  };

  beforeAll(async () => {
    server = await startRedis();
  });

  describe('the Bus contract', () => {
    busContract(async () => {
      const pub = bus();
      const sub = bus();
      return { pub, sub, ready: () => waitFor(() => pub.isReady && sub.isReady, 10_000, 'buses ready') };
    });
  });
  afterAll(async () => {
    await Promise.all(buses.map((b) => b.close()));
    await Promise.all(conns.map((c) => c.close()));
    await server?.dispose();
  });

  it('delivers a message published on one node to a subscriber on another, in order', async () => {
    const a = bus();
    const b = bus();
    const got: BusMessage[] = [];
    b.subscribe(ORCHESTRATOR_CHANNEL, (m) => got.push(m));
    await waitFor(() => b.isReady && a.isReady, 10_000, 'buses ready');
    for (let i = 0; i < 50; i++) a.publish(ORCHESTRATOR_CHANNEL, stats('n1', i));
    await waitFor(() => got.length === 50, 10_000, '50 messages');
    expect(got.map((m) => (m.type === 'node.stats' ? m.stats.busy : -1))).toEqual([...Array(50).keys()]);
    expect(a.stats.published).toBe(50);
  });

  it('routes per node channel and stops delivering after unsubscribe', async () => {
    const a = bus();
    const b = bus();
    const n1: BusMessage[] = [];
    const n2: BusMessage[] = [];
    const off1 = b.subscribe(nodeChannel('n1'), (m) => n1.push(m));
    b.subscribe(nodeChannel('n2'), (m) => n2.push(m));
    await waitFor(() => b.isReady, 10_000, 'subscribed');
    a.publish(nodeChannel('n1'), stats('x'));
    a.publish(nodeChannel('n2'), stats('y'));
    await waitFor(() => n1.length === 1 && n2.length === 1);
    off1();
    // Unsubscribe is asynchronous: wait until Redis reports no subscriber for n1.
    await waitFor(async () => (await server.cli('pubsub', 'numsub', nodeChannel('n1'))).trim().endsWith('0'));
    a.publish(nodeChannel('n1'), stats('x'));
    a.publish(nodeChannel('n2'), stats('y'));
    await waitFor(() => n2.length === 2);
    expect(n1.length).toBe(1);
  });

  it('drops hostile payloads without crashing and keeps delivering', async () => {
    const a = bus();
    const got: BusMessage[] = [];
    let threw = 0;
    a.subscribe('beacon:hostile', () => {
      threw++;
      throw new Error('handler bug');
    });
    a.subscribe('beacon:hostile', (m) => got.push(m));
    await waitFor(() => a.isReady);
    const raw = conn();
    await raw.ready();
    // socket.replaced closes a socket: a message without a whole record is dropped too.
    const badRecords = [{ at: '5' }, { role: 'admin' }].map((over) => ({
      node: 'n1',
      url: 'ws://x',
      role: 'officer',
      profileId: 'o',
      zip: '1',
      at: 5,
      ...over,
    }));
    const hostile = [
      '{',
      'null',
      '42',
      '[]',
      '"str"',
      '{"type":"teleport"}',
      '{"type":7}',
      JSON.stringify({ type: 'node.stats', pad: 'x'.repeat(70_000) }),
      '{"type":"socket.replaced"}',
      ...badRecords.map((record) => JSON.stringify({ type: 'socket.replaced', record })),
    ];
    for (const p of hostile) {
      await raw.send(['PUBLISH', 'beacon:hostile', p]);
    }
    a.publish('beacon:hostile', stats('ok'));
    await waitFor(() => got.length === 1);
    expect(a.stats.malformed).toBe(11);
    expect(threw).toBe(1);
    expect(a.stats.handlerErrors).toBe(1);
  });

  it('connects with a client name Redis would refuse (spaces, newlines)', async () => {
    const c = connectRedis({ url: server.url, name: 'node 1\r\nCLIENT KILL' });
    conns.push(c);
    await c.ready();
    expect(await c.send(['CLIENT', 'GETNAME'])).toBe('node_1__CLIENT_KILL');
  });

  it('refuses to publish an oversized or cyclic message, counting it as dropped', async () => {
    const a = bus();
    await waitFor(() => a.isReady);
    const big = { type: 'node.stats', stats: { pad: 'x'.repeat(70_000) } } as unknown as BusMessage;
    const cyclic: Record<string, unknown> = { type: 'node.stats' };
    cyclic.self = cyclic;
    a.publish('c', big);
    a.publish('c', cyclic as unknown as BusMessage);
    expect(a.stats.dropped).toBe(2);
  });
});
