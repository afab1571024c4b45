// The operations map in headless Chromium from an HTTPS orchestrator: the page builds its feed
// URL from its own location, so on https:// it must open wss:// and go live. The test CA is not
// in Chromium's store, so certificate errors are ignored for this browser context only (the
// handshake itself, and the fact that no ws:// is attempted, are what is checked).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintDeviceToken } from '../../src/auth/index.js';
import { loadConfig } from '../../src/config.js';
import { startEmbedded, type Embedded } from '../../src/embedded.js';
import { createLogger } from '../../src/log.js';
import type { Role } from '../../src/protocol/index.js';
import { makeCerts, type TestCerts } from '../helpers/tls.js';

const CHROMIUM = '/usr/bin/chromium';
let certs: TestCerts;
let dataDir: string;
let beacon: Embedded;
let browser: Browser | undefined;

beforeAll(async () => {
  certs = await makeCerts();
  dataDir = await mkdtemp(join(tmpdir(), 'beacon-tls-map-'));
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    PROCESSOR_PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    TLS_CERT_FILE: certs.serverCert,
    TLS_KEY_FILE: certs.serverKey,
  });
  beacon = await startEmbedded(config, { logger: createLogger('silent', 'test') });
});
afterAll(async () => {
  await browser?.close();
  await beacon?.close();
  await rm(dataDir, { recursive: true, force: true });
  certs?.dispose();
});

// No skip when Chromium is missing: the launch fails and says so (scripts/test-deps.sh installs it).
describe('operations map over HTTPS in headless Chromium', { timeout: 90_000 }, () => {
  it('loads over https:// and its feed goes live over wss://', async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page = await browser.newPage({ ignoreHTTPSErrors: true });
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));

    const op = await mintDeviceToken(beacon.deviceKeys.secret!, { role: 'operator' as Role, sub: 'ops-https' });
    const res = await page.goto(`${beacon.orchestratorUrl}/map?token=${op}`);
    expect(res?.status()).toBe(200);
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.includes('ops-https'), undefined, { timeout: 20_000 });
    expect(await page.locator('#status').getAttribute('class')).toBe('ok');
    expect(sockets).toEqual([`${beacon.orchestratorUrl.replace('https://', 'wss://')}/map/feed`]);
    expect(pageErrors).toEqual([]);
  });
});
