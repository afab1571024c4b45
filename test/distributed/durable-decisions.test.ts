// Durable decisions in distributed mode, with two orchestrators as OS processes on a real
// redis-server. The stream is made to refuse the event without touching the rest of Redis: the
// ACL of the user the nodes log in as loses XADD (`ACL SETUSER default -xadd`), so the append
// script fails while the request store, the bus and the registry keep working.
// * The orchestrator driving the append is kill -9'd while the stream refuses it; the other one
//   takes the request over when the lease runs out and, once XADD is back, finishes it: both
//   parties get `conn accepted` once, the event is in the stream once.
// * The stream never comes back within the accept window: both get `conn failed`, GET says so,
//   and the stream holds nothing.
import { afterEach, describe, expect, it } from 'vitest';
import { startDeployment, type Deployment } from './fixture.js';
import { connectDevice, http, token, type Device } from './nodes.js';
import { waitFor } from '../helpers/wait.js';

let d: Deployment | undefined;
let devices: Device[] = [];
afterEach(async () => {
  for (const dev of devices) dev.client.close();
  devices = [];
  await d?.stop();
  d = undefined;
});

const POS = { lat: 40.758, lng: -73.9855 };
const STREAM = 'beacon:{beacon:established}';

async function streamCount(dep: Deployment, id: string): Promise<number> {
  const out = await dep.redis.cli('--raw', 'XRANGE', STREAM, '-', '+');
  return out.split('\n').filter((l) => l === id).length;
}

async function pairWithRequest(dep: Deployment, orch: string) {
  const officer = await connectDevice(orch, 'officer', 'o-1', POS);
  const citizen = await connectDevice(orch, 'citizen', 'c-1', { lat: POS.lat + 0.001, lng: POS.lng });
  devices.push(officer, citizen);
  officer.client.json({ t: 'loc', ...POS });
  await officer.client.sync();
  const citizenTok = await token('citizen', 'c-1');
  const r = await http(orch, 'POST', '/v1/connections', citizenTok, { officerId: 'o-1' });
  expect(r.status).toBe(202);
  const id = r.body.id as string;
  await officer.client.waitFor('req', (m) => m.id === id, 0, 10_000);
  const status = async (base: string) => (await http(base, 'GET', `/v1/connections/${id}`, citizenTok)).body.status;
  return { officer, citizen, id, status };
}

// Each test starts a deployment (several processes) and then waits up to ~40 s in steps: its
// budget covers them, like the other multi-process tests in this folder.
describe('durable decisions with Redis', { timeout: 90_000 }, () => {
  it('an orchestrator killed while the stream refuses the event: another one takes it over and finishes it, once', async () => {
    d = await startDeployment({ processors: 1, orchestrators: 2, env: { REQUEST_TTL_MS: '30000' } });
    const dep = d;
    const [o1, o2] = dep.orchestrators;
    const { officer, citizen, id, status } = await pairWithRequest(dep, o1.url);

    await dep.redis.cli('ACL', 'SETUSER', 'default', '-xadd');
    officer.client.json({ t: 'resp', id, accept: true });
    const key = `beacon:req:{${id}}`;
    await waitFor(async () => (await dep.redis.cli('HGET', key, 'status')).trim() === 'accepting', 10_000, 'accepting');
    const owner = (await dep.redis.cli('HGET', key, 'owner')).trim();
    const victim = [o1, o2].find((o) => owner.includes(`:${o.proc.pid}:`))!;
    const survivor = victim === o1 ? o2 : o1;
    expect(victim).toBeDefined();
    expect(await status(survivor.url)).toBe('pending');

    await victim.kill9();
    await dep.redis.cli('ACL', 'SETUSER', 'default', '+xadd');
    const expected = { t: 'conn', id, status: 'accepted', officerId: 'o-1', citizenId: 'c-1' };
    expect(await officer.client.waitFor('conn', (m) => m.id === id, 0, 20_000)).toEqual(expected);
    expect(await citizen.client.waitFor('conn', (m) => m.id === id, 0, 20_000)).toEqual(expected);
    expect(await status(survivor.url)).toBe('accepted');
    expect(await streamCount(dep, id)).toBe(1);
    expect((await dep.redis.cli('HGET', key, 'owner')).trim()).not.toBe(owner);
    const metrics = await (await fetch(`${survivor.url}/metrics`)).text();
    expect(metrics).toMatch(/^beacon_orchestrator_accepting_claims_total 1$/m);
    await officer.client.sync();
    expect(officer.client.of('conn')).toHaveLength(1);
    expect(citizen.client.of('conn')).toHaveLength(1);
  });

  it('a stream that never takes the event within the window: both told `failed`, GET failed, nothing in the stream', async () => {
    d = await startDeployment({ processors: 1, orchestrators: 2, env: { REQUEST_TTL_MS: '2000' } });
    const dep = d;
    const { officer, citizen, id, status } = await pairWithRequest(dep, dep.orchestrators[0].url);
    await dep.redis.cli('ACL', 'SETUSER', 'default', '-xadd');
    officer.client.json({ t: 'resp', id, accept: true });
    await waitFor(async () => (await dep.redis.cli('HGET', `beacon:req:{${id}}`, 'status')).trim() === 'accepting', 10_000, 'accepting');
    expect(await status(dep.orchestrators[1].url)).toBe('pending');
    const expected = { t: 'conn', id, status: 'failed', officerId: 'o-1', citizenId: 'c-1' };
    expect(await officer.client.waitFor('conn', (m) => m.id === id, 0, 15_000)).toEqual(expected);
    expect(await citizen.client.waitFor('conn', (m) => m.id === id, 0, 15_000)).toEqual(expected);
    for (const o of dep.orchestrators) expect(await status(o.url)).toBe('failed');
    await dep.redis.cli('ACL', 'SETUSER', 'default', '+xadd');
    expect(await streamCount(dep, id)).toBe(0);
    // The id is marked given up in the stream's dedupe key: no late append can land.
    expect((await dep.redis.cli('GET', `${STREAM}:seen:${id}`)).trim()).toBe('abandoned');
    expect(officer.client.of('conn')).toHaveLength(1);
  });

  it('a pending request whose orchestrator died is still expired (by another one) and both parties are told', async () => {
    d = await startDeployment({ processors: 1, orchestrators: 2, env: { REQUEST_TTL_MS: '2000' } });
    const dep = d;
    const [o1, o2] = dep.orchestrators;
    const { officer, citizen, id, status } = await pairWithRequest(dep, o1.url);
    await o1.kill9();
    const expected = { t: 'conn', id, status: 'expired', officerId: 'o-1', citizenId: 'c-1' };
    expect(await officer.client.waitFor('conn', (m) => m.id === id, 0, 15_000)).toEqual(expected);
    expect(await citizen.client.waitFor('conn', (m) => m.id === id, 0, 15_000)).toEqual(expected);
    expect(await status(o2.url)).toBe('expired');
    await officer.client.sync();
    expect(officer.client.of('conn')).toHaveLength(1);
  });
});
