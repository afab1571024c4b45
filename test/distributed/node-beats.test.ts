// Node liveness (node-beats.ts) with in-process replicators over a real redis-server: officers
// that stop reporting cost no replication messages yet stay on the other node for as long as
// their node beats; a node that stops beating loses its officers elsewhere within remoteTtlMs;
// a node restarted under the same id drops what its previous run published at its first beat
// (rather than after officerTtlMs).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { startReplicator, type TestReplicator } from './replicator-fixture.js';
import { waitFor } from '../helpers/wait.js';

const TTL_MS = 1000;
const centre = { lat: 40.75, lng: -73.99 };
const near = (i: number) => ({ lat: centre.lat + i * 0.001, lng: centre.lng });

let redis: RedisServer;
const started: TestReplicator[] = [];

async function node(id: string, remoteTtlMs = TTL_MS): Promise<TestReplicator> {
  const t = await startReplicator(redis.url, id, { flushMs: 10, remoteTtlMs, refreshMs: 60_000 });
  started.push(t);
  await waitFor(() => t.seam.observer !== undefined, 5_000, 'observer');
  return t;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  redis = await startRedis();
}, 30_000);

afterAll(async () => {
  for (const t of started) await t.r.close().catch(() => {});
  await redis?.dispose();
});

describe('node beats', () => {
  it('parked officers cost no messages and stay while their node beats; a silent node loses them', async () => {
    const a = await node('beats-a');
    const b = await node('beats-b');
    b.seam.observer!.citizen('c1', centre);
    for (let i = 0; i < 5; i++) a.seam.observer!.officer(`o${i}`, near(i), {});
    await waitFor(() => b.seam.remote.size === 5, 10_000, 'B holds the officers');

    const published = a.r.stats.published;
    await sleep(4 * TTL_MS); // four remote TTLs with no report from any officer
    expect(a.r.stats.published - published).toBe(0);
    expect(b.seam.remote.size).toBe(5);

    // A goes silent (its connections cut, as a killed process's would be): gone within ~TTL.
    await a.conn.close();
    const cut = performance.now();
    await waitFor(() => b.seam.remote.size === 0, 5 * TTL_MS, 'B drops the silent node’s officers');
    expect(performance.now() - cut).toBeLessThan(3 * TTL_MS);
  }, 30_000);

  it('a node restarted under the same id drops what its previous run published, at its first beat', async () => {
    // A long TTL here: silence cannot explain a drop within half of it.
    const ttl = 5000;
    const b = await node('epoch-b', ttl);
    b.seam.observer!.citizen('c2', centre);
    const first = await node('epoch-a', ttl);
    first.seam.observer!.officer('stays', near(1), {});
    first.seam.observer!.officer('left', near(2), {});
    await waitFor(() => b.seam.remote.has('stays') && b.seam.remote.has('left'), 10_000, 'B holds both');

    // The first run dies without a word (no removal reaches Redis), and a new run takes its id
    // within the TTL, so the node never looks silent; only 'stays' came back.
    await first.conn.close();
    const cut = performance.now();
    await first.r.close();
    const second = await node('epoch-a', ttl);
    second.seam.observer!.officer('stays', near(3), {});
    await waitFor(() => !b.seam.remote.has('left'), ttl, 'B drops the earlier run’s officer');
    expect(performance.now() - cut).toBeLessThan(ttl / 2);
    await waitFor(() => b.seam.remote.get('stays')?.lat === near(3).lat, 5_000, 'B follows the new run');
  }, 30_000);
});
