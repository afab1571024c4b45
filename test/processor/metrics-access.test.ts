// Who may read /metrics, through real HTTP: the processor's device port answers 404 unless
// METRICS_TOKEN is set (and then only to that bearer, 401 otherwise), never with METRICS_PORT;
// the METRICS_PORT listener serves /metrics and /healthz (bearer too when a token is set); the
// orchestrator's /metrics requires the token when it is set. Hostile headers: wrong scheme, near
// misses of the token, huge, raw bytes; none gets in and none breaks the server.
import { connect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry, Counter } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { startEmbedded, type Embedded } from '../../src/embedded.js';
import { createLogger } from '../../src/log.js';
import { startMetricsServer, type MetricsServer } from '../../src/processor/index.js';
import { startFixture, type Fixture } from './fixture.js';

const TOKEN = 'metrics-access-test-token-0123456789';

/**
 * One raw HTTP/1.1 request; the status code, or 'closed' when the server hung up (or kept quiet:
 * uWS neither answers nor closes a request with control bytes in a header) without one.
 */
function raw(port: number, head: string | Buffer): Promise<number | 'closed'> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (v: number | 'closed') => {
      sock.destroy();
      resolve(v);
    };
    sock.on('connect', () => sock.write(head));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(buf);
      if (m) done(Number(m[1]));
    });
    sock.on('error', () => done('closed'));
    sock.on('close', () => done('closed'));
    sock.setTimeout(2000, () => done('closed'));
  });
}

const get = (port: number, path: string, authorization?: string) =>
  fetch(`http://127.0.0.1:${port}${path}`, { headers: authorization === undefined ? {} : { authorization } });

/** The bad Authorization headers every protected /metrics must refuse with 401. */
const WRONG = [
  '',
  'Bearer',
  'Bearer ',
  `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`,
  TOKEN,
  `Token ${TOKEN}`,
  `Bearer ${TOKEN.slice(0, -1)}`,
  `Bearer ${TOKEN}x`,
  `Bearer ${TOKEN.slice(0, -1)}X`,
  `Bearer ${TOKEN} ${TOKEN}`,
  `Bearer x, Bearer ${TOKEN}`,
  `Bearer ${'a'.repeat(3000)}`,
];

/** Checks 401 for every wrong header, then 200 for the right one; the server survives hostile raw requests. */
async function checkProtected(port: number, body: RegExp): Promise<void> {
  for (const h of WRONG) {
    const r = await get(port, '/metrics', h);
    expect(r.status, JSON.stringify(h.slice(0, 40))).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
    const text = await r.text();
    expect(JSON.parse(text)).toMatchObject({ error: 'unauthorized' });
    expect(text).not.toMatch(body);
  }
  expect((await get(port, '/metrics')).status).toBe(401);
  // Header too large for the server: refused one way or another, never 200.
  expect(await raw(port, `GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'b'.repeat(100_000)}\r\n\r\n`)).not.toBe(200);
  expect(
    await raw(
      port,
      Buffer.concat([Buffer.from('GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe'), Buffer.from([0, 1, 2]), Buffer.from('\r\n\r\n')]),
    ),
  ).not.toBe(200);
  expect(await raw(port, `GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`)).not.toBe(200);
  // Still serving, and the right token (scheme case-insensitive, RFC 7235) gets in.
  for (const h of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `Bearer  ${TOKEN}`]) {
    const ok = await get(port, '/metrics', h);
    expect(ok.status, h).toBe(200);
    expect(await ok.text()).toMatch(body);
  }
}

describe('processor device port', () => {
  let open: Fixture;
  let guarded: Fixture;
  let offPort: Fixture;
  beforeAll(async () => {
    open = await startFixture({ METRICS_TOKEN: undefined });
    guarded = await startFixture({ METRICS_TOKEN: TOKEN });
    offPort = await startFixture({ METRICS_TOKEN: TOKEN, METRICS_PORT: 0 });
  });
  afterAll(async () => {
    await Promise.all([open, guarded, offPort].map((f) => f?.close()));
  });

  it('answers /metrics 404 when no METRICS_TOKEN is set, whatever the header', async () => {
    for (const h of [undefined, `Bearer ${TOKEN}`, 'Bearer anything']) {
      const r = await get(open.processor.port, '/metrics', h);
      expect(r.status).toBe(404);
      expect(await r.json()).toEqual({ error: 'not_found', message: 'no such resource' });
    }
    expect((await get(open.processor.port, '/healthz')).status).toBe(200);
  });

  it('serves /metrics only to the METRICS_TOKEN bearer when it is set', async () => {
    await checkProtected(guarded.processor.port, /beacon_processor_sockets/);
    expect((await get(guarded.processor.port, '/healthz')).status).toBe(200);
  });

  it('never serves /metrics when METRICS_PORT is set (the role serves it there)', async () => {
    expect((await get(offPort.processor.port, '/metrics', `Bearer ${TOKEN}`)).status).toBe(404);
  });
});

