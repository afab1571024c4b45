import { describe, expect, expectTypeOf, it } from 'vitest';
import type { RedisRequestStore, RedisSocketRecords } from '../../src/adapters/redis/index.js';
import type { RequestStore, SocketRecord, SocketRecordStore } from '../../src/coordination/index.js';
import { SlidingWindowLimiter } from '../../src/orchestrator/index.js';
import { MemoryRequestStore, MemorySocketRecords } from '../../src/adapters/memory/index.js';
import { requestStoreContract } from '../contracts/request-store.js';
import { availabilityFollowsTheSocket } from '../contracts/socket-availability.js';
import { replacementReportedOnce } from '../contracts/socket-replacement.js';

const rec = (over: Partial<SocketRecord> = {}): SocketRecord => ({
  node: 'n1',
  url: 'ws://x/ws',
  role: 'officer',
  profileId: 'o-1',
  zip: '10036',
  at: 1,
  ...over,
});

describe('store interfaces', () => {
  it('the Redis adapters implement the same interfaces as the in-memory stores', () => {
    expectTypeOf<RedisSocketRecords>().toMatchTypeOf<SocketRecordStore>();
    expectTypeOf<RedisRequestStore>().toMatchTypeOf<RequestStore>();
  });
});

describe('MemorySocketRecords', () => {
  it('records an officer availability on its own socket record only', async () => {
    await availabilityFollowsTheSocket(new MemorySocketRecords());
  });

  it('reports each replacement once however often the sockets are put', async () => {
    const s = new MemorySocketRecords();
    await replacementReportedOnce(s, s);
  });

  it('replaces by (role, profile) and removes only the same socket', async () => {
    const s = new MemorySocketRecords();
    expect(await s.put(rec())).toEqual({});
    expect(await s.put(rec({ node: 'n2', at: 2 }))).toMatchObject({ replaced: { node: 'n1' } });
    expect(await s.remove(rec())).toBe(false); // the old socket's late close
    expect(await s.get('officer', 'o-1')).toMatchObject({ node: 'n2' });
    expect(await s.get('citizen', 'o-1')).toBeUndefined();
    expect(await s.remove(rec({ node: 'n2', at: 2 }))).toBe(true);
    expect(await s.get('officer', 'o-1')).toBeUndefined();
  });

  it('forgets node stats that were not refreshed', async () => {
    let now = 0;
    const s = new MemorySocketRecords({ statsTtlMs: 100, now: () => now });
    await s.putStats({ node: 'n1', url: 'u', officers: 1, citizens: 2, busy: 3, free: 7, at: 0 });
    expect((await s.countsByNode()).get('n1')).toMatchObject({ busy: 3 });
    now = 101;
    expect((await s.countsByNode()).size).toBe(0);
  });
});

describe('MemoryRequestStore', () => {
  requestStoreContract(async () => {
    const s = new MemoryRequestStore();
    return { a: s, b: s };
  });

  it('forgets requests after retention, so memory stays bounded', async () => {
    const s = new MemoryRequestStore({ retentionMs: 1000 });
    for (let i = 0; i < 100; i++) await s.create({ id: `r${i}`, officerId: 'o', citizenId: `c${i}` }, 0, 10, 1000);
    await s.create({ id: 'late', officerId: 'o', citizenId: 'c' }, 5000, 10, 1000);
    expect(s.size).toBe(1);
  });
});

describe('SlidingWindowLimiter', () => {
  it('allows `limit` per window per key, then frees up as the window slides', () => {
    const l = new SlidingWindowLimiter(2, 1000);
    expect([l.take('a', 0), l.take('a', 10), l.take('a', 20), l.take('b', 20)]).toEqual([true, true, false, true]);
    expect(l.take('a', 999)).toBe(false);
    expect(l.take('a', 1000)).toBe(true);
    l.sweep(10_000);
    expect(l.keys).toBe(0);
  });
});
