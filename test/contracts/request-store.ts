// One suite for every RequestStore (memory and Redis): the decision state machine, the pair rule,
// the per-officer cap, accepting leases and what GET shows. `make` returns two handles on one
// store (for Redis: two connections, as two orchestrators would hold).
import { expect, it } from 'vitest';
import { publicRecord, type RequestStore } from '../../src/coordination/index.js';

export type TwoHandles = () => Promise<{ a: RequestStore; b: RequestStore }>;

const lease = (owner: string, leaseMs = 1000, windowMs = 10_000) => ({ owner, leaseMs, windowMs });

export function requestStoreContract(make: TwoHandles): void {
  it('creates once per id; a pending request past its expiry reads expired', async () => {
    const { a, b } = await make();
    const r = await a.create({ id: 'r1', officerId: 'o1', citizenId: 'c1', zip: '10001' }, 1000, 60_000, 32);
    expect(r).toMatchObject({ outcome: 'created', record: { id: 'r1', status: 'pending', at: 1000, expiresAt: 61_000, zip: '10001' } });
    expect(await b.create({ id: 'r1', officerId: 'o2', citizenId: 'c2' }, 1000, 60_000, 32)).toBeUndefined();
    expect(await b.get('r1', 2000)).toMatchObject({ status: 'pending', officerId: 'o1', citizenId: 'c1' });
    expect(await b.get('r1', 61_001)).toMatchObject({ status: 'expired', at: 61_000 });
    expect(await a.get('missing', 0)).toBeUndefined();
  });

  it('lets exactly one of many concurrent deciders win (decline, expire, accept)', async () => {
    const { a, b } = await make();
    await a.create({ id: 'r1', officerId: 'o1', citizenId: 'c1' }, 1000, 60_000, 32);
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => {
        const s = i % 2 ? a : b;
        if (i % 3 === 0) return s.beginAccept('r1', 2000 + i, lease(`orch-${i}`));
        return s.transition('r1', i % 3 === 1 ? 'declined' : 'expired', 2000 + i);
      }),
    );
    expect(results.filter((r) => r.changed)).toHaveLength(1);
    const final = await a.get('r1', 3000);
    for (const r of results) expect(r.record?.status).toBeDefined();
    expect(['accepting', 'declined', 'expired']).toContain(final?.status);
  });

  it('turns an answer after expiry into expired, for an accept as for a decline', async () => {
    const { a } = await make();
    await a.create({ id: 'r1', officerId: 'o1', citizenId: 'c1' }, 0, 1000, 32);
    expect(await a.beginAccept('r1', 1001, lease('me'))).toMatchObject({ changed: true, record: { status: 'expired', at: 1001 } });
    expect(await a.transition('r1', 'declined', 1002)).toMatchObject({ changed: false, record: { status: 'expired' } });
    await a.create({ id: 'r2', officerId: 'o1', citizenId: 'c2' }, 0, 1000, 32);
    expect(await a.transition('r2', 'declined', 1001)).toMatchObject({ changed: true, record: { status: 'expired' } });
    expect(await a.transition('missing', 'declined', 0)).toEqual({ changed: false });
    expect(await a.beginAccept('missing', 0, lease('me'))).toEqual({ changed: false });
  });

  it('keeps one pending request per citizen–officer pair: a repeat gets the same one', async () => {
    const { a, b } = await make();
    const first = await a.create({ id: 'r1', officerId: 'o1', citizenId: 'c1' }, 1000, 60_000, 32);
    const again = await b.create({ id: 'r2', officerId: 'o1', citizenId: 'c1' }, 2000, 60_000, 32);
    expect(again).toMatchObject({ outcome: 'existing', record: { id: 'r1', status: 'pending', createdAt: 1000 } });
    expect(await a.get('r2', 2000)).toBeUndefined(); // the repeat left nothing behind
    // Other pairs are independent.
    expect(await a.create({ id: 'r3', officerId: 'o2', citizenId: 'c1' }, 2000, 60_000, 32)).toMatchObject({ outcome: 'created' });
    expect(await a.create({ id: 'r4', officerId: 'o1', citizenId: 'c2' }, 2000, 60_000, 32)).toMatchObject({ outcome: 'created' });
    expect(first).toMatchObject({ outcome: 'created' });
    // Once answered, or expired, the pair may ask again.
    await a.transition('r1', 'declined', 3000);
    expect(await b.create({ id: 'r5', officerId: 'o1', citizenId: 'c1' }, 3000, 60_000, 32)).toMatchObject({ outcome: 'created', record: { id: 'r5' } });
    expect(await b.create({ id: 'r6', officerId: 'o1', citizenId: 'c1' }, 63_001, 60_000, 32)).toMatchObject({ outcome: 'created', record: { id: 'r6' } });
  });

  it('caps pending requests per officer atomically; a full officer refuses newcomers, never evicts', async () => {
    const { a, b } = await make();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).create({ id: `r${i}`, officerId: 'o1', citizenId: `c${i}` }, 1000, 60_000, 3)),
    );
    const created = results.filter((r) => r?.outcome === 'created');
    expect(created).toHaveLength(3);
    expect(results.filter((r) => r?.outcome === 'officer_busy')).toHaveLength(7);
    for (const r of results) if (r?.outcome === 'officer_busy') expect(await a.get(`r${results.indexOf(r)}`, 1000)).toBeUndefined();
    const holders = created.map((r) => (r as { record: { id: string; citizenId: string } }).record);
    // Every admitted request is still pending: nothing was pushed out.
    for (const h of holders) expect((await a.get(h.id, 2000))?.status).toBe('pending');
    // A holder's repeat is the same request, full or not.
    expect(await a.create({ id: 'x1', officerId: 'o1', citizenId: holders[0].citizenId }, 2000, 60_000, 3)).toMatchObject({
      outcome: 'existing',
      record: { id: holders[0].id },
    });
    // Another officer is not affected.
    expect(await a.create({ id: 'x2', officerId: 'o2', citizenId: 'c-new' }, 2000, 60_000, 3)).toMatchObject({ outcome: 'created' });
    // An answered request (declined, or accepted: accepting) frees its place at once.
    await b.transition(holders[0].id, 'declined', 3000);
    expect(await a.create({ id: 'x3', officerId: 'o1', citizenId: 'c-new' }, 3000, 60_000, 3)).toMatchObject({ outcome: 'created' });
    expect(await a.create({ id: 'x4', officerId: 'o1', citizenId: 'c-other' }, 3000, 60_000, 3)).toMatchObject({ outcome: 'officer_busy' });
    await b.beginAccept(holders[1].id, 3000, lease('me'));
    expect(await a.create({ id: 'x5', officerId: 'o1', citizenId: 'c-other' }, 3000, 60_000, 3)).toMatchObject({ outcome: 'created' });
    // Expired requests free theirs too, even when nobody expired them.
    expect(await a.create({ id: 'x6', officerId: 'o1', citizenId: 'c-late' }, 63_001, 60_000, 3)).toMatchObject({ outcome: 'created' });
  });

  it('accepting: reads pending to the parties, is never expired by the TTL, and finishes once by its owner', async () => {
    const { a, b } = await make();
    await a.create({ id: 'r1', officerId: 'o1', citizenId: 'c1', zip: '10001' }, 1000, 5000, 32);
    const t = await a.beginAccept('r1', 2000, lease('orch-a', 1000, 10_000));
    expect(t).toMatchObject({
      changed: true,
      record: { status: 'accepting', at: 1000, answeredAt: 2000, owner: 'orch-a', leaseUntil: 3000, deadline: 12_000 },
    });
    expect(await b.beginAccept('r1', 2001, lease('orch-b'))).toMatchObject({ changed: false, record: { status: 'accepting', owner: 'orch-a' } });
    // GET mapping: still pending, `at` unchanged, long past the request's own expiry.
    const late = await b.get('r1', 9000);
    expect(late?.status).toBe('accepting');
    expect(publicRecord(late!)).toEqual({ id: 'r1', officerId: 'o1', citizenId: 'c1', status: 'pending', at: 1000 });
    expect(await b.transition('r1', 'expired', 9000)).toMatchObject({ changed: false, record: { status: 'accepting' } });
    expect(await b.transition('r1', 'declined', 9000)).toMatchObject({ changed: false });
    // Only the owner finishes it.
    expect(await b.finish('r1', 'orch-b', 'accepted', 2500)).toMatchObject({ changed: false, record: { status: 'accepting' } });
    expect(await a.finish('r1', 'orch-a', 'accepted', 2500)).toMatchObject({ changed: true, record: { status: 'accepted', at: 2000 } });
    expect(await a.finish('r1', 'orch-a', 'failed', 2600)).toMatchObject({ changed: false, record: { status: 'accepted' } });
    expect(publicRecord((await b.get('r1', 99_000))!)).toMatchObject({ status: 'accepted', at: 2000 });
    expect(await a.finish('missing', 'orch-a', 'accepted', 0)).toEqual({ changed: false });
  });

  it('failed: the owner gives up; GET says failed, at the time it gave up', async () => {
    const { a, b } = await make();
    await a.create({ id: 'r1', officerId: 'o1', citizenId: 'c1' }, 1000, 5000, 32);
    await a.beginAccept('r1', 2000, lease('orch-a'));
    expect(await a.finish('r1', 'orch-a', 'failed', 12_000)).toMatchObject({ changed: true, record: { status: 'failed', at: 12_000 } });
    expect(publicRecord((await b.get('r1', 12_001))!)).toEqual({ id: 'r1', officerId: 'o1', citizenId: 'c1', status: 'failed', at: 12_000 });
    expect(await b.finish('r1', 'orch-a', 'accepted', 12_002)).toMatchObject({ changed: false, record: { status: 'failed' } });
  });

  it('leases: renewed by the owner, taken by another only once lapsed; due() lists what nobody finishes', async () => {
    const { a, b } = await make();
    await a.create({ id: 'acc', officerId: 'o1', citizenId: 'c1' }, 1000, 5000, 32);
    await a.create({ id: 'pend', officerId: 'o1', citizenId: 'c2' }, 1000, 5000, 32);
    await a.create({ id: 'done', officerId: 'o1', citizenId: 'c3' }, 1000, 5000, 32);
    await a.transition('done', 'declined', 1500);
    await a.beginAccept('acc', 2000, lease('orch-a', 1000));
    expect(await b.due(2500, 100)).toEqual([]);
    expect(await b.claim('acc', 'orch-b', 2500, 1000)).toMatchObject({ changed: false, record: { owner: 'orch-a' } });
    // The owner renews: its lease now ends at 3800.
    expect(await a.claim('acc', 'orch-a', 2800, 1000)).toMatchObject({ changed: true, record: { owner: 'orch-a', leaseUntil: 3800 } });
    expect(await b.claim('acc', 'orch-b', 3500, 1000)).toMatchObject({ changed: false });
    expect(await b.due(3500, 100)).toEqual([]);
    // Lapsed: listed, and claimable by exactly one of two sweepers.
    expect(await b.due(3801, 100)).toEqual(['acc']);
    const claims = await Promise.all([a.claim('acc', 'orch-c', 3801, 1000), b.claim('acc', 'orch-b', 3801, 1000)]);
    expect(claims.filter((c) => c.changed)).toHaveLength(1);
    const winner = claims.find((c) => c.changed)!.record!.owner!;
    // The old owner can no longer finish it; the new one can.
    expect(await a.finish('acc', 'orch-a', 'accepted', 3900)).toMatchObject({ changed: false });
    expect(await b.finish('acc', winner, 'accepted', 3900)).toMatchObject({ changed: true, record: { status: 'accepted', at: 2000 } });
    // A pending request past its expiry is listed too (its orchestrator may be gone), until expired.
    expect(await b.due(6001, 100)).toEqual(['pend']);
    expect(await b.transition('pend', 'expired', 6001)).toMatchObject({ changed: true });
    expect(await b.due(99_999, 100)).toEqual([]);
    expect(await a.claim('pend', 'orch-a', 99_999, 1000)).toMatchObject({ changed: false, record: { status: 'expired' } });
    expect(await a.claim('missing', 'orch-a', 0, 1000)).toEqual({ changed: false });
  });
}
