// The adapters against a 3-master Redis Cluster: sharded pub/sub, hash-tagged multi-key scripts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectRedis,
  RedisBus,
  RedisConnectionStream,
  RedisDirectory,
  RedisProcessorRegistry,
  RedisRequestStore,
  RedisSocketRecords,
  type RedisConnection,
} from '../../src/adapters/redis/index.js';
import { nodeChannel, ORCHESTRATOR_CHANNEL, type BusMessage } from '../../src/coordination/index.js';
import { startCluster, type RedisCluster } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';

const msg = (node: string, busy: number): BusMessage => ({
  type: 'node.stats',
  stats: { node, url: `ws://${node}`, officers: 0, citizens: 0, busy, free: 0, at: 0 },
});

describe('Redis Cluster (3 masters)', () => {
  let cluster: RedisCluster;
  let a: RedisConnection;
  let b: RedisConnection;
  const closers: (() => unknown)[] = [];

  beforeAll(async () => {
    cluster = await startCluster(3);
    a = connectRedis({ url: cluster.url, cluster: true, name: 'node-a' });
    // The second client enters through another node: discovery must give the same topology.
    b = connectRedis({ url: cluster.nodes[2].url, cluster: true, name: 'node-b' });
    await Promise.all([a.ready(20_000), b.ready(20_000)]);
  }, 60_000);
  afterAll(async () => {
    for (const c of closers) await c();
    await a?.close();
    await b?.close();
    await cluster?.stop();
  });

  it('delivers over sharded pub/sub between two nodes on channels spread over the masters', async () => {
    const busA = new RedisBus(a);
    const busB = new RedisBus(b);
    closers.push(
      () => busA.close(),
      () => busB.close(),
    );
    const channels = [ORCHESTRATOR_CHANNEL, ...Array.from({ length: 8 }, (_, i) => nodeChannel(`p${i}`))];
    const got = new Map<string, number[]>();
    for (const ch of channels) busB.subscribe(ch, (m) => m.type === 'node.stats' && got.set(ch, [...(got.get(ch) ?? []), m.stats.busy]));
    await waitFor(() => busA.isReady && busB.isReady, 20_000, 'sharded subscriptions');
    // Sharded subscriptions live on the master of each channel's slot: here, more than one master.
    const perNode = await Promise.all(cluster.nodes.map((n) => n.cli('pubsub', 'shardchannels')));
    expect(perNode.filter((out) => out.trim() !== '').length).toBeGreaterThan(1);
    expect(perNode.join('\n')).toContain(ORCHESTRATOR_CHANNEL);
    for (const ch of channels) for (let i = 0; i < 5; i++) busA.publish(ch, msg('x', i));
    await waitFor(() => channels.every((ch) => got.get(ch)?.length === 5), 10_000, 'all delivered');
    for (const ch of channels) expect(got.get(ch)).toEqual([0, 1, 2, 3, 4]);
    expect(busA.stats.dropped).toBe(0);
  });

  it('keeps the registry with heartbeats and expiry', async () => {
    const regs = ['p1', 'p2', 'p3'].map((id) => {
      const r = new RedisProcessorRegistry(a, { id, url: `ws://${id}` }, { ttlMs: 1000, heartbeatMs: 200 });
      r.start();
      closers.push(() => r.stop());
      return r;
    });
    const dir = new RedisDirectory(b, { refreshMs: 100 });
    dir.start();
    closers.push(() => dir.stop());
    await waitFor(() => dir.nodes().length === 3, 10_000, 'three nodes');
    const zips = Array.from({ length: 50 }, (_, i) => String(20_000 + i));
    const owners = new Set(zips.map((z) => dir.ownerOf(z)!.id));
    expect(owners.size).toBe(3);
    regs[0].stop();
    await waitFor(() => dir.nodes().length === 2, 10_000, 'p1 expired');
    for (const z of zips) expect(dir.ownerOf(z)!.id).not.toBe('p1');
  });

  it('appends exactly once under concurrent retries and serves a consumer group', async () => {
    const sa = new RedisConnectionStream(a);
    const sb = new RedisConnectionStream(b);
    const ev = (id: string) => ({ id, officerId: 'o', citizenId: 'c', at: 5, zip: '10001' });
    await a.send(['XGROUP', 'CREATE', sa.streamKey, 'reporting', '$', 'MKSTREAM'], sa.streamKey);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? sa : sb).appendWithResult(ev('req-9'))));
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    await sb.append(ev('req-10'));
    expect(Number(await a.send(['XLEN', sa.streamKey], sa.streamKey))).toBe(2);
    const read = await b.send<[string, [string, string[]][]][]>(['XREADGROUP', 'GROUP', 'reporting', 'w1', 'STREAMS', sa.streamKey, '>'], sa.streamKey);
    const ids = read[0][1].map(([, f]) => f[f.indexOf('id') + 1]);
    expect(ids).toEqual(['req-9', 'req-10']);
  });

  it('keeps socket records and requests across slots', async () => {
    const records = new RedisSocketRecords(a);
    const reg = new RedisProcessorRegistry(a, { id: 'live', url: 'ws://live' }, { ttlMs: 60_000, heartbeatMs: 1000 });
    await reg.heartbeat();
    for (let i = 0; i < 30; i++) {
      await records.put({ node: i % 3 ? 'live' : 'gone', url: 'ws://x', role: 'citizen', profileId: `c${i}`, zip: '10001', at: 1 });
    }
    expect(await new RedisSocketRecords(b).reapDeadNodes()).toEqual(['gone']);
    expect(await records.get('citizen', 'c0')).toBeUndefined();
    expect((await records.get('citizen', 'c1'))?.node).toBe('live');
    await records.putStats({ node: 'live', url: 'ws://live', officers: 1, citizens: 20, busy: 21, free: 79, at: 1 });
    expect((await new RedisSocketRecords(b).countsByNode()).get('live')?.busy).toBe(21);

    const qa = new RedisRequestStore(a);
    const qb = new RedisRequestStore(b);
    for (let n = 0; n < 5; n++) {
      expect(await qa.create({ id: `req-${n}`, officerId: 'o', citizenId: `c${n}` }, 0, 60_000, 32)).toMatchObject({ outcome: 'created' });
      // The pair rule holds across slots: the officer's table and the request hash differ.
      expect(await qb.create({ id: `dup-${n}`, officerId: 'o', citizenId: `c${n}` }, 0, 60_000, 32)).toMatchObject({
        outcome: 'existing',
        record: { id: `req-${n}` },
      });
      const rs = await Promise.all(
        Array.from({ length: 10 }, (_, i) => {
          const q = i % 2 ? qa : qb;
          return i % 3 ? q.transition(`req-${n}`, 'declined', 1) : q.beginAccept(`req-${n}`, 1, { owner: `o${i}`, leaseMs: 1000, windowMs: 1000 });
        }),
      );
      expect(rs.filter((r) => r.changed)).toHaveLength(1);
      // An accepting winner's lease (1 s) has lapsed by 10 s: the sweep would find it.
      expect((await qa.due(10_000, 100)).includes(`req-${n}`)).toBe(rs.some((r) => r.changed && r.record?.status === 'accepting'));
    }
  });

  it('recovers when a master restarts: not ready meanwhile, sharded subscriptions come back', async () => {
    const busA = new RedisBus(a);
    const busB = new RedisBus(b);
    closers.push(
      () => busA.close(),
      () => busB.close(),
    );
    const channels = Array.from({ length: 6 }, (_, i) => nodeChannel(`r${i}`));
    const got = new Map<string, number>();
    for (const ch of channels) busB.subscribe(ch, () => got.set(ch, (got.get(ch) ?? 0) + 1));
    await waitFor(() => busB.isReady, 20_000, 'subscribed');
    const victim = cluster.nodes[1];
    await victim.stop();
    await waitFor(() => !a.isReady && !busB.isReady, 20_000, 'not ready');
    for (const ch of channels) busA.publish(ch, msg('x', 1)); // some drop, none throw
    await victim.restart(); // same port and dir: it rejoins with its nodes.conf
    await waitFor(async () => (await victim.cli('cluster', 'info')).includes('cluster_state:ok'), 30_000, 'cluster ok');
    await waitFor(() => a.isReady && b.isReady && busB.isReady, 30_000, 'ready again');
    got.clear();
    await waitFor(
      () => {
        for (const ch of channels) if (!got.get(ch)) busA.publish(ch, msg('x', 2));
        return channels.every((ch) => (got.get(ch) ?? 0) > 0);
      },
      20_000,
      'every channel delivers again',
    );
  }, 90_000);
});
