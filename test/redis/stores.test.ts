import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectRedis,
  parseEstablishedEntry,
  RedisConnectionStream,
  RedisProcessorRegistry,
  RedisRequestStore,
  RedisSocketRecords,
  type RedisConnection,
} from '../../src/adapters/redis/index.js';
import type { SocketRecord } from '../../src/coordination/index.js';
import type { EstablishedConnectionEvent } from '../../src/protocol/index.js';
import { requestStoreContract } from '../contracts/request-store.js';
import { connectionStreamContract } from '../contracts/connection-stream.js';
import { availabilityFollowsTheSocket } from '../contracts/socket-availability.js';
import { replacementReportedOnce } from '../contracts/socket-replacement.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

let server: RedisServer;
let conn: RedisConnection;
let conn2: RedisConnection;
beforeAll(async () => {
  server = await startRedis();
  conn = connectRedis({ url: server.url, name: 'stores-a' });
  conn2 = connectRedis({ url: server.url, name: 'stores-b' }); // a second "orchestrator"
  await Promise.all([conn.ready(), conn2.ready()]);
});
afterAll(async () => {
  await conn?.close();
  await conn2?.close();
  await server?.dispose();
});

const rec = (profileId: string, node: string, at = 1000, role: 'officer' | 'citizen' = 'officer'): SocketRecord => ({
  node,
  url: `ws://127.0.0.1/${node}`,
  role,
  profileId,
  zip: '10001',
  at,
});

describe('RedisSocketRecords', () => {
  it('puts, gets and removes a record; remove is compare-and-delete', async () => {
    const s = new RedisSocketRecords(conn, { prefix: 'r1' });
    expect(await s.put(rec('o1', 'n1'))).toEqual({});
    expect(await s.get('officer', 'o1')).toEqual(rec('o1', 'n1'));
    expect(await s.get('citizen', 'o1')).toBeUndefined();

    // The profile reconnects to n2: the late close of the n1 socket must not delete the n2 record.
    expect(await s.put(rec('o1', 'n2', 2000))).toEqual({ replaced: rec('o1', 'n1') });
    expect(await s.remove(rec('o1', 'n1'))).toBe(false);
    expect(await s.get('officer', 'o1')).toEqual(rec('o1', 'n2', 2000));
    // Same node, replaced by a newer socket: the old socket's close keeps the new record.
    await s.put(rec('o1', 'n2', 3000));
    expect(await s.remove(rec('o1', 'n2', 2000))).toBe(false);
    expect(await s.get('officer', 'o1')).toEqual(rec('o1', 'n2', 3000));
    expect(await s.remove(rec('o1', 'n2', 3000))).toBe(true);
    expect(await s.get('officer', 'o1')).toBeUndefined();
    expect(await s.remove(rec('o1', 'n2', 3000))).toBe(false);
  });

  it('records an officer availability on its own socket record only', async () => {
    await availabilityFollowsTheSocket(new RedisSocketRecords(conn, { prefix: 'r-avail' }));
  });

  it('reports each replacement once across two orchestrators, and late puts change nothing', async () => {
    await replacementReportedOnce(new RedisSocketRecords(conn, { prefix: 'r-repl' }), new RedisSocketRecords(conn2, { prefix: 'r-repl' }));
  });

  it('clears the records of a node whose heartbeat expired, and only those', async () => {
    const prefix = 'r2';
    const s = new RedisSocketRecords(conn, { prefix });
    const alive = new RedisProcessorRegistry(conn, { id: 'alive', url: 'ws://a' }, { prefix, ttlMs: 60_000, heartbeatMs: 1000 });
    await alive.heartbeat();
    for (let i = 0; i < 1200; i++) await s.put(rec(`c${i}`, i % 2 ? 'alive' : 'dead', 1, 'citizen'));
    // c0 moved from the dead node to the live one before the reap.
    await s.put(rec('c0', 'alive', 2, 'citizen'));
    const reaped = await new RedisSocketRecords(conn2, { prefix }).reapDeadNodes();
    expect(reaped).toEqual(['dead']);
    expect(await s.get('citizen', 'c2')).toBeUndefined();
    expect((await s.get('citizen', 'c0'))?.node).toBe('alive');
    expect((await s.get('citizen', 'c1'))?.node).toBe('alive');
    expect(Number(await server.cli('exists', 'r2:socks:{node:dead}'))).toBe(0);
    expect(await new RedisSocketRecords(conn2, { prefix }).reapDeadNodes()).toEqual([]);
  });

  it('keeps free/busy counts per node, expiring with the node', async () => {
    const s = new RedisSocketRecords(conn, { prefix: 'r3', statsTtlMs: 300 });
    await s.putStats({ node: 'n1', url: 'ws://1', officers: 3, citizens: 4, busy: 7, free: 93, at: 5 });
    await s.putStats({ node: 'n2', url: 'ws://2', officers: 0, citizens: 1, busy: 1, free: 99, at: 6 });
    const counts = await s.countsByNode();
    expect(counts.get('n1')).toEqual({ node: 'n1', url: 'ws://1', officers: 3, citizens: 4, busy: 7, free: 93, at: 5 });
    expect(counts.size).toBe(2);
    // n2 keeps reporting, n1 falls silent.
    const deadline = Date.now() + 5000;
    while ((await s.countsByNode()).has('n1')) {
      if (Date.now() > deadline) throw new Error('n1 stats never expired');
      await s.putStats({ node: 'n2', url: 'ws://2', officers: 0, citizens: 1, busy: 1, free: 99, at: Date.now() });
      await new Promise((r) => setTimeout(r, 50));
    }
    expect([...(await s.countsByNode()).keys()]).toEqual(['n2']);
  });

  it('rejects hostile records', async () => {
    const s = new RedisSocketRecords(conn, { prefix: 'r4' });
    const bad: unknown[] = [
      null,
      { ...rec('o', 'n'), role: 'admin' },
      { ...rec('o', 'n'), profileId: '' },
      { ...rec('o', 'n'), profileId: 'x'.repeat(10_000) },
      { ...rec('o', 'n'), node: 7 },
      { ...rec('o', 'n'), at: NaN },
      { ...rec('o', 'n'), at: '1' },
      { ...rec('o', 'n'), zip: { $gt: '' } },
    ];
    for (const b of bad) {
      await expect(s.put(b as SocketRecord)).rejects.toThrow(TypeError);
      await expect(s.remove(b as SocketRecord)).rejects.toThrow(TypeError);
    }
    await expect(s.get('root' as 'officer', 'x')).rejects.toThrow(TypeError);
    await expect(s.putStats({ node: 'n', url: 'u', officers: Infinity, citizens: 0, busy: 0, free: 0, at: 0 })).rejects.toThrow(TypeError);
    // Ids with hash-tag and glob characters are just ids.
    await s.put(rec('{x}*?[a]', 'n{1}'));
    expect((await s.get('officer', '{x}*?[a]'))?.node).toBe('n{1}');
    // Garbage written under a record key by someone else does not break remove.
    await server.cli('set', 'r4:sock:{officer:g}', 'not json');
    expect(await s.remove(rec('g', 'n'))).toBe(false);
    expect(await s.get('officer', 'g')).toBeUndefined();
  });
});