describe('METRICS_PORT listener', () => {
  const registry = new Registry();
  new Counter({ name: 'beacon_test_scrapes_total', help: 'x', registers: [registry] }).inc(3);
  let plain: MetricsServer;
  let guarded: MetricsServer;
  beforeAll(async () => {
    const logger = createLogger('silent', 'test');
    plain = await startMetricsServer({ host: '127.0.0.1', port: 0, registry, logger });
    guarded = await startMetricsServer({ host: '127.0.0.1', port: 0, registry, token: TOKEN, logger });
  });
  afterAll(async () => {
    await plain?.close();
    await guarded?.close();
  });

  it('serves /metrics and /healthz, 404 for anything else', async () => {
    expect(plain.url).toBe(`http://127.0.0.1:${plain.port}/metrics`);
    const m = await get(plain.port, '/metrics');
    expect(m.status).toBe(200);
    expect(m.headers.get('content-type')).toContain('text/plain');
    expect(await m.text()).toContain('beacon_test_scrapes_total 3');
    expect(await (await get(plain.port, '/metrics?x=1')).text()).toContain('beacon_test_scrapes_total 3');
    expect(await (await get(plain.port, '/healthz')).json()).toEqual({ ok: true });
    for (const path of ['/', '/ws', '/metricsx', '/metrics/', '/%00', '/..%2f']) expect((await get(plain.port, path)).status, path).toBe(404);
    expect((await fetch(`http://127.0.0.1:${plain.port}/metrics`, { method: 'POST', body: 'x' })).status).toBe(404);
    expect(await raw(plain.port, 'GARBAGE\r\n\r\n')).toBe(400);
  });

  it('requires the bearer token too when METRICS_TOKEN is set', async () => {
    await checkProtected(guarded.port, /beacon_test_scrapes_total 3/);
    expect((await get(guarded.port, '/healthz')).status).toBe(200);
  });
});

describe('orchestrator /metrics (embedded, real HTTP)', () => {
  let dir: string;
  let e: Embedded;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'beacon-metrics-'));
    const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', PROCESSOR_PORT: '0', DATA_DIR: dir, METRICS_TOKEN: TOKEN });
    e = await startEmbedded(config, { logger: createLogger('silent', 'test') });
  });
  afterAll(async () => {
    await e?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('requires the METRICS_TOKEN bearer and then carries both services', async () => {
    const port = Number(new URL(e.orchestratorUrl).port);
    await checkProtected(port, /beacon_orchestrator_nodes[\s\S]*beacon_processor_sockets/);
    // The other operations routes stay open (probes), the processor port serves it too (same token).
    expect((await get(port, '/healthz')).status).toBe(200);
    expect((await get(port, '/readyz')).status).toBe(200);
    expect((await get(e.processor.port, '/metrics', `Bearer ${TOKEN}`)).status).toBe(200);
  });
});

describe('METRICS_TOKEN validation', () => {
  const problem = (token: string) => {
    try {
      loadConfig({ METRICS_TOKEN: token });
      return '';
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
  };
  it('needs 16 visible ASCII characters, without echoing the value', () => {
    expect(problem('short-token')).toContain('METRICS_TOKEN must be at least 16');
    expect(problem('short-token')).not.toContain('short-token');
    expect(problem('a token with spaces inside')).toContain('METRICS_TOKEN');
    expect(problem('tökentökentökentöken')).toContain('METRICS_TOKEN');
    expect(problem(TOKEN)).toBe('');
    expect(loadConfig({}).METRICS_TOKEN).toBeUndefined();
  });

  it('METRICS_PORT: unset is off, 0 is any free port, anything else must be a port', () => {
    expect(loadConfig({}).METRICS_PORT).toBeUndefined();
    expect(loadConfig({ METRICS_PORT: '0' }).METRICS_PORT).toBe(0);
    expect(loadConfig({ METRICS_PORT: '9464' }).METRICS_PORT).toBe(9464);
    for (const bad of ['-1', '65536', 'nine', '1.5', 'NaN']) expect(() => loadConfig({ METRICS_PORT: bad }), bad).toThrow(ConfigError);
  });
});
