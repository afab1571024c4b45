// Embedded mode with TLS_CERT_FILE + TLS_KEY_FILE, over real sockets: HTTPS assignment hands out
// wss:// URLs, a client trusting the test CA gets hello and nearest, the operations endpoints and
// the map feed work over TLS, nothing answers in plaintext, and a client without the CA is
// refused by certificate verification.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintDeviceToken } from '../../src/auth/index.js';
import { loadConfig } from '../../src/config.js';
import { startEmbedded, type Embedded } from '../../src/embedded.js';
import { createLogger } from '../../src/log.js';
import { HTTP_PATHS, type Role, type SocketAssignment } from '../../src/protocol/index.js';
import { httpsFetch, makeCerts, type TestCerts } from '../helpers/tls.js';
import { TestClient } from '../helpers/ws-client.js';
import { waitFor } from '../helpers/wait.js';

const OFFICER = { lat: 40.758, lng: -73.9855 };
const CITIZEN = { lat: 40.758 + 100 / 111_195, lng: -73.9855 };
/** What Node reports for a server certificate signed by a CA it does not trust. */
const UNTRUSTED = /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT_LOCALLY/;

let certs: TestCerts;
let dataDir: string;
let beacon: Embedded;
const clients: TestClient[] = [];

beforeAll(async () => {
  certs = await makeCerts();
  dataDir = await mkdtemp(join(tmpdir(), 'beacon-tls-embedded-'));
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
  for (const c of clients) c.close();
  await beacon?.close();
  await rm(dataDir, { recursive: true, force: true });
  certs?.dispose();
});

const token = (role: Role | 'operator', sub: string) => mintDeviceToken(beacon.deviceKeys.secret!, { role: role as Role, sub, profile: { name: sub } });

async function assign(role: Role, sub: string, pos: { lat: number; lng: number }): Promise<SocketAssignment> {
  const path = role === 'officer' ? HTTP_PATHS.officerSocket : HTTP_PATHS.citizenSocket;
  const r = await httpsFetch(`${beacon.orchestratorUrl}${path}?lat=${pos.lat}&lng=${pos.lng}`, {
    ca: certs.ca,
    headers: { authorization: `Bearer ${await token(role, sub)}` },
  });
  expect(r.status, r.body).toBe(200);
  return JSON.parse(r.body) as SocketAssignment;
}

async function open(url: string): Promise<TestClient> {
  const c = await TestClient.open(url, { ca: certs.ca });
  clients.push(c);
  return c;
}

/** The error an attempt fails with (fails the test when it succeeds). */
async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    const err = e as Error & { code?: string; cause?: { code?: string; message?: string } };
    return `${err.code ?? ''} ${err.cause?.code ?? ''} ${err.message} ${err.cause?.message ?? ''}`;
  }
  throw new Error('it succeeded');
}

/** Raw bytes a plaintext client gets back from `port` after sending `request` (until the server closes). */
function plaintextAnswer(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host: '127.0.0.1', port });
    let got = Buffer.alloc(0);
    s.setTimeout(10_000, () => reject(new Error('the server kept a plaintext connection open')));
    s.on('connect', () => s.write(request));
    s.on('data', (d) => (got = Buffer.concat([got, d])));
    s.on('close', () => resolve(got.toString('latin1')));
    s.on('error', () => resolve(got.toString('latin1')));
  });
}

