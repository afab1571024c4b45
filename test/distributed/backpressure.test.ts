// Replication under a stalled Redis (real redis-server frozen by DEBUG SLEEP, real connections):
// the publisher stops adding commands once `maxInflight` await replies, keeps coalescing each
// officer's latest change, fails nothing, and once Redis answers again the other node holds every
// officer at its latest position. Without the bound, every 10 ms flush during the stall queued
// more commands (thousands in flight, then "queue full" or timeouts under a longer stall).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { startReplicator, type TestReplicator } from './replicator-fixture.js';
import { waitFor } from '../helpers/wait.js';

const OFFICERS = 300;
const MAX_INFLIGHT = 40;

let redis: RedisServer;
const replicators: TestReplicator[] = [];

async function replicator(nodeId: string): Promise<TestReplicator> {
  const t = await startReplicator(redis.url, nodeId, { flushMs: 10, maxInflight: MAX_INFLIGHT });
  replicators.push(t);
  return t;
}

beforeAll(async () => {
  redis = await startRedis({ args: ['--enable-debug-command', 'yes'] });
}, 30_000);

afterAll(async () => {
  for (const t of replicators) await t.r.close();
  await redis?.dispose();
});

describe('replication while Redis stalls', () => {
  it('bounds the commands in flight, defers flushes, fails none, and delivers the latest positions after', async () => {
    const { r: ra, seam: a } = await replicator('pa');
    const { seam: b } = await replicator('pb');
    // A citizen on B in the middle of A's officers: B listens to their cells.
    const centre = { lat: 40.75, lng: -73.99 };
    await waitFor(() => a.observer !== undefined && b.observer !== undefined, 10_000, 'observers');
    b.observer!.citizen('c1', centre);
    // Officers spread over ~1 km around the centre, each moved by `step`.
    const pos = (i: number, step: number) => ({
      lat: centre.lat + ((i % 20) - 10) * 0.0005 + step * 1e-6,
      lng: centre.lng + (Math.floor(i / 20) - 7) * 0.0005,
    });
    const move = (step: number) => {
      for (let i = 0; i < OFFICERS; i++) a.observer!.officer(`o${i}`, pos(i, step), {});
    };
    move(0);
    await waitFor(() => b.remote.size === OFFICERS, 15_000, 'B holds every officer');

    // Freeze Redis for 2 s (the reply comes when it wakes; not awaited) and keep moving meanwhile.
    const sleeping = redis.cli('DEBUG', 'SLEEP', '2');
    let maxInflight = 0;
    let step = 1;
    const until = Date.now() + 1800;
    while (Date.now() < until) {
      move(step++);
      maxInflight = Math.max(maxInflight, ra.stats.inflight);
      await new Promise((r) => setTimeout(r, 5));
    }
    await sleeping;
    const last = step - 1;

    expect(ra.stats.flushesDeferred).toBeGreaterThan(10);
    // One flush may overshoot the bound by its own commands (a few cells: HSET + PUBLISH each, PEXPIRE).
    expect(maxInflight).toBeLessThanOrEqual(MAX_INFLIGHT + 40);
    await waitFor(
      () => {
        for (let i = 0; i < OFFICERS; i++) {
          const p = b.remote.get(`o${i}`);
          const want = pos(i, last);
          if (!p || p.lat !== want.lat || p.lng !== want.lng) return false;
        }
        return true;
      },
      15_000,
      'B holds every officer at its latest position',
    );
    expect(ra.stats, JSON.stringify(ra.stats)).toMatchObject({ publishFailed: 0 });
    await waitFor(() => ra.stats.inflight === 0, 5_000, 'no command left in flight');
  }, 60_000);
});
