// Issue #10 "no harvesting" and "sessions end with their credentials", through the real servers of
// embedded mode: real HTTP, real websockets, the real client library.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BeaconClient } from '../../src/client/index.js';
import { wsTransport } from '../../src/client/ws-transport.js';
import { loadConfig } from '../../src/config.js';
import { startEmbedded, type Embedded } from '../../src/embedded.js';
import { createLogger } from '../../src/log.js';
import { CLOSE_CODES, HTTP_ERRORS, HTTP_PATHS, type ErrMessage, type SocketAssignment } from '../../src/protocol/index.js';
import { TestClient } from '../helpers/ws-client.js';
import { devices } from './devices.js';
import { waitFor } from '../helpers/wait.js';

const TIMES_SQUARE = { lat: 40.758, lng: -73.9855 };
const ANCHORAGE = { lat: 61.2181, lng: -149.9003 };
/** Metres → degrees of latitude. */
const dLat = (m: number) => m / 111_195;

let dataDir: string;
const running: Embedded[] = [];
const clients: TestClient[] = [];
const libClients: BeaconClient[] = [];

async function start(env: Record<string, string> = {}): Promise<Embedded> {
  const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', PROCESSOR_PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...env });
  const e = await startEmbedded(config, { logger: createLogger('silent', 'test') });
  running.push(e);
  return e;
}

const device = (e: Embedded) => devices(e, clients);

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'beacon-safety-'));
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const c of libClients.splice(0)) c.close();
  for (const e of running.splice(0)) await e.close().catch(() => {});
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('no harvesting: a citizen socket answers for its place and a person’s pace', () => {
  it('a citizen assigned in Alaska gets out_of_area, never an officer position, for 15 locs across New York; more end the socket', async () => {
    const e = await start();
    const d = device(e);
    for (let i = 0; i < 5; i++) await d.officerAt(`o-${i}`, { lat: TIMES_SQUARE.lat + dLat(300 * i), lng: TIMES_SQUARE.lng });
    const { client: c } = await d.connect('citizen', await d.token('citizen', 'c-alaska'), ANCHORAGE);
    for (let i = 0; i < 15; i++) c.json({ t: 'loc', lat: 40.7 + i * 0.01, lng: -74.0 + i * 0.005 });
    await c.sync();
    const errs = c.of('err');
    expect(errs).toHaveLength(15);
    for (const m of errs) expect(m.code).toBe('out_of_area');
    expect(c.of('nearest')).toHaveLength(0);
    expect(c.of('near')).toHaveLength(0);
    expect(c.closed).toBeNull();
    // Each refusal is a strike: past 20 within 10 s the abuse rule ends the socket.
    for (let i = 0; i < 6; i++) c.json({ t: 'loc', ...TIMES_SQUARE });
    expect(await c.waitClosed()).toMatchObject({ code: CLOSE_CODES.abuse });
    expect(c.last('bye')).toMatchObject({ reason: 'abuse' });
    expect(c.of('nearest')).toHaveLength(0);
  });

  it('a citizen in Manhattan cannot jump: a fix 5 km away right after assignment is implausible_move, nearby ones are answered', async () => {
    const e = await start();
    const d = device(e);
    await d.officerAt('o-1', TIMES_SQUARE);
    const { client: c } = await d.connect('citizen', await d.token('citizen', 'c-1'), TIMES_SQUARE);
    c.json({ t: 'loc', lat: TIMES_SQUARE.lat + dLat(5000), lng: TIMES_SQUARE.lng });
    await c.sync();
    expect(c.last('err')).toMatchObject({ code: 'implausible_move' });
    expect(c.of('nearest')).toHaveLength(0);
    // Within GPS error of the assignment: answered.
    c.json({ t: 'loc', lat: TIMES_SQUARE.lat + dLat(60), lng: TIMES_SQUARE.lng });
    const n = await c.waitFor('nearest');
    expect(n.officer?.id).toBe('o-1');
  });

  it('the 100 m allowance does not add up: fixes each 90 m further in quick succession are refused after the first', async () => {
    const e = await start();
    const d = device(e);
    await d.officerAt('o-1', TIMES_SQUARE);
    const { client: c } = await d.connect('citizen', await d.token('citizen', 'c-creep'), TIMES_SQUARE);
    for (let i = 1; i <= 5; i++) c.json({ t: 'loc', lat: TIMES_SQUARE.lat + dLat(90 * i), lng: TIMES_SQUARE.lng });
    await c.sync();
    expect(c.of('nearest')).toHaveLength(1);
    expect(c.of('err').map((m) => m.code)).toEqual(['implausible_move', 'implausible_move', 'implausible_move', 'implausible_move']);
  });

  it('CITIZEN_AREA_M=0 and MAX_SPEED_KMH=0 turn both rules off', async () => {
    const e = await start({ CITIZEN_AREA_M: '0', MAX_SPEED_KMH: '0' });
    const d = device(e);
    await d.officerAt('o-1', TIMES_SQUARE);
    const { client: c } = await d.connect('citizen', await d.token('citizen', 'c-free'), ANCHORAGE);
    c.json({ t: 'loc', ...TIMES_SQUARE });
    expect((await c.waitFor('nearest')).officer?.id).toBe('o-1');
    expect(c.of('err')).toHaveLength(0);
  });

  it('the client library asks for a socket where it is now after out_of_area, and is answered there', async () => {
    const e = await start();
    const d = device(e);
    const far = { lat: TIMES_SQUARE.lat + dLat(12_000), lng: TIMES_SQUARE.lng };
    await d.officerAt('o-far', far);
    const tok = await d.token('citizen', 'c-lib');
    const c = new BeaconClient({ baseUrl: e.orchestratorUrl, role: 'citizen', token: tok, transport: wsTransport(), heartbeatMs: 0, delay: async () => {} });
    libClients.push(c);
    const errs: ErrMessage[] = [];
    c.on('err', (m) => errs.push(m));
    const nearest: string[] = [];
    c.on('nearest', (m) => m.officer && nearest.push(m.officer.id));
    const first = await c.connect(TIMES_SQUARE.lat, TIMES_SQUARE.lng);
    c.sendLocation(far.lat, far.lng);
    await waitFor(() => nearest.includes('o-far'), 5000, 'nearest after relocating');
    expect(errs.map((m) => m.code)).toEqual(['out_of_area']);
    expect(c.assignment?.url).not.toBe(undefined);
    expect(c.hello).not.toBe(first);
  });
});

