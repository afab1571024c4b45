// A device that re-connects on another node (issue #11), with 2 orchestrators and 2 processors
// as OS processes on a real redis-server:
// * the officer's replica on the new node stops serving its old position as soon as its new
//   socket opens there, even after the old node's removal arrives while the new socket has no
//   position yet; its first `loc` is served;
// * the old socket, on the other node, gets `bye: replaced` (4001), told exactly once by one of
//   the orchestrators; the new socket stays, is served and is the one the busy record names.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rendezvousOwner } from '../../src/coordination/index.js';
import { haversine } from '../../src/geo/index.js';
import { zipOf } from '../../src/geo/zip-lookup.js';
import { CLOSE_CODES } from '../../src/protocol/index.js';
import { startDeployment, waitExact, type Deployment } from './fixture.js';
import { connectDevice, http, token, type Device } from './nodes.js';
import { waitFor } from '../helpers/wait.js';

let d: Deployment;
const devices: Device[] = [];
/** Two points ~330 m apart whose zips the two processors own: A on p1, B on p2. */
let A: { lat: number; lng: number };
let B: { lat: number; lng: number };

beforeAll(async () => {
  d = await startDeployment({ processors: 2, orchestrators: 2 });
  ({ A, B } = borderPoints());
}, 90_000);

afterAll(async () => {
  for (const x of devices) x.client.close();
  await d?.stop();
});

/** Zip ownership as the orchestrators compute it (rendezvous over the live node ids p1, p2). */
function borderPoints(): { A: { lat: number; lng: number }; B: { lat: number; lng: number } } {
  const owner = (lat: number, lng: number) => rendezvousOwner(zipOf(lat, lng), [{ id: 'p1' }, { id: 'p2' }])!.id;
  for (let lat = 40.7; lat < 40.78; lat += 0.004) {
    for (let lng = -74; lng < -73.92; lng += 0.004) {
      if (owner(lat, lng) !== 'p1') continue;
      for (const [dLat, dLng] of [
        [0.003, 0],
        [0, 0.003],
        [-0.003, 0],
        [0, -0.003],
      ]) {
        if (owner(lat + dLat, lng + dLng) === 'p2') return { A: { lat, lng }, B: { lat: lat + dLat, lng: lng + dLng } };
      }
    }
  }
  throw new Error('no p1/p2 zip border found in the test area');
}

async function device(orch: number, role: 'officer' | 'citizen', id: string, at: { lat: number; lng: number }, node: string): Promise<Device> {
  const x = await connectDevice(d.orchestrators[orch].url, role, id, at);
  devices.push(x);
  expect(x.assignment.node).toBe(node);
  return x;
}