const ev = (id: string): EstablishedConnectionEvent => ({ id, officerId: 'o1', citizenId: 'c1', at: 1_700_000_000_123, zip: '10001' });

describe('RedisConnectionStream: the ConnectionStream contract', () => {
  let n = 0;
  connectionStreamContract(async () => {
    const stream = new RedisConnectionStream(conn, { prefix: `contract${++n}` });
    const events = async () => {
      const entries = await conn.send<[string, string[]][]>(['XRANGE', stream.streamKey, '-', '+']);
      return entries.map(([, flat]) => {
        const f: Record<string, string> = {};
        for (let i = 0; i < flat.length; i += 2) f[flat[i]] = flat[i + 1];
        return parseEstablishedEntry(f)!;
      });
    };
    return { stream, events };
  });
});

describe('RedisConnectionStream', () => {
  it('writes an event exactly once under 20 concurrent retries from two orchestrators', async () => {
    const a = new RedisConnectionStream(conn, { prefix: 's1' });
    const b = new RedisConnectionStream(conn2, { prefix: 's1' });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).appendWithResult(ev('req-1'))));
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(new Set(results.map((r) => r.entryId)).size).toBe(1);
    await Promise.all([a.append(ev('req-2')), b.append(ev('req-2')), a.append(ev('req-3'))]);
    expect(Number(await conn.send(['XLEN', a.streamKey]))).toBe(3);
  });

  it('abandon: says whether the event is in after all, and once given up no append can land', async () => {
    const a = new RedisConnectionStream(conn, { prefix: 's5' });
    const b = new RedisConnectionStream(conn2, { prefix: 's5' });
    await a.append(ev('in'));
    expect(await b.abandon('in')).toBe(true);
    expect(await b.abandon('out')).toBe(false);
    expect(await a.abandon('out')).toBe(false);
    await expect(a.append(ev('out'))).rejects.toThrow(/ABANDONED/);
    expect(Number(await conn.send(['XLEN', a.streamKey]))).toBe(1);
  });

  it('is readable by a consumer group: read, ack, and claim what a dead consumer left', async () => {
    const s = new RedisConnectionStream(conn, { prefix: 's2' });
    const key = s.streamKey;
    expect(key).toBe('s2:{s2:established}');
    await conn.send(['XGROUP', 'CREATE', key, 'rewards', '$', 'MKSTREAM']);
    for (const id of ['e1', 'e2', 'e3']) await s.append(ev(id));

    type Reply = [string, [string, string[]][]][] | null;
    const toEvents = (r: Reply) =>
      (r ?? []).flatMap(([, entries]) =>
        entries.map(([entryId, flat]) => {
          const f: Record<string, string> = {};
          for (let i = 0; i < flat.length; i += 2) f[flat[i]] = flat[i + 1];
          return { entryId, event: parseEstablishedEntry(f)! };
        }),
      );
    // Consumer w1 reads two and "crashes" without acking the second.
    const r1 = toEvents(await conn.send<Reply>(['XREADGROUP', 'GROUP', 'rewards', 'w1', 'COUNT', '2', 'STREAMS', key, '>']));
    expect(r1.map((e) => e.event.id)).toEqual(['e1', 'e2']);
    expect(r1[0].event).toEqual(ev('e1'));
    await conn.send(['XACK', key, 'rewards', r1[0].entryId]);
    // w2 reads the rest, then claims e2 from w1.
    const r2 = toEvents(await conn.send<Reply>(['XREADGROUP', 'GROUP', 'rewards', 'w2', 'STREAMS', key, '>']));
    expect(r2.map((e) => e.event.id)).toEqual(['e3']);
    await conn.send(['XACK', key, 'rewards', r2[0].entryId]);
    const claimed = await conn.send<[string, [string, string[]][], string[]]>(['XAUTOCLAIM', key, 'rewards', 'w2', '0', '0-0']);
    expect(claimed[1].map(([entryId]) => entryId)).toEqual([r1[1].entryId]);
  });

  it('rejects malformed events and never writes them', async () => {
    const s = new RedisConnectionStream(conn, { prefix: 's3' });
    for (const bad of [null, { ...ev('x'), id: '' }, { ...ev('x'), at: NaN }, { ...ev('x'), officerId: 1 }, { ...ev('x'), zip: 'z'.repeat(100) }]) {
      await expect(s.append(bad as EstablishedConnectionEvent)).rejects.toThrow(TypeError);
    }
    expect(Number(await conn.send(['XLEN', s.streamKey]))).toBe(0);
  });
});