describe('assignments are limited per token subject', () => {
  it('ASSIGNMENTS_PER_MINUTE answers 429 rate_limited past the limit, per subject; bad input costs no quota', async () => {
    const e = await start({ ASSIGNMENTS_PER_MINUTE: '3' });
    const d = device(e);
    const tok = await d.token('citizen', 'c-many');
    expect((await d.http('GET', `${HTTP_PATHS.citizenSocket}?lat=NaN&lng=1`, tok)).status).toBe(400);
    expect((await d.http('GET', `${HTTP_PATHS.citizenSocket}?lat=40.758&lng=-73.9855&zip=90210`, tok)).status).toBe(400);
    for (let i = 0; i < 3; i++) expect((await d.assign('citizen', tok, TIMES_SQUARE)).status).toBe(200);
    const r = await d.assign('citizen', tok, TIMES_SQUARE);
    expect(r).toMatchObject({ status: 429, body: { error: 'rate_limited' } });
    // The officer endpoint counts for the same subject too; another subject is not affected.
    expect((await d.assign('citizen', await d.token('citizen', 'c-other'), TIMES_SQUARE)).status).toBe(200);
  });
});

describe('an officer who is not available cannot be requested', () => {
  it('answers 409 officer_unavailable after avail:false, exactly as for an officer without a socket, and 202 once back', async () => {
    const e = await start();
    const d = device(e);
    const officer = await d.officerAt('o-busy', TIMES_SQUARE);
    const citizenTok = await d.token('citizen', 'c-ask');
    const ghost = await d.http('POST', HTTP_PATHS.connections, citizenTok, { officerId: 'o-nobody' });
    expect(ghost).toEqual({ status: 409, body: { error: 'officer_unavailable', message: HTTP_ERRORS.officer_unavailable.message } });

    officer.json({ t: 'avail', on: false });
    // In embedded mode the bus is in process: once the officer's frames are handled (the pong),
    // the socket record says so.
    await officer.sync();
    expect(await d.http('POST', HTTP_PATHS.connections, citizenTok, { officerId: 'o-busy' })).toEqual(ghost);

    officer.json({ t: 'avail', on: true });
    await officer.sync();
    expect(await d.http('POST', HTTP_PATHS.connections, citizenTok, { officerId: 'o-busy' })).toMatchObject({ status: 202, body: { status: 'pending' } });
  });
});

describe('sessions end with their credentials', () => {
  it('closes a socket with bye: unauthorized (4003) when the device token that obtained it expires; the ticket never outlives it', async () => {
    const e = await start();
    const d = device(e);
    const tok = await d.token('citizen', 'c-short', {}, 2);
    const before = Date.now();
    const { client: c, assignment } = await d.connect('citizen', tok, TIMES_SQUARE);
    expect(assignment.expiresAt).toBeLessThanOrEqual(before + 2000 + 1000);
    const closed = await c.waitClosed(6000);
    expect(closed.code).toBe(CLOSE_CODES.unauthorized);
    expect(c.last('bye')).toMatchObject({ reason: 'unauthorized' });
    // Its token is now expired: no new socket for it.
    expect((await d.assign('citizen', tok, TIMES_SQUARE)).body).toMatchObject({ error: 'token_expired' });
  });

  it('a ticket opens at most one socket, also across a restart of the node with the same TICKET_SECRET', async () => {
    const env = { TICKET_SECRET: 'a-ticket-secret-shared-across-restarts' };
    const first = await start(env);
    const tok = await device(first).token('citizen', 'c-replay');
    const unused = (await device(first).assign('citizen', tok, TIMES_SQUARE)).body as unknown as SocketAssignment;
    const used = (await device(first).assign('citizen', tok, TIMES_SQUARE)).body as unknown as SocketAssignment;
    const c = await TestClient.open(used.url);
    clients.push(c);
    await c.waitFor('hello');
    expect((await TestClient.refused(used.url)).body).toContain('reused');
    await first.close();
    running.splice(running.indexOf(first), 1);

    const second = await start(env);
    for (const t of [unused.ticket, used.ticket]) {
      const r = await TestClient.refused(`${second.processor.url}?ticket=${t}`);
      expect(r.status).toBe(401);
      expect(JSON.parse(r.body)).toEqual({ error: 'unauthorized', message: 'ticket refused: node_restarted' });
    }
    // The same token gets a working socket on the new run.
    const again = await device(second).connect('citizen', tok, TIMES_SQUARE);
    expect(again.client.last('hello')).toMatchObject({ id: 'c-replay' });
  });
});
