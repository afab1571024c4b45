// Redis stopped under a running orchestrator (a real process on a real redis-server): every route
// that needs Redis answers 503 `not_ready` with Retry-After, never 500; routes served from memory
// keep answering; after the restart everything works again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_PATHS, type Role } from '../../src/protocol/index.js';
import { readyStatus, startDeployment, type Deployment } from './fixture.js';
import { connectDevice, token } from './nodes.js';
import { waitFor } from '../helpers/wait.js';

const POS = { lat: 40.7484, lng: -73.9857 };

async function call(base: string, method: string, path: string, tok: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${tok}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : text };
}

describe('Redis down: 503 not_ready, never 500', () => {
  let d: Deployment | undefined;
  beforeAll(async () => {
    d = await startDeployment({ processors: 1 });
  }, 60_000);
  afterAll(async () => {
    await d?.stop();
  });

  it('answers 503 not_ready with Retry-After on every Redis route while Redis is down, and recovers', async () => {
    const orch = d!.orchestrators[0]!.url;
    const officer = await connectDevice(orch, 'officer', 'off-down', POS);
    const citizenTok = await token('citizen', 'cit-down');
    const officerTok = await token('officer', 'off-down');
    const operatorTok = await token('operator' as Role, 'ops-1');
    const created = await call(orch, 'POST', HTTP_PATHS.connections, citizenTok, { officerId: 'off-down' });
    expect(created.status).toBe(202);
    const id = (created.body as { id: string }).id;

    await d!.redis.stop();
    await waitFor(async () => (await readyStatus(orch)) === 503, 15_000, '/readyz 503 while Redis is down');

    const needRedis = [
      () => call(orch, 'POST', HTTP_PATHS.connections, citizenTok, { officerId: 'off-down' }),
      () => call(orch, 'GET', `${HTTP_PATHS.connections}/${id}`, citizenTok),
      () => call(orch, 'GET', `${HTTP_PATHS.connections}/${id}`, officerTok),
      () => call(orch, 'GET', `${HTTP_PATHS.connections}/no-such-id`, officerTok),
    ];
    for (const req of needRedis) {
      const r = await req();
      expect(r.status).toBe(503);
      expect((r.body as { error: string }).error).toBe('not_ready');
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
    }
    // Served from memory (the last known processor set; tickets need no Redis): never a 500.
    for (const [path, tok] of [
      [`${HTTP_PATHS.officerSocket}?lat=${POS.lat}&lng=${POS.lng}`, officerTok],
      [`${HTTP_PATHS.citizenSocket}?lat=${POS.lat}&lng=${POS.lng}`, citizenTok],
      [`/map?token=${operatorTok}`, operatorTok],
      [HTTP_PATHS.metrics, operatorTok],
    ] as const) {
      const r = await call(orch, 'GET', path, tok);
      expect(r.status, path).toBe(200);
    }

    await d!.redis.restart();
    await waitFor(async () => (await readyStatus(orch)) === 200, 30_000, '/readyz 200 after Redis is back');
    // The dataset went with the restart: the officer's busy record is announced again. Each try is
    // a new citizen: the quota is REQUESTS_PER_MINUTE (6) per citizen, and every POST counts, so
    // one citizen polling a slow re-announce ran out of quota and then only ever got 429.
    let tries = 0;
    await waitFor(
      async () => (await call(orch, 'POST', HTTP_PATHS.connections, await token('citizen', `cit-again-${++tries}`), { officerId: 'off-down' })).status === 202,
      15_000,
      'POST works again',
    );
    const again = await call(orch, 'GET', `${HTTP_PATHS.connections}/no-such-id`, officerTok);
    expect(again.status).toBe(404);
    officer.client.close();
  }, 90_000);
});
