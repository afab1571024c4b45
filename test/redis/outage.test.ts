// Redis goes away and comes back on the same port (with an empty dataset: no persistence here):
// nothing crashes, readiness follows, clients reconnect, the bus resubscribes, the registry
// re-announces, and appends succeed again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectRedis,
  RedisBus,
  RedisConnectionStream,
  RedisDirectory,
  RedisProcessorRegistry,
  RedisSocketRecords,
  type RedisConnection,
} from '../../src/adapters/redis/index.js';
import type { BusMessage } from '../../src/coordination/index.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';

const msg = (busy: number): BusMessage => ({
  type: 'node.stats',
  stats: { node: 'p1', url: 'ws://p1', officers: 0, citizens: 0, busy, free: 0, at: 0 },
});

describe('Redis outage', () => {
  let server: RedisServer;
  const conns: RedisConnection[] = [];
  const closers: (() => unknown)[] = [];
  const conn = (name: string) => {
    const c = connectRedis({ url: server.url, name, maxBackoffMs: 200 });
    conns.push(c);
    return c;
  };

  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    for (const c of closers) await c();
    await Promise.all(conns.map((c) => c.close()));
    await server?.dispose();
  });

  it('survives a stop and restart of redis-server and recovers every adapter', async () => {
    const procConn = conn('processor');
    const orchConn = conn('orchestrator');
    const procBus = new RedisBus(procConn);
    const orchBus = new RedisBus(orchConn);
    closers.push(
      () => procBus.close(),
      () => orchBus.close(),
    );
    const registry = new RedisProcessorRegistry(procConn, { id: 'p1', url: 'ws://p1' }, { ttlMs: 1000, heartbeatMs: 200 });
    registry.start();
    closers.push(() => registry.stop());
    const dir = new RedisDirectory(orchConn, { refreshMs: 100 });
    dir.start();
    closers.push(() => dir.stop());
    const stream = new RedisConnectionStream(orchConn);
    const records = new RedisSocketRecords(orchConn);

    const got: number[] = [];
    orchBus.subscribe('beacon:orch', (m) => m.type === 'node.stats' && got.push(m.stats.busy));
    await waitFor(() => orchBus.isReady && procBus.isReady && dir.nodes().length === 1, 10_000, 'all up');
    procBus.publish('beacon:orch', msg(1));
    await waitFor(() => got.includes(1));
    await stream.append({ id: 'before', officerId: 'o', citizenId: 'c', at: 1, zip: '10001' });

    const readiness: boolean[] = [];
    orchConn.onReadyChange((r) => readiness.push(r));

    await server.stop();
    await waitFor(() => !orchConn.isReady && !procConn.isReady, 10_000, 'connections not ready');
    expect(orchBus.isReady).toBe(false);
    await waitFor(() => !dir.isReady, 10_000, 'directory not ready');
    // The last known membership is kept while Redis is away (processors keep serving).
    expect(dir.nodes().map((n) => n.id)).toEqual(['p1']);

    // Publishing drops and counts, never throws or queues.
    const droppedBefore = procBus.stats.dropped;
    for (let i = 0; i < 1000; i++) procBus.publish('beacon:orch', msg(2));
    expect(procBus.stats.dropped - droppedBefore).toBe(1000);
    // Writes fail fast instead of hanging.
    await expect(stream.append({ id: 'during', officerId: 'o', citizenId: 'c', at: 2, zip: '10001' })).rejects.toThrow();
    await expect(records.put({ node: 'p1', url: 'ws://p1', role: 'officer', profileId: 'o', zip: '10001', at: 1 })).rejects.toThrow();
    expect(await registry.heartbeat()).toBe(false);
    expect(await dir.refresh()).toBe(false);
    // A subscription made during the outage is established after it.
    const late: number[] = [];
    procBus.subscribe('beacon:node:p1', (m) => m.type === 'node.stats' && late.push(m.stats.busy));

    await server.restart();
    await waitFor(() => orchConn.isReady && procConn.isReady, 15_000, 'reconnected');
    await waitFor(() => readiness.length === 2);
    expect(readiness).toEqual([false, true]);
    await waitFor(() => orchBus.isReady && procBus.isReady, 15_000, 'resubscribed');
    // The dataset was lost with the restart; the registry's heartbeat announced p1 again.
    await waitFor(async () => Number(await server.cli('exists', 'beacon:{beacon}:node:p1')) === 1, 10_000, 're-announced');
    await waitFor(() => dir.isReady && dir.nodes().length === 1, 10_000, 'directory ready');

    procBus.publish('beacon:orch', msg(3));
    orchBus.publish('beacon:node:p1', msg(4));
    await waitFor(() => got.includes(3) && late.includes(4), 10_000, 'delivery after recovery');
    expect(got).not.toContain(2);
    // The retried append goes through now.
    await stream.append({ id: 'during', officerId: 'o', citizenId: 'c', at: 2, zip: '10001' });
    expect(Number(await orchConn.send(['XLEN', stream.streamKey]))).toBe(1);
  });

  it('starts while Redis is down and connects when it comes up', async () => {
    await server.stop();
    const c = conn('early');
    const bus = new RedisBus(c);
    closers.push(() => bus.close());
    const got: BusMessage[] = [];
    bus.subscribe('early', (m) => got.push(m));
    await new Promise((r) => setTimeout(r, 300));
    expect(c.isReady).toBe(false);
    bus.publish('early', msg(1));
    expect(bus.stats.dropped).toBe(1);
    await server.restart();
    await c.ready(15_000);
    await waitFor(() => bus.isReady, 15_000, 'bus ready');
    bus.publish('early', msg(5));
    await waitFor(() => got.length === 1);
  });
});
