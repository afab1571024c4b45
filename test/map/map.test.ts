// The operations map in a real browser: headless Debian Chromium (playwright-core) loads /map
// from a running embedded Beacon with simulated officers and citizens (the client library over
// real websockets), and we assert what the page shows. Screenshot: test-artifacts/map.png.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BeaconClient } from '../../src/client/index.js';
import { wsTransport } from '../../src/client/ws-transport.js';
import { loadConfig } from '../../src/config.js';
import { startEmbedded, type Embedded } from '../../src/embedded.js';
import { createLogger } from '../../src/log.js';
import { mintDeviceToken } from '../../src/auth/index.js';
import type { Role } from '../../src/protocol/index.js';
import { until } from '../helpers/ws-client.js';

const CHROMIUM = '/usr/bin/chromium';
const root = join(import.meta.dirname, '../..');
const OFFICERS = [
  { sub: 'ofc-diaz', lat: 40.758, lng: -73.9855 },
  { sub: 'ofc-okafor', lat: 40.7484, lng: -73.9857 },
  { sub: 'ofc-lee', lat: 40.7306, lng: -73.9866 },
];
const CITIZENS = [
  { sub: 'cit-1', lat: 40.7585, lng: -73.9851 },
  { sub: 'cit-2', lat: 40.7589, lng: -73.9861 },
  { sub: 'cit-3', lat: 40.7411, lng: -73.9897 },
  { sub: 'cit-4', lat: 40.7295, lng: -73.9965 },
];

let dataDir: string;
let beacon: Embedded;
let browser: Browser | undefined;
const clients: BeaconClient[] = [];

const token = (role: Role | 'operator', sub: string) => mintDeviceToken(beacon.deviceKeys.secret!, { role: role as Role, sub, profile: { name: sub } });

async function device(role: Role, sub: string, lat: number, lng: number): Promise<BeaconClient> {
  const tok = await token(role, sub);
  const c = new BeaconClient({ baseUrl: beacon.orchestratorUrl, role, token: () => tok, transport: wsTransport(), reconnect: false, heartbeatMs: 0 });
  clients.push(c);
  await c.connect(lat, lng);
  c.sendLocation(lat, lng, { force: true });
  return c;
}

const text = (page: Page, sel: string) => page.locator(sel).textContent();

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'beacon-map-'));
  const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', PROCESSOR_PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  beacon = await startEmbedded(config, { logger: createLogger('silent', 'test') });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await browser?.close();
  await beacon?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe.skipIf(!existsSync(CHROMIUM))('operations map in headless Chromium', { timeout: 90_000 }, () => {
  it('shows the officers, citizen cells and zip shards, and a connection once one is accepted', async () => {
    for (const o of OFFICERS) await device('officer', o.sub, o.lat, o.lng);
    const cits = new Map<string, BeaconClient>();
    for (const c of CITIZENS) cits.set(c.sub, await device('citizen', c.sub, c.lat, c.lng));

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // Only the orchestrator itself may be contacted: the page works offline.
    const foreign: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(beacon.orchestratorUrl) && !r.url().startsWith(beacon.orchestratorUrl.replace('http', 'ws'))) foreign.push(r.url());
    });

    const op = await token('operator', 'ops-1');
    const res = await page.goto(`${beacon.orchestratorUrl}/map?token=${op}&lat=40.745&lng=-73.985&z=13`);
    expect(res?.status()).toBe(200);
    // The token does not stay in the address bar.
    expect(page.url()).not.toContain('token=');

    await page.waitForFunction(() => document.querySelector('#officer-count')?.textContent === '3', undefined, { timeout: 20_000 });
    expect(await text(page, '#citizen-count')).toBe('4');
    expect(await text(page, '#status')).toContain('ops-1');
    expect(await text(page, '#nodes')).toContain('local');
    expect(await page.locator('#connections li.conn').count()).toBe(0);

    // A citizen asks, the officer accepts: the connection appears on the page.
    const officer = clients[0];
    officer.on('req', (m) => officer.respond(m.id, true));
    await cits.get('cit-1')!.requestConnection('ofc-diaz');
    await page.waitForSelector('#connections li.conn', { timeout: 20_000 });
    const conn = await text(page, '#connections li.conn');
    expect(conn).toContain('ofc-diaz');
    expect(conn).toContain('cit-1');

    // An officer leaving the index leaves the map.
    clients[2].setAvailable(false);
    await page.waitForFunction(() => document.querySelector('#officer-count')?.textContent === '2', undefined, { timeout: 20_000 });

    await mkdir(join(root, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: join(root, 'test-artifacts/map.png') });
    expect(pageErrors).toEqual([]);
    expect(foreign).toEqual([]);
  });

  it('refuses the page without a valid operator token', async () => {
    const url = `${beacon.orchestratorUrl}/map`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(`${url}?token=${await token('citizen', 'c-9')}`)).status).toBe(401);
    expect((await fetch(`${url}?token=not.a.jwt`)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: `Bearer ${await token('operator', 'ops-2')}` } })).status).toBe(200);
    // The operator role opens nothing else.
    const r = await fetch(`${beacon.orchestratorUrl}/v1/citizens/socket?lat=40.7&lng=-73.9`, { headers: { authorization: `Bearer ${await token('operator', 'ops-2')}` } });
    expect([401, 403]).toContain(r.status);
    await until(() => true);
  });
});
