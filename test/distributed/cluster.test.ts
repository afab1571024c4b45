// The cross-node exactness test against a 3-master Redis Cluster started by the test: sharded
// pub/sub (SPUBLISH/SSUBSCRIBE) for the bus and the replication cells, hash-tagged keys.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AREA, prng, randomPos, startDeployment, waitExact, type Deployment } from './fixture.js';
import { connectDevice, type Device } from './nodes.js';

let d: Deployment;
const devices: Device[] = [];

beforeAll(async () => {
  d = await startDeployment({ processors: 3, cluster: true });
}, 90_000);

afterAll(async () => {
  for (const dev of devices) dev.client.close();
  await d?.stop();
});

describe('distributed mode on a Redis Cluster', () => {
  it('nearest is exact across nodes', async () => {
    const orch = d.orchestrators[0].url;
    const rnd = prng(77);
    const officers = await Promise.all(Array.from({ length: 18 }, (_, i) => connectDevice(orch, 'officer', `o${i}`, randomPos(rnd))));
    const wide = { lat0: AREA.lat0 - 0.05, lat1: AREA.lat1 + 0.05, lng0: AREA.lng0 - 0.06, lng1: AREA.lng1 + 0.06 };
    const citizens = await Promise.all(Array.from({ length: 30 }, (_, i) => connectDevice(orch, 'citizen', `c${i}`, randomPos(rnd, wide))));
    devices.push(...officers, ...citizens);
    for (const x of devices) x.client.json({ t: 'loc', lat: x.lat, lng: x.lng });
    expect(new Set(devices.map((x) => x.assignment.node)).size).toBe(3);
    await waitExact(citizens, officers);
    for (let round = 0; round < 2; round++) {
      for (const o of officers) {
        const p = randomPos(rnd);
        o.lat = p.lat;
        o.lng = p.lng;
        o.client.json({ t: 'loc', lat: o.lat, lng: o.lng });
      }
      await waitExact(citizens, officers);
    }
  }, 90_000);
});
