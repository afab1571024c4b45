import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, RedisDirectory, RedisProcessorRegistry, redisKeys, type RedisConnection } from '../../src/adapters/redis/index.js';
import { rendezvousOwner } from '../../src/coordination/index.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';

// Short timings so expiry is observable quickly; the assertions wait for conditions, not for time.
const TIMING = { ttlMs: 1000, heartbeatMs: 200 };

describe('processor registry and directory', () => {
  let server: RedisServer;
  let conn: RedisConnection;
  const stops: (() => unknown)[] = [];

  beforeAll(async () => {
    server = await startRedis();
    conn = connectRedis({ url: server.url, name: 'registry-test' });
    await conn.ready();
  });
  afterAll(async () => {
    for (const s of stops) await s();
    await conn?.close();
    await server?.dispose();
  });

  const registry = (id: string, prefix = 'beacon') => {
    const r = new RedisProcessorRegistry(conn, { id, url: `ws://127.0.0.1/${id}` }, { ...TIMING, prefix });
    r.start();
    stops.push(() => r.stop());
    return r;
  };
  const directory = (prefix = 'beacon') => {
    const d = new RedisDirectory(conn, { refreshMs: 100, prefix });
    d.start();
    stops.push(() => d.stop());
    return d;
  };

  it('names the run of the owner: a node restarted with the same id gets tickets for its new run', async () => {
    const prefix = 'epoch';
    const first = new RedisProcessorRegistry(conn, { id: 'p-re', url: 'ws://127.0.0.1/p-re', startedAt: 1000 }, { ...TIMING, prefix });
    await first.heartbeat();
    const dir = directory(prefix);
    await waitFor(() => dir.ownerOf('10001')?.epoch === 1000, 5000, 'the first run');
    await first.leave();
    const second = new RedisProcessorRegistry(conn, { id: 'p-re', url: 'ws://127.0.0.1/p-re', startedAt: 2000 }, { ...TIMING, prefix });
    second.start();
    stops.push(() => second.stop());
    await waitFor(() => dir.ownerOf('10001')?.epoch === 2000, 5000, 'the second run');
  });

  it('sees announced processors, owns zips by rendezvous over them, and drops one whose heartbeat stops', async () => {
    const regs = ['p1', 'p2', 'p3'].map((id) => registry(id));
    const dir = directory();
    const changes: string[][] = [];
    dir.onChange((ns) => changes.push(ns.map((n) => n.id)));
    await waitFor(() => dir.nodes().length === 3, 5000, 'three nodes');
    expect(dir.isReady).toBe(true);
    expect(dir.nodes().map((n) => n.id)).toEqual(['p1', 'p2', 'p3']);
    expect(dir.nodes()[0]).toEqual({ id: 'p1', url: 'ws://127.0.0.1/p1', epoch: regs[0].self.startedAt });
    for (const zip of ['10001', '94103', '60601']) expect(dir.ownerOf(zip)!.id).toBe(rendezvousOwner(zip, dir.nodes())!.id);

    const owned = Array.from({ length: 30 }, (_, i) => String(10001 + i)).filter((z) => dir.ownerOf(z)!.id === 'p2');
    regs[1].stop(); // p2 dies: no more heartbeats, its key expires after ttlMs
    await waitFor(() => dir.nodes().length === 2, 5000, 'p2 gone');
    expect(dir.nodes().map((n) => n.id)).toEqual(['p1', 'p3']);
    for (const z of owned) expect(dir.ownerOf(z)!.id).not.toBe('p2');
    // The expired id is pruned from the index too.
    expect(await server.cli('smembers', redisKeys().nodeIndex)).not.toContain('p2');
    expect(changes.at(-1)).toEqual(['p1', 'p3']);
  });

  it('removes a node at once when it leaves gracefully, and sees a restart (new startedAt)', async () => {
    const prefix = 't2';
    const a = registry('a', prefix);
    registry('b', prefix);
    const dir = directory(prefix);
    await waitFor(() => dir.nodes().length === 2);
    await a.leave();
    await dir.refresh();
    expect(dir.nodes().map((n) => n.id)).toEqual(['b']);

    const a2 = new RedisProcessorRegistry(conn, { id: 'a', url: 'ws://127.0.0.1/a2', startedAt: a.self.startedAt + 1 }, { ...TIMING, prefix });
    a2.start();
    stops.push(() => a2.stop());
    await waitFor(() => dir.nodes().length === 2);
    expect(dir.announcements().find((n) => n.id === 'a')!.startedAt).toBe(a.self.startedAt + 1);
    // The old instance leaving late must not remove its successor's announcement.
    await a.leave();
    await dir.refresh();
    expect(dir.nodes().map((n) => n.id)).toEqual(['a', 'b']);
  });

  it('has no owner when no processor is live', async () => {
    const dir = directory('empty');
    await dir.refresh();
    expect(dir.nodes()).toEqual([]);
    expect(dir.ownerOf('10001')).toBeUndefined();
  });

  it('ignores malformed announcements written by someone else', async () => {
    const prefix = 'hostile';
    const k = redisKeys(prefix);
    await server.cli('sadd', k.nodeIndex, 'x', 'y', 'z');
    await server.cli('set', k.node('x'), '{not json');
    await server.cli('set', k.node('y'), JSON.stringify({ id: 5, url: [] }));
    registry('good', prefix);
    const dir = directory(prefix);
    await waitFor(() => dir.nodes().length === 1);
    expect(dir.nodes()[0].id).toBe('good');
  });

  it('rejects bad node ids and timings', () => {
    expect(() => new RedisProcessorRegistry(conn, { id: '', url: 'ws://x' })).toThrow(TypeError);
    expect(() => new RedisProcessorRegistry(conn, { id: 'x'.repeat(300), url: 'ws://x' })).toThrow(TypeError);
    expect(() => new RedisProcessorRegistry(conn, { id: 5 as unknown as string, url: 'ws://x' })).toThrow(TypeError);
    expect(() => new RedisProcessorRegistry(conn, { id: 'a', url: 'ws://x' }, { ttlMs: 100, heartbeatMs: 100 })).toThrow(RangeError);
  });
});
