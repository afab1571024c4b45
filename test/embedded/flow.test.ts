// The whole embedded flow over real HTTP and real websockets: what `npm start` gives a newcomer.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startEmbedded, type Embedded } from '../../src/embedded.js';
import { haversine, roundToStep, snapToCell } from '../../src/geo/index.js';
import { createLogger } from '../../src/log.js';
import { listSegments, readStreamEvents } from '../../src/adapters/memory/index.js';
import { HTTP_PATHS } from '../../src/protocol/index.js';
import { TestClient } from '../helpers/ws-client.js';
import { devices } from './devices.js';

const OFFICER_POS = { lat: 40.758, lng: -73.9855 };
/** ~100 m north of the officer: inside the default alert radius (250 m). */
const CITIZEN_POS = { lat: 40.758 + 100 / 111_195, lng: -73.9855 };

let dataDir: string;
const running: Embedded[] = [];
const clients: TestClient[] = [];

async function start(env: Record<string, string> = {}, dir = dataDir): Promise<Embedded> {
  const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', PROCESSOR_PORT: '0', DATA_DIR: dir, LOG_LEVEL: 'silent', ...env });
  const e = await startEmbedded(config, { logger: createLogger('silent', 'test') });
  running.push(e);
  return e;
}

async function stop(e: Embedded): Promise<void> {
  await e.close();
  running.splice(running.indexOf(e), 1);
}

const device = (e: Embedded) => devices(e, clients);

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'beacon-embedded-'));
});
afterAll(async () => {
  for (const c of clients) c.close();
  for (const e of [...running]) await e.close().catch(() => {});
  await rm(dataDir, { recursive: true, force: true });
});