describe('RedisRequestStore', () => {
  let n = 0;
  // Two connections on one fresh prefix: two orchestrators sharing the store.
  requestStoreContract(async () => {
    const prefix = `rq${++n}`;
    return { a: new RedisRequestStore(conn, { prefix }), b: new RedisRequestStore(conn2, { prefix }) };
  });

  it('expires the stored request after its retention', async () => {
    const s = new RedisRequestStore(conn, { prefix: 'q3', retentionMs: 1 });
    await s.create({ id: 'r', officerId: 'o', citizenId: 'c' }, Date.now(), 200, 32);
    const pttl = Number(await conn.send(['PTTL', 'q3:req:{r}']));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(201);
    // The officer's table outlives its entries only briefly.
    expect(Number(await conn.send(['PTTL', 'q3:offreq:{officer:o}']))).toBeGreaterThan(0);
  });

  it('repairs stale indexes: an officer entry whose request is gone, an open-set score that is wrong', async () => {
    const s = new RedisRequestStore(conn, { prefix: 'q5' });
    await s.create({ id: 'r1', officerId: 'o', citizenId: 'c' }, 1000, 60_000, 1);
    // An orchestrator died between deciding and releasing: the hash is gone, the entry stays.
    await conn.send(['DEL', 'q5:req:{r1}']);
    expect(await s.create({ id: 'r2', officerId: 'o', citizenId: 'c' }, 2000, 60_000, 1)).toMatchObject({ outcome: 'created', record: { id: 'r2' } });
    // A wrong score (written outside the request's script) is corrected, not acted on.
    await conn.send(['ZADD', 'q5:{q5:requests}:open', '0', 'r2']);
    expect(await s.due(3000, 10)).toEqual([]);
    expect(Number(await conn.send(['ZSCORE', 'q5:{q5:requests}:open', 'r2']))).toBe(62_000);
  });

  it('rejects hostile input', async () => {
    const s = new RedisRequestStore(conn, { prefix: 'q4' });
    await expect(s.create({ id: '', officerId: 'o', citizenId: 'c' }, 0, 1, 32)).rejects.toThrow(TypeError);
    await expect(s.create({ id: 'a', officerId: 'o', citizenId: 'c' }, NaN, 1, 32)).rejects.toThrow(TypeError);
    await expect(s.create({ id: 'a', officerId: 'o', citizenId: 'c' }, 0, -5, 32)).rejects.toThrow(RangeError);
    await expect(s.create({ id: 'a', officerId: 'o', citizenId: 'c' }, 0, 5, 0)).rejects.toThrow(RangeError);
    await expect(s.create({ id: 'a', officerId: 'o', citizenId: ['c'] as unknown as string }, 0, 1, 32)).rejects.toThrow(TypeError);
    await s.create({ id: 'a', officerId: 'o', citizenId: 'c' }, 0, 10_000, 32);
    await expect(s.transition('a', 'pending' as 'declined', 1)).rejects.toThrow(TypeError);
    await expect(s.transition('a', 'declined', Infinity)).rejects.toThrow(TypeError);
    await expect(s.finish('a', 'me', 'declined' as 'failed', 1)).rejects.toThrow(TypeError);
    await expect(s.claim('a', '', 1, 1000)).rejects.toThrow(TypeError);
    await expect(s.get('x'.repeat(1000), 0)).rejects.toThrow(TypeError);
    expect((await s.get('a', 1))?.status).toBe('pending');
  });
});
