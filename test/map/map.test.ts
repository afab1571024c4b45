// The operations map in a real browser: headless Debian Chromium (playwright-core) loads /map
// from a running embedded Beacon with officers and citizens connected through the client library
// over real websockets. We check what the page draws against what the feed sent it: the officer
// markers sit where the frame's officers project, the density cells are the frame's cells; and
// that the offline outlines were drawn (bright pixels all along the straight Colorado–Kansas
// border, few beside it). Screenshots: test-artifacts/map.png (Manhattan under load) and
// test-artifacts/map-outlines.png (the border view).
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BeaconClient } from '../../src/client/index.js';
import { wsTransport } from '../../src/client/ws-transport.js';
import { loadConfig } from '../../src/config.js';
import { startEmbedded, type Embedded } from '../../src/embedded.js';
import { createLogger } from '../../src/log.js';
import { mintDeviceToken } from '../../src/auth/index.js';
import type { Role } from '../../src/protocol/index.js';
import type { MapFrame } from '../../src/map/state.js';
import { launchChromium, mercatorPx, pixelsOf } from './browser.js';
import { waitFor } from '../helpers/wait.js';

const root = join(import.meta.dirname, '../..');
const ARTIFACTS = join(root, 'test-artifacts');
/** Manhattan and Downtown Brooklyn at zoom 13. */
const VIEW = { lat: 40.72, lng: -73.985, z: 13 };
const OFFICERS = [
  [40.758, -73.9855],
  [40.7484, -73.9857],
  [40.7306, -73.9866],
  [40.7128, -74.006],
  [40.7061, -73.9969],
  [40.6928, -73.9903],
  [40.7411, -73.9897],
  [40.7265, -73.9815],
  [40.7178, -73.9577],
  [40.7033, -74.017],
  [40.6892, -73.9814],
  [40.7527, -73.9772],
].map(([lat, lng], i) => ({ sub: `ofc-${i + 1}`, lat, lng }));
/** Clusters of citizens (a density cell each, at least MAP_MIN_CELL_COUNT) and a few alone (never drawn). */
const CLUSTERS: [number, number, number][] = [
  [40.7585, -73.9851, 8],
  [40.7411, -73.9897, 6],
  [40.7295, -73.9965, 5],
  [40.7081, -74.0112, 7],
  [40.6932, -73.9894, 4],
  [40.7145, -73.9612, 5],
];
/** Each farther than a res-7 cell's width (~2.6 km) from every cluster and from each other. */
const LONERS = [
  [40.765, -74.05],
  [40.685, -73.925],
  [40.76, -73.93],
];
const CITIZENS = [
  ...CLUSTERS.flatMap(([lat, lng, n], c) =>
    Array.from({ length: n }, (_, i) => ({ sub: `cit-${c}-${i}`, lat: lat + (i % 3) * 0.0006, lng: lng + Math.floor(i / 3) * 0.0006 })),
  ),
  ...LONERS.map(([lat, lng], i) => ({ sub: `cit-alone-${i}`, lat, lng })),
];

let dataDir: string;
let beacon: Embedded;
let browser: Browser;
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

