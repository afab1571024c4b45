// A processor started with another REPLICATION_KEY than the rest (OS processes, real redis-server,
// real websockets): it cannot read the others' sealed officers nor they its, says so in one clear
// log line (rate-limited, no payload) and in beacon_processor_replication{what="wrongKey"}, keeps
// serving its own devices from its own officers, and nobody crashes. The two nodes that share
// the key still replicate to each other (the control).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sealer } from '../../src/auth/index.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { bruteNearest, mismatches, prng, randomPos, SEARCH_RADIUS_M, waitExact, waitNodes } from './fixture.js';
import { connectDevice, REPLICATION_KEY, spawnNode, type Device, type NodeProcess } from './nodes.js';
import { waitFor } from '../helpers/wait.js';

const WRONG_KEY = 'a-different-replication-key-9876543210-zyx';
/** A few square kilometres of Manhattan: every device is within the search radius of every other. */
const AREA = { lat0: 40.735, lat1: 40.765, lng0: -74.005, lng1: -73.97 };

let redis: RedisServer;
let orch: NodeProcess;
let good: NodeProcess[];
let bad: NodeProcess;
const devices: Device[] = [];

async function replication(p: NodeProcess): Promise<Record<string, number>> {
  const text = await (await fetch(p.metricsUrl!)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^beacon_processor_replication\{what="(\w+)"\} (\d+)/gm)) out[m[1]] = Number(m[2]);
  return out;
}

beforeAll(async () => {
  redis = await startRedis();
  const env = { REDIS_URL: redis.url, SEARCH_RADIUS_M: String(SEARCH_RADIUS_M), METRICS_PORT: '0' };
  [good, bad] = await Promise.all([
    Promise.all([spawnNode('processor', { ...env, NODE_ID: 'p1' }), spawnNode('processor', { ...env, NODE_ID: 'p2' })]),
    spawnNode('processor', { ...env, NODE_ID: 'p3', REPLICATION_KEY: WRONG_KEY }),
  ]);
  orch = await spawnNode('orchestrator', env);
  await waitNodes(orch.url, 3);
}, 90_000);

afterAll(async () => {
  for (const d of devices) d.client.close();
  await Promise.all([orch, bad, ...(good ?? [])].filter(Boolean).map((n) => n.kill9()));
  await redis?.dispose();
});

describe('a processor with the wrong REPLICATION_KEY', () => {
  it('reads none of the others officers (nor they its), logs it once, counts it, and keeps serving', async () => {
    const rnd = prng(23);
    const officers = await Promise.all(Array.from({ length: 15 }, (_, i) => connectDevice(orch.url, 'officer', `o${i}`, randomPos(rnd, AREA))));
    const citizens = await Promise.all(Array.from({ length: 24 }, (_, i) => connectDevice(orch.url, 'citizen', `c${i}`, randomPos(rnd, AREA))));
    devices.push(...officers, ...citizens);
    for (const x of devices) x.client.json({ t: 'loc', lat: x.lat, lng: x.lng });

    const onBad = (x: Device) => x.assignment.node === 'p3';
    const [badOfficers, goodOfficers] = [officers.filter(onBad), officers.filter((o) => !onBad(o))];
    const [badCitizens, goodCitizens] = [citizens.filter(onBad), citizens.filter((c) => !onBad(c))];
    // The placement is what makes this test able to fail: citizens on p3 whose true nearest is an
    // officer on p1/p2, and citizens on p1 whose nearest is on p2 (or the reverse).
    const nodeOf = (id: string) => officers.find((o) => o.id === id)!.assignment.node;
    expect(badCitizens.filter((c) => nodeOf(bruteNearest(c, officers)!.id) !== 'p3').length).toBeGreaterThan(0);
    expect(goodCitizens.filter((c) => nodeOf(bruteNearest(c, goodOfficers)!.id) !== c.assignment.node).length).toBeGreaterThan(0);
    expect(badOfficers.length).toBeGreaterThan(0);

    // Each side sees exactly its own key's officers.
    await waitExact(goodCitizens, goodOfficers);
    await waitExact(badCitizens, badOfficers);

    // Several refresh rounds (every 2 s) of sealed batches refused on both sides; only then check
    // again that p3 holds no remote officer at all.
    await waitFor(async () => (await replication(bad)).wrongKey >= 4, 20_000, 'p3 refusing batches of the other key');
    await waitFor(async () => (await Promise.all(good.map(replication))).some((r) => r.wrongKey >= 4), 20_000, 'p1/p2 refusing batches of p3');
    const badStats = await replication(bad);
    expect(badStats.remoteOfficers).toBe(0);
    expect(badStats.received).toBeGreaterThan(0);
    expect(Math.max(...(await Promise.all(good.map(replication))).map((r) => r.remoteOfficers))).toBeGreaterThan(0);
    // Sentinel: every p3 citizen asks again and gets its answer; still only p3's officers.
    await Promise.all(
      badCitizens.map(async (c) => {
        const mark = c.client.mark();
        c.client.json({ t: 'loc', lat: c.lat, lng: c.lng });
        await c.client.waitFor('nearest', undefined, mark, 10_000);
      }),
    );
    expect(mismatches(badCitizens, badOfficers)).toEqual([]);

    // One clear line (rate-limited to one a minute), naming both key ids, nothing of the payload.
    const lines = bad
      .output()
      .split('\n')
      .filter((l) => l.includes('sealed under another REPLICATION_KEY'));
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]) as Record<string, unknown>;
    expect(line).toMatchObject({ keyId: new Sealer(WRONG_KEY).keyId, theirKeyId: new Sealer(REPLICATION_KEY).keyId, dropped: 1 });
    expect(line.level).toBe(50);
    for (const o of officers) {
      expect(bad.output()).not.toContain(o.lat.toFixed(4));
      expect(bad.output()).not.toContain(o.id);
    }
    for (const n of [orch, bad, ...good]) expect(n.proc.exitCode, n.output().slice(-500)).toBeNull();
  }, 120_000);
});
