import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry, Counter } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { type NodeInfo, type ProcessorDirectory } from '../../src/coordination/index.js';
import { MemoryBus, SingleNodeDirectory } from '../../src/adapters/memory/index.js';
import { createOrchestrator } from '../../src/orchestrator/index.js';
import { FileConnectionStream } from '../../src/adapters/memory/index.js';
import { resolveDeviceKeys, mintDeviceToken } from '../../src/auth/index.js';
import { HTTP_PATHS } from '../../src/protocol/index.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE, SECRET, startOrch, TIMES_SQUARE, type OrchFixture } from './fixture.js';

let f: OrchFixture | undefined;
afterEach(async () => {
  await f?.shutdown();
  f = undefined;
});

describe('operations endpoints', () => {
  it('/healthz answers 200 always, /readyz 200 when a node is known', async () => {
    f = await startOrch();
    expect((await f.orch.app.inject({ url: HTTP_PATHS.health })).json()).toEqual({ ok: true });
    const r = await f.orch.app.inject({ url: HTTP_PATHS.ready });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ ready: true });
  });

  it('/readyz answers 503 not_ready without nodes, while draining, and when a plugged-in check fails or hangs', async () => {
    let nodes: NodeInfo[] = [];
    const dir: ProcessorDirectory = { ownerOf: () => nodes[0], nodes: () => nodes };
    f = await startOrch({}, { directory: dir });
    const ready = async () => {
      const r = await f!.orch.app.inject({ url: HTTP_PATHS.ready });
      return { status: r.statusCode, body: r.json() as { error?: string; message?: string } };
    };
    expect(await ready()).toMatchObject({ status: 503, body: { error: 'not_ready' } });
    expect((await ready()).body.message).toContain('processor_nodes');
    nodes = [NODE];
    expect((await ready()).status).toBe(200);
    let redisUp = true;
    f.orch.readiness.add({ name: 'redis', check: async () => redisUp });
    expect((await ready()).status).toBe(200);
    redisUp = false;
    expect(await ready()).toMatchObject({ status: 503, body: { message: 'not ready: redis' } });
    redisUp = true;
    f.orch.readiness.add({
      name: 'throws',
      check: () => {
        throw new Error('boom');
      },
    });
    expect(await ready()).toMatchObject({ status: 503, body: { message: 'not ready: throws' } });
  });

  it('/readyz answers 503 once draining; /healthz still 200', async () => {
    f = await startOrch();
    f.orch.setDraining();
    expect((await f.orch.app.inject({ url: HTTP_PATHS.ready })).statusCode).toBe(503);
    expect((await f.orch.app.inject({ url: HTTP_PATHS.health })).statusCode).toBe(200);
  });

  it('/metrics serves Prometheus text with request counts, and appends extra registries', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'beacon-ops-'));
    const extra = new Registry();
    new Counter({ name: 'beacon_processor_test_total', help: 'x', registers: [extra] }).inc(3);
    const keys = await resolveDeviceKeys({ JWT_SECRET: SECRET, JWT_PUBLIC_KEY: undefined, JWKS_URL: undefined, DATA_DIR: dataDir }, { generate: false });
    const stream = await FileConnectionStream.open(join(dataDir, 'established'));
    const orch = await createOrchestrator({
      config: loadConfig({}),
      bus: new MemoryBus(),
      directory: new SingleNodeDirectory(NODE),
      deviceKeys: keys,
      ticketSecret: Buffer.alloc(32, 1),
      stream,
      logger: pino({ level: 'silent' }),
      extraRegistries: [extra],
    });
    try {
      const token = await mintDeviceToken(keys.secret!, { role: 'citizen', sub: 'c-1' });
      await orch.app.inject({
        url: `${HTTP_PATHS.citizenSocket}?lat=${TIMES_SQUARE.lat}&lng=${TIMES_SQUARE.lng}&zip=10036`,
        headers: { authorization: `Bearer ${token}` },
      });
      const res = await orch.app.inject({ url: HTTP_PATHS.metrics });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toContain('text/plain');
      expect(res.body).toMatch(/beacon_orchestrator_http_requests_total\{route="\/v1\/citizens\/socket",status="200"\} 1/);
      expect(res.body).toMatch(/beacon_orchestrator_assignments_total\{role="citizen"\} 1/);
      expect(res.body).toMatch(/beacon_orchestrator_nodes 1/);
      expect(res.body).toMatch(/beacon_processor_test_total 3/);
      expect(res.body).toMatch(/process_cpu_user_seconds_total/);
      // The query (coordinates) never becomes a label.
      expect(res.body).not.toContain('40.758');
    } finally {
      await orch.close();
      await stream.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('serves the OpenAPI document built from the route schemas, and the docs page with local assets', async () => {
    f = await startOrch();
    const doc = (await f.orch.app.inject({ url: '/openapi.json' })).json() as {
      openapi: string;
      paths: Record<string, Record<string, { parameters?: { name: string }[] }>>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/officers/socket', '/v1/citizens/socket', '/v1/connections', '/v1/connections/{id}', '/healthz', '/readyz', '/metrics']),
    );
    expect(doc.paths['/v1/officers/socket'].get.parameters?.map((p) => p.name)).toEqual(expect.arrayContaining(['lat', 'lng', 'zip']));
    const page = await f.orch.app.inject({ url: '/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('swagger-ui');
    // Every script and stylesheet comes from this server (works offline).
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(assets.length).toBeGreaterThan(0);
    for (const a of assets) expect(a).not.toMatch(/^https?:/);
    const bundle = await f.orch.app.inject({ url: '/docs/static/swagger-ui-bundle.js' });
    expect(bundle.statusCode).toBe(200);
  });
});

describe('logging', () => {
  it('never logs the query string (coordinates) or the Authorization header', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const dataDir = await mkdtemp(join(tmpdir(), 'beacon-log-'));
    const keys = await resolveDeviceKeys({ JWT_SECRET: SECRET, JWT_PUBLIC_KEY: undefined, JWKS_URL: undefined, DATA_DIR: dataDir }, { generate: false });
    const stream = await FileConnectionStream.open(join(dataDir, 'established'));
    const orch = await createOrchestrator({
      config: loadConfig({}),
      bus: new MemoryBus(),
      directory: new SingleNodeDirectory(NODE),
      deviceKeys: keys,
      ticketSecret: Buffer.alloc(32, 1),
      stream,
      logger: pino({ level: 'trace' }, sink),
      processMetrics: false,
    });
    try {
      const token = await mintDeviceToken(keys.secret!, { role: 'citizen', sub: 'c-1' });
      const headers = { authorization: `Bearer ${token}` };
      await orch.app.inject({ url: `${HTTP_PATHS.citizenSocket}?lat=40.7581234&lng=-73.9855678`, headers });
      await orch.app.inject({ url: `${HTTP_PATHS.citizenSocket}?lat=40.7581234&lng=999`, headers });
      await orch.app.inject({ url: `${HTTP_PATHS.officerSocket}?lat=40.7581234&lng=-73.9855678`, headers });
      await orch.app.inject({ url: `/nope?lat=40.7581234` });
      const text = lines.join('');
      expect(text).toContain('/v1/citizens/socket'); // requests are logged, by route
      expect(text).not.toContain('40.758');
      expect(text).not.toContain('73.985');
      expect(text).not.toContain(token);
      expect(text).not.toContain(token.split('.')[2]);
      expect(text.toLowerCase()).not.toContain('bearer');
    } finally {
      await orch.close();
      await stream.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