async function metric(url: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(url)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

const p2Metrics = () => d.processors.find((p) => p.nodeId === 'p2')!.metricsUrl!;
const record = async (role: string, id: string) =>
  JSON.parse((await d.redis.cli('GET', `beacon:sock:{${role}:${id}}`)).trim() || 'null') as { node: string; at: number } | null;

describe('an officer re-connecting on the node that holds its replica', () => {
  it('is not served at its old position once its new socket opens, and is served from its first loc', async () => {
    expect(haversine(A.lat, A.lng, B.lat, B.lng)).toBeLessThan(1000);
    const old = await device(0, 'officer', 'o-stale', A, 'p1');
    old.client.json({ t: 'loc', ...A });
    const c = await device(1, 'citizen', 'c-stale', B, 'p2');
    c.client.json({ t: 'loc', ...B });
    await waitExact([c], [old]); // p2 serves it through replication

    // The officer re-connects, assigned to p2 (its position is in p2's zip), and sends no loc.
    const mark = c.client.mark();
    const fresh = await device(1, 'officer', 'o-stale', B, 'p2');
    await c.client.waitFor('nearest', (m) => m.officer === null, mark, 10_000);
    // The old socket on p1 goes (replaced); its removal reaches p2 while the new socket there
    // has no position: p2 holds no replica of it any more, and the citizen still sees nobody.
    await old.client.waitClosed(10_000);
    await waitFor(async () => (await metric(p2Metrics(), 'beacon_processor_replication', 'what="remoteOfficers"')) === 0, 15_000, 'p2 without remote officers');
    const m = c.client.mark();
    c.client.json({ t: 'loc', ...B });
    expect((await c.client.waitFor('nearest', () => true, m, 10_000)).officer).toBeNull();
    // Nothing since the new socket opened showed the old position.
    expect(c.client.of('nearest', mark).every((x) => x.officer === null)).toBe(true);

    // Its first loc on p2: served at the new position.
    const here = { lat: B.lat + 0.0009, lng: B.lng };
    fresh.client.json({ t: 'loc', ...here });
    fresh.lat = here.lat;
    fresh.lng = here.lng;
    await waitExact([c], [fresh]);
    fresh.client.close();
    c.client.close();
  }, 90_000);
});

describe('bye: replaced across nodes', () => {
  it('a second socket of the profile on another node closes the first; the new one is recorded and served', async () => {
    const orchUrls = d.orchestrators.map((o) => `${o.url}/metrics`);
    const sumOf = async (type: string) =>
      (await Promise.all(orchUrls.map((u) => metric(u, 'beacon_orchestrator_socket_events_total', `type="${type}"`)))).reduce((a, b) => a + b, 0);
    const replacedBefore = await sumOf('replaced');
    const opensBefore = await Promise.all(orchUrls.map((u) => metric(u, 'beacon_orchestrator_socket_events_total', 'type="open"')));

    const first = await device(0, 'officer', 'o-rep', A, 'p1');
    first.client.json({ t: 'loc', ...A });
    await waitFor(async () => (await record('officer', 'o-rep'))?.node === 'p1', 10_000, 'record on p1');
    const second = await device(1, 'officer', 'o-rep', B, 'p2');
    expect(await first.client.waitFor('bye', () => true, 0, 10_000)).toEqual({ t: 'bye', reason: 'replaced' });
    expect((await first.client.waitClosed(10_000)).code).toBe(CLOSE_CODES.replaced);

    // The new socket stays open and is the recorded one, also after the old one's close was handled.
    await second.client.sync();
    expect(second.client.closed).toBeNull();
    expect(second.client.of('bye')).toHaveLength(0);
    await waitFor(async () => (await record('officer', 'o-rep'))?.node === 'p2', 10_000, 'record on p2');
    // Both orchestrators recorded both opens; exactly one of them told p1 (each replacement is reported once).
    await waitFor(
      async () =>
        (await Promise.all(orchUrls.map((u) => metric(u, 'beacon_orchestrator_socket_events_total', 'type="open"')))).every((n, i) => n >= opensBefore[i] + 2),
      10_000,
      'both orchestrators saw both opens',
    );
    expect((await sumOf('replaced')) - replacedBefore).toBe(1);

    // Served: citizens see it, and a connection request reaches it on p2.
    const here = { lat: B.lat - 0.0005, lng: B.lng };
    second.client.json({ t: 'loc', ...here });
    second.lat = here.lat;
    second.lng = here.lng;
    const c = await device(0, 'citizen', 'c-rep-watch', B, 'p2');
    c.client.json({ t: 'loc', ...B });
    await waitExact([c], [second]);
    const mark = second.client.mark();
    const r = await http(d.orchestrators[0].url, 'POST', '/v1/connections', await token('citizen', c.id), { officerId: second.id });
    expect(r.status).toBe(202);
    await second.client.waitFor('req', (m) => m.id === r.body.id, mark, 10_000);
    expect(second.client.closed).toBeNull();
    expect((await record('officer', 'o-rep'))?.node).toBe('p2');
    second.client.close();
    c.client.close();
  }, 90_000);

  it('works for a citizen profile too', async () => {
    const first = await device(1, 'citizen', 'c-rep', A, 'p1');
    const second = await device(0, 'citizen', 'c-rep', B, 'p2');
    expect(await first.client.waitFor('bye', () => true, 0, 10_000)).toEqual({ t: 'bye', reason: 'replaced' });
    expect((await first.client.waitClosed(10_000)).code).toBe(CLOSE_CODES.replaced);
    await second.client.sync();
    expect(second.client.closed).toBeNull();
    await waitFor(async () => (await record('citizen', 'c-rep'))?.node === 'p2', 10_000, 'record on p2');
    second.client.close();
  }, 60_000);
});