/** Opens /map at a view, recording every `state` frame the page receives, by its `at`. */
async function openMap(view: { lat: number; lng: number; z: number }) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  page.on('response', (r) => r.status() >= 400 && problems.push(`${r.status()} ${r.url()}`));
  // Only the orchestrator itself may be contacted: the page works offline.
  const foreign: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(beacon.orchestratorUrl) && !r.url().startsWith(beacon.orchestratorUrl.replace('http', 'ws'))) foreign.push(r.url());
  });
  const frames = new Map<string, MapFrame>();
  page.on('websocket', (ws) =>
    ws.on('framereceived', (f) => {
      const m = JSON.parse(String(f.payload)) as MapFrame;
      if (m.t === 'state') frames.set(String(m.at), m);
    }),
  );
  const res = await page.goto(`${beacon.orchestratorUrl}/map?token=${await token('operator', 'ops-1')}&lat=${view.lat}&lng=${view.lng}&z=${view.z}`);
  expect(res?.status()).toBe(200);
  await page.waitForFunction(() => document.body.dataset.outlines === 'drawn' && document.body.dataset.frameAt, undefined, { timeout: 20_000 });
  return { page, problems, foreign, frames };
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'beacon-map-'));
  const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', PROCESSOR_PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  beacon = await startEmbedded(config, { logger: createLogger('silent', 'test') });
  browser = await launchChromium();
  await mkdir(ARTIFACTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await browser?.close();
  await beacon?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('operations map in headless Chromium', { timeout: 120_000 }, () => {
  it('draws the offline outlines: bright pixels all along the Colorado–Kansas border, few beside it', async () => {
    // Zoom 6 centred on the border (longitude −102.05, straight from 37° N to 41° N): the border is
    // the map's middle column. So many zips are in view that none are drawn (no dots to confuse).
    const view = { lat: 39, lng: -102.0517, z: 6 };
    const { page, problems, foreign } = await openMap(view);
    expect(await page.locator('.legend .note').textContent()).toBe('zoom in to see zip shards');
    const box = (await page.locator('#map').boundingBox())!;
    const shot = await page.screenshot({ path: join(ARTIFACTS, 'map-outlines.png'), clip: box });
    const px = await pixelsOf(browser, shot);
    const cx = Math.round(box.width / 2);
    const centre = mercatorPx(view.lat, view.lng, view.z);
    const rowOf = (lat: number) => Math.round(box.height / 2 + mercatorPx(lat, view.lng, view.z).y - centre.y);
    // Rows between 37.3° N and 40.7° N (clear of the corners), a ±2 px window around the column.
    const bright = (x0: number, y: number) => [-2, -1, 0, 1, 2].some((d) => px.brightness(x0 + d, y) > 300);
    const rows = Array.from({ length: rowOf(37.3) - rowOf(40.7) }, (_, i) => rowOf(40.7) + i);
    expect(rows.length).toBeGreaterThan(150);
    const along = rows.filter((y) => bright(cx, y)).length / rows.length;
    const beside = rows.filter((y) => bright(cx + 60, y)).length / rows.length;
    expect(along).toBeGreaterThan(0.95);
    expect(beside).toBeLessThan(0.2);
    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  });

  it('shows the officers, citizen density and zip shards the feed sent, and a connection once one is accepted', async () => {
    for (const o of OFFICERS) await device('officer', o.sub, o.lat, o.lng);
    const cits = new Map<string, BeaconClient>();
    for (const c of CITIZENS) cits.set(c.sub, await device('citizen', c.sub, c.lat, c.lng));

    const { page, problems, foreign, frames } = await openMap(VIEW);
    // The token does not stay in the address bar.
    expect(page.url()).not.toContain('token=');
    await page.waitForFunction((n) => document.querySelector('#officer-count')?.textContent === String(n), OFFICERS.length, { timeout: 20_000 });
    expect(await text(page, '#citizen-count')).toBe(String(CITIZENS.length));
    expect(await text(page, '#status')).toContain('ops-1');
    expect(await text(page, '#nodes')).toContain('local');

    // A citizen asks, the officer accepts: the connection appears in the list and on the map.
    const officer = clients[0];
    officer.on('req', (m) => officer.respond(m.id, true));
    await cits.get('cit-0-0')!.requestConnection('ofc-1');
    await page.waitForSelector('#connections li.conn', { timeout: 20_000 });
    const conn = await text(page, '#connections li.conn');
    expect(conn).toContain('ofc-1');
    expect(conn).toContain('cit-0-0');
    await page.waitForSelector('path.beacon-conn', { timeout: 5_000 });

    // What is drawn is what the last rendered frame held, in the right places.
    const box = (await page.locator('#map').boundingBox())!;
    const drawn = await page.evaluate(() => {
      const centreOf = (e: Element) => {
        const r = e.getBoundingClientRect();
        return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
      };
      return {
        at: document.body.dataset.frameAt!,
        officers: Array.from(document.querySelectorAll('path.beacon-officer')).map((e) => ({ id: e.getAttribute('data-id')!, ...centreOf(e) })),
        cells: Array.from(document.querySelectorAll('path.beacon-cell')).map((e) => Number(e.getAttribute('data-n'))),
        connections: Array.from(document.querySelectorAll('path.beacon-conn')).map((e) => e.getAttribute('data-id')),
      };
    });
    // The page may render a frame a moment before the browser reports it to us.
    const frame = await waitFor(() => frames.get(drawn.at), 5_000, 'the rendered frame among those received');
    expect(frame.officers!.map((o) => o[0]).sort()).toEqual(OFFICERS.map((o) => o.sub).sort());
    expect(drawn.officers.map((o) => o.id).sort()).toEqual(frame.officers!.map((o) => o[0]).sort());
    const centre = mercatorPx(VIEW.lat, VIEW.lng, VIEW.z);
    for (const [id, lat, lng] of frame.officers!) {
      const p = mercatorPx(lat, lng, VIEW.z);
      const m = drawn.officers.find((o) => o.id === id)!;
      expect(Math.abs(m.x - (box.x + box.width / 2 + p.x - centre.x)), `${id} x`).toBeLessThan(2);
      expect(Math.abs(m.y - (box.y + box.height / 2 + p.y - centre.y)), `${id} y`).toBeLessThan(2);
    }
    expect(drawn.cells.sort()).toEqual(frame.cells!.map((c) => c.n).sort());
    expect(drawn.cells.length).toBeGreaterThanOrEqual(4);
    // MAP_MIN_CELL_COUNT (3): the citizens alone are counted, never drawn.
    expect(Math.min(...drawn.cells)).toBeGreaterThanOrEqual(3);
    expect(drawn.cells.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(CITIZENS.length - LONERS.length);
    expect(drawn.connections).toEqual(frame.connections.filter((c) => c.lat !== null).map((c) => c.id));
    expect(frame.zips!.length).toBeGreaterThan(50);
    expect(frame.zips!.every((z) => z[3] === 'local')).toBe(true);

    // An officer leaving the index leaves the map.
    clients[2].setAvailable(false);
    await page.waitForFunction((n) => document.querySelectorAll('path.beacon-officer').length === n, OFFICERS.length - 1, { timeout: 20_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'map.png') });
    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  });

  it('refuses the page without a valid operator token; serves its assets with a strict policy', async () => {
    const url = `${beacon.orchestratorUrl}/map`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(`${url}?token=${await token('citizen', 'c-9')}`)).status).toBe(401);
    expect((await fetch(`${url}?token=not.a.jwt`)).status).toBe(401);
    const ok = await fetch(url, { headers: { authorization: `Bearer ${await token('operator', 'ops-2')}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-security-policy')).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    // The operator role opens nothing else.
    const r = await fetch(`${beacon.orchestratorUrl}/v1/citizens/socket?lat=40.7&lng=-73.9`, {
      headers: { authorization: `Bearer ${await token('operator', 'ops-2')}` },
    });
    expect([401, 403]).toContain(r.status);
    // Assets: a fixed list; nothing else under the prefix, no path reaches the file system.
    const js = await fetch(`${url}/assets/leaflet.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toContain('javascript');
    expect(await js.text()).toContain('Leaflet');
    for (const bad of ['package.json', '..%2f..%2fpackage.json', 'images/../leaflet.js.map', 'leaflet-src.js']) {
      expect((await fetch(`${url}/assets/${bad}`)).status, bad).toBe(404);
    }
  });
});