describe('embedded mode, end to end', () => {
  let requestId = '';

  it('assigns, connects, pushes nearest and near, relays a request, and records the accepted connection', async () => {
    const e = await start();
    const d = device(e);
    const officerTok = await d.token('officer', 'o-1', { name: 'Ofc. Diaz', badge: '4411', precinct: '14' });
    const citizenTok = await d.token('citizen', 'c-1', { name: 'Sam' });

    const officer = await d.connect('officer', officerTok, OFFICER_POS);
    expect(officer.assignment.node).toBe('local');
    expect(officer.client.last('hello')).toMatchObject({ id: 'o-1', role: 'officer', zip: officer.assignment.zip });
    officer.client.json({ t: 'loc', ...OFFICER_POS });
    await officer.client.sync();

    const citizen = await d.connect('citizen', citizenTok, CITIZEN_POS);
    citizen.client.json({ t: 'loc', ...CITIZEN_POS });
    const nearest = await citizen.client.waitFor('nearest', (m) => m.officer?.id === 'o-1');
    expect(nearest.officer?.profile).toEqual({ name: 'Ofc. Diaz', badge: '4411', precinct: '14' });
    expect(nearest.dist).toBeGreaterThan(90);
    expect(nearest.dist).toBeLessThan(110);
    const near = await citizen.client.waitFor('near', (m) => m.officer.id === 'o-1');
    expect(near.dist).toBeLessThan(110);

    const created = await d.http('POST', HTTP_PATHS.connections, citizenTok, { officerId: 'o-1' });
    expect(created).toMatchObject({ status: 202, body: { status: 'pending' } });
    requestId = created.body.id as string;

    const req = await officer.client.waitFor('req', (m) => m.id === requestId);
    expect(req.citizen).toEqual({ id: 'c-1', profile: { name: 'Sam' } });
    officer.client.json({ t: 'resp', id: requestId, accept: true });

    const expected = { t: 'conn', id: requestId, status: 'accepted', officerId: 'o-1', citizenId: 'c-1' };
    expect(await officer.client.waitFor('conn', (m) => m.id === requestId)).toMatchObject(expected);
    expect(await citizen.client.waitFor('conn', (m) => m.id === requestId)).toMatchObject(expected);

    // The event was durable before anyone was told.
    const events = await readStreamEvents(e.streamDir);
    expect(events).toEqual([{ id: requestId, officerId: 'o-1', citizenId: 'c-1', at: expect.any(Number), zip: officer.assignment.zip }]);
    for (const tok of [citizenTok, officerTok]) {
      expect(await d.http('GET', `${HTTP_PATHS.connections}/${requestId}`, tok)).toMatchObject({
        status: 200,
        body: { status: 'accepted', officerId: 'o-1', citizenId: 'c-1' },
      });
    }

    // A declined request: both told, nothing appended.
    const other = await d.token('citizen', 'c-2');
    const c2 = await d.connect('citizen', other, CITIZEN_POS);
    const declined = await d.http('POST', HTTP_PATHS.connections, other, { officerId: 'o-1' });
    const declinedId = declined.body.id as string;
    await officer.client.waitFor('req', (m) => m.id === declinedId);
    officer.client.json({ t: 'resp', id: declinedId, accept: false });
    expect(await c2.client.waitFor('conn', (m) => m.id === declinedId)).toMatchObject({ status: 'declined' });
    expect(await officer.client.waitFor('conn', (m) => m.id === declinedId)).toMatchObject({ status: 'declined' });
    expect(await d.http('GET', `${HTTP_PATHS.connections}/${declinedId}`, other)).toMatchObject({ body: { status: 'declined' } });
    expect((await readStreamEvents(e.streamDir)).map((x) => x.id)).toEqual([requestId]);

    // /metrics carries both services.
    const metrics = await (await fetch(`${e.orchestratorUrl}${HTTP_PATHS.metrics}`)).text();
    expect(metrics).toContain('beacon_orchestrator_connection_decisions_total{status="accepted"} 1');
    expect(metrics).toContain('beacon_processor_sockets');

    // Graceful stop: every socket is told to come back through the orchestrator.
    await stop(e);
    expect(officer.client.last('bye')).toEqual({ t: 'bye', reason: 'drain' });
    expect((await citizen.client.waitClosed()).code).toBe(4002);
  });

  it('after a restart on the same DATA_DIR the event is still there, once, and the same tokens still work', async () => {
    expect(requestId).not.toBe('');
    const e = await start();
    const text = (await Promise.all((await listSegments(e.streamDir)).map((n) => readFile(join(e.streamDir, n), 'utf8')))).join('');
    expect(
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).id),
    ).toEqual([requestId]);
    // The device-token secret was reused from DATA_DIR: a token from either run verifies.
    const d = device(e);
    const citizenTok = await d.token('citizen', 'c-1');
    expect((await d.http('GET', `${HTTP_PATHS.citizenSocket}?lat=${CITIZEN_POS.lat}&lng=${CITIZEN_POS.lng}`, citizenTok)).status).toBe(200);
    // Request records are kept in memory in embedded mode: the stream is what survives.
    expect(await d.http('GET', `${HTTP_PATHS.connections}/${requestId}`, citizenTok)).toMatchObject({ status: 404, body: { error: 'not_found' } });
    await stop(e);
  });

  it('an accepted connection shows its citizen, and only it, the officer exact beyond the alert radius', async () => {
    const e = await start();
    const d = device(e);
    const officerTok = await d.token('officer', 'o-dp', { name: 'Ofc. Ruiz' });
    const officer = await d.connect('officer', officerTok, OFFICER_POS);
    officer.client.json({ t: 'loc', ...OFFICER_POS });
    await officer.client.sync();
    /** 1.2 km north: outside the alert radius, coarse by default. */
    const far = { lat: OFFICER_POS.lat + 1200 / 111_195, lng: OFFICER_POS.lng };
    const dist = haversine(far.lat, far.lng, OFFICER_POS.lat, OFFICER_POS.lng);
    const centre = snapToCell(OFFICER_POS.lat, OFFICER_POS.lng, 200);
    const coarse = { id: 'o-dp', ...centre, precision: 200 };
    const askTok = await d.token('citizen', 'c-ask', { name: 'Ana' });
    const ask = await d.connect('citizen', askTok, far);
    const bystander = await d.connect('citizen', await d.token('citizen', 'c-by'), far);
    for (const c of [ask, bystander]) {
      c.client.json({ t: 'loc', ...far });
      const n = await c.client.waitFor('nearest', (m) => m.officer?.id === 'o-dp');
      expect(n.officer).toMatchObject(coarse);
      expect(n.dist).toBe(roundToStep(haversine(far.lat, far.lng, centre.lat, centre.lng), 50));
    }

    const askMark = ask.client.mark();
    const byMark = bystander.client.mark();
    const created = await d.http('POST', HTTP_PATHS.connections, askTok, { officerId: 'o-dp' });
    const id = created.body.id as string;
    await officer.client.waitFor('req', (m) => m.id === id);
    officer.client.json({ t: 'resp', id, accept: true });
    await ask.client.waitFor('conn', (m) => m.id === id && m.status === 'accepted', askMark);
    const exact = await ask.client.waitFor('nearest', () => true, askMark);
    expect(exact).toMatchObject({ officer: { id: 'o-dp', lat: OFFICER_POS.lat, lng: OFFICER_POS.lng, precision: 0 }, dist });
    // The bystander at the very same spot heard nothing new and still gets the coarse view.
    await officer.client.sync();
    await bystander.client.sync();
    expect(bystander.client.of('nearest', byMark)).toEqual([]);
    bystander.client.json({ t: 'loc', ...far });
    expect((await bystander.client.waitFor('nearest', () => true, byMark)).officer).toMatchObject(coarse);
    // Until the citizen's socket closes: a new socket of the same citizen is coarse again.
    ask.client.close();
    await ask.client.waitClosed();
    const again = await d.connect('citizen', askTok, far);
    again.client.json({ t: 'loc', ...far });
    expect((await again.client.waitFor('nearest')).officer).toMatchObject(coarse);
    await stop(e);
  });

  it('an unanswered request expires after REQUEST_TTL_MS and both sides get `conn` expired', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'beacon-embedded-ttl-'));
    try {
      const e = await start({ REQUEST_TTL_MS: '1000' }, dir);
      const d = device(e);
      const officerTok = await d.token('officer', 'o-9');
      const citizenTok = await d.token('citizen', 'c-9');
      const officer = await d.connect('officer', officerTok, OFFICER_POS);
      const citizen = await d.connect('citizen', citizenTok, CITIZEN_POS);
      const created = await d.http('POST', HTTP_PATHS.connections, citizenTok, { officerId: 'o-9' });
      const id = created.body.id as string;
      const req = await officer.client.waitFor('req', (m) => m.id === id);
      expect(req.expiresAt).toBeGreaterThan(Date.now() - 1000);
      expect(await citizen.client.waitFor('conn', (m) => m.id === id)).toMatchObject({ status: 'expired', officerId: 'o-9', citizenId: 'c-9' });
      expect(await officer.client.waitFor('conn', (m) => m.id === id)).toMatchObject({ status: 'expired' });
      expect(await d.http('GET', `${HTTP_PATHS.connections}/${id}`, citizenTok)).toMatchObject({ body: { status: 'expired' } });
      // Too late: the processor forgot the request, so the answer is refused on the socket.
      const from = officer.client.mark();
      officer.client.json({ t: 'resp', id, accept: true });
      expect(await officer.client.waitFor('err', () => true, from)).toMatchObject({ code: 'unknown_request' });
      expect(await readStreamEvents(e.streamDir)).toEqual([]);
      // An officer whose socket is gone cannot be asked (once the processor's socket.close landed).
      officer.client.close();
      let n = 0;
      await expect
        .poll(async () => (await d.http('POST', HTTP_PATHS.connections, await d.token('citizen', `c-poll-${n++}`), { officerId: 'o-9' })).status, {
          timeout: 5000,
        })
        .toBe(409);
      await stop(e);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