describe('embedded mode over TLS', () => {
  it('serves https:// and hands out wss:// URLs', async () => {
    expect(beacon.orchestratorUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(beacon.processor.url).toBe(`wss://127.0.0.1:${beacon.processor.port}/ws`);
    const a = await assign('citizen', 'c-url', CITIZEN);
    expect(a.url.startsWith(`wss://127.0.0.1:${beacon.processor.port}/ws?ticket=`)).toBe(true);
  });

  it('a client trusting the CA opens the wss:// socket and gets hello, then nearest', async () => {
    const officer = await open((await assign('officer', 'o-tls', OFFICER)).url);
    await officer.waitFor('hello');
    officer.json({ t: 'loc', ...OFFICER });
    await officer.sync();

    const citizen = await open((await assign('citizen', 'c-tls', CITIZEN)).url);
    expect((await citizen.waitFor('hello')).id).toBe('c-tls');
    citizen.json({ t: 'loc', ...CITIZEN });
    const n = await citizen.waitFor('nearest', (m) => m.officer !== null);
    expect(n.officer?.id).toBe('o-tls');
    expect(n.dist).toBeGreaterThan(90);
    expect(n.dist).toBeLessThan(110);
  });

  it('answers /healthz, /readyz, /metrics and /openapi.json over HTTPS, on both ports where they are served', async () => {
    const o = beacon.orchestratorUrl;
    const p = `https://127.0.0.1:${beacon.processor.port}`;
    expect((await httpsFetch(`${o}/healthz`, { ca: certs.ca })).status).toBe(200);
    expect((await httpsFetch(`${o}/readyz`, { ca: certs.ca })).status).toBe(200);
    const metrics = await httpsFetch(`${o}/metrics`, { ca: certs.ca });
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('beacon_processor_sockets');
    expect(JSON.parse((await httpsFetch(`${o}/openapi.json`, { ca: certs.ca })).body).openapi).toMatch(/^3\./);
    expect(await httpsFetch(`${p}/healthz`, { ca: certs.ca })).toEqual({ status: 200, body: '{"ok":true}' });
    // Devices reach the processor's port: its /metrics is not served there (the orchestrator's carries it).
    expect((await httpsFetch(`${p}/metrics`, { ca: certs.ca })).status).toBe(404);
  });

  it('has no plaintext service: http:// and ws:// to either port get no answer', async () => {
    const oport = Number(new URL(beacon.orchestratorUrl).port);
    const pport = beacon.processor.port;
    expect(await failure(fetch(`http://127.0.0.1:${oport}/healthz`))).toMatch(/fetch failed/);
    expect(await failure(fetch(`http://127.0.0.1:${pport}/healthz`))).toMatch(/fetch failed/);
    // Nothing that looks like HTTP comes back, the server just drops the connection.
    for (const port of [oport, pport]) expect(await plaintextAnswer(port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')).not.toMatch(/HTTP\//);
    const plainWs = beacon.processor.url.replace('wss://', 'ws://');
    expect(await failure(TestClient.open(`${plainWs}?ticket=x`))).not.toMatch(/upgrade refused/);
  });

  it('refuses a client that does not trust the CA (certificate verification)', async () => {
    const a = await assign('citizen', 'c-no-ca', CITIZEN);
    // Default trust store (the test CA is not in it), then an unrelated CA.
    expect(await failure(fetch(`${beacon.orchestratorUrl}/healthz`))).toMatch(UNTRUSTED);
    expect(await failure(httpsFetch(`${beacon.orchestratorUrl}/healthz`))).toMatch(UNTRUSTED);
    const otherCa = readFileSync(certs.otherCaCert);
    expect(await failure(httpsFetch(`${beacon.orchestratorUrl}/healthz`, { ca: otherCa }))).toMatch(UNTRUSTED);
    expect(await failure(TestClient.open(a.url))).toMatch(UNTRUSTED);
    expect(await failure(TestClient.open(a.url, { ca: otherCa }))).toMatch(UNTRUSTED);
    // The ticket was not used up by the refused handshakes: TLS failed before any HTTP.
    const c = await open(a.url);
    expect((await c.waitFor('hello')).id).toBe('c-no-ca');
  });

  it('serves the operations map page over HTTPS and its feed over wss://', async () => {
    const op = await token('operator', 'ops-tls');
    const page = await httpsFetch(`${beacon.orchestratorUrl}/map?token=${op}`, { ca: certs.ca });
    expect(page.status).toBe(200);
    // The page's script (served beside it, no inline code) derives its feed URL from the page's
    // own location: wss:// on an https:// page.
    expect(page.body).toContain('<script src="/map/assets/map.js"></script>');
    const script = await httpsFetch(`${beacon.orchestratorUrl}/map/assets/map.js`, { ca: certs.ca });
    expect(script.status).toBe(200);
    expect(script.body).toContain("(location.protocol==='https:'?'wss://':'ws://')+location.host+'/map/feed'");

    const feedUrl = `${beacon.orchestratorUrl.replace('https://', 'wss://')}/map/feed`;
    const ws = new WebSocket(feedUrl, { ca: certs.ca });
    const frames: Record<string, unknown>[] = [];
    ws.on('message', (d) => frames.push(JSON.parse(String(d)) as Record<string, unknown>));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ t: 'auth', token: op }));
    expect(await waitFor(() => frames.find((f) => f.t === 'hello'), 5000, 'the feed hello')).toMatchObject({ operator: 'ops-tls', mode: 'embedded' });
    ws.send(JSON.stringify({ t: 'view', w: -74.1, s: 40.6, e: -73.8, n: 40.9 }));
    // The officer of the earlier test is in the live index the feed reads.
    const state = await waitFor(() => frames.find((f) => f.t === 'state'), 5000, 'a state frame');
    expect(state).toMatchObject({ mode: 'embedded', officerTotal: 1 });
    ws.terminate();

    // And not without the CA.
    expect(
      await failure(
        new Promise((resolve, reject) => {
          const bad = new WebSocket(feedUrl);
          bad.once('open', resolve);
          bad.once('error', reject);
        }),
      ),
    ).toMatch(UNTRUSTED);
  });
});
