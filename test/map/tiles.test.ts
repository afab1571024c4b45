// MAP_TILES_URL: validated at start; when set, the page draws that raster base layer (from a tile
// server of the test's own on loopback) instead of the outlines, and its policy admits that origin only.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintDeviceToken } from '../../src/auth/index.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { startEmbedded, type Embedded } from '../../src/embedded.js';
import { createLogger } from '../../src/log.js';
import { mapCsp } from '../../src/map/page.js';
import type { Role } from '../../src/protocol/index.js';
import { launchChromium } from './browser.js';

/** A 1×1 grey PNG. */
const TILE = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNoAAAAggCBd81ytgAAAABJRU5ErkJggg==', 'base64');

describe('MAP_TILES_URL', () => {
  it('must be http(s) with {z}, {x} and {y}', () => {
    const load = (v: string) => loadConfig({ MAP_TILES_URL: v }).MAP_TILES_URL;
    expect(load('https://tile.example.org/{z}/{x}/{y}.png')).toBe('https://tile.example.org/{z}/{x}/{y}.png');
    expect(load('https://{s}.tile.example.org/{z}/{x}/{y}.png')).toBe('https://{s}.tile.example.org/{z}/{x}/{y}.png');
    expect(load('')).toBeUndefined();
    for (const bad of [
      'https://tile.example.org/{z}/{x}.png',
      'ftp://tile.example.org/{z}/{x}/{y}.png',
      'tile.example.org/{z}/{x}/{y}',
      'javascript:{z}{x}{y}',
    ]) {
      expect(() => load(bad), bad).toThrow(ConfigError);
    }
    expect(() => load('https://tile.example.org/{z}/{x}.png')).toThrow(/MAP_TILES_URL.*must contain \{y\}/);
  });

  it('admits the tile origin (subdomains as *.) to img-src, nothing else', () => {
    expect(mapCsp({ url: 'https://tile.example.org/{z}/{x}/{y}.png' })).toContain("img-src 'self' data: https://tile.example.org;");
    expect(mapCsp({ url: 'https://{s}.tile.example.org/{z}/{x}/{y}.png' })).toContain("img-src 'self' data: https://*.tile.example.org;");
    expect(mapCsp({})).toContain("img-src 'self' data:;");
  });
});

describe('the map with a tile server', { timeout: 60_000 }, () => {
  let tiles: Server;
  let tileRequests: string[];
  let beacon: Embedded;
  let dataDir: string;
  let browser: Browser;

  beforeAll(async () => {
    tileRequests = [];
    tiles = createServer((req, res) => {
      tileRequests.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'image/png' }).end(TILE);
    });
    await new Promise<void>((r) => tiles.listen(0, '127.0.0.1', r));
    const port = (tiles.address() as { port: number }).port;
    dataDir = await mkdtemp(join(tmpdir(), 'beacon-tiles-'));
    const config = loadConfig({
      HOST: '127.0.0.1',
      PORT: '0',
      PROCESSOR_PORT: '0',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      MAP_TILES_URL: `http://127.0.0.1:${port}/{z}/{x}/{y}.png`,
      MAP_TILES_ATTRIBUTION: '© Test Tiles <b>contributors</b>',
    });
    beacon = await startEmbedded(config, { logger: createLogger('silent', 'test') });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await beacon?.close();
    tiles?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('loads the tiles at the view, shows the attribution, fetches no outlines', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    const token = await mintDeviceToken(beacon.deviceKeys.secret!, { role: 'operator' as Role, sub: 'ops-1' });
    await page.goto(`${beacon.orchestratorUrl}/map?token=${token}&lat=40.72&lng=-73.985&z=12`);
    await page.waitForFunction(() => document.querySelectorAll('img.leaflet-tile-loaded').length >= 4, undefined, { timeout: 20_000 });
    // The tile holding the view's centre at zoom 12: x = floor(4096 (lng + 180) / 360) = 1206, y = 1539.
    expect(tileRequests).toContain('/12/1206/1539.png');
    expect(tileRequests.every((u) => u.startsWith('/12/'))).toBe(true);
    expect(await page.locator('.leaflet-control-attribution').textContent()).toContain('© Test Tiles contributors');
    expect(await page.evaluate(() => document.body.dataset.outlines)).toBeUndefined();
    expect(problems).toEqual([]);
  });
});
