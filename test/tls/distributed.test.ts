// Distributed mode encrypted end to end: a TLS-only redis-server (`--port 0`: no plaintext port at
// all, and `--tls-auth-clients yes`: the roles must present REDIS_TLS_CERT_FILE), an orchestrator
// serving HTTPS and two processors serving WSS, as OS processes configured only by the environment.
// A device gets an assignment and a nearest, across nodes (officer replication over rediss://),
// and a connection request travels the Redis bus and lands in the Redis Stream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_PATHS, type Role, type SocketAssignment } from '../../src/protocol/index.js';
import { spawnNode, token, type NodeProcess } from '../distributed/nodes.js';
import { startTlsRedis, type TlsRedis } from '../helpers/redis-tls.js';
import { httpsFetch, makeCerts, type TestCerts } from '../helpers/tls.js';
import { TestClient } from '../helpers/ws-client.js';
import { waitFor } from '../helpers/wait.js';

const TIMEOUT_MS = 120_000;
let certs: TestCerts;
let redis: TlsRedis;
let orch: NodeProcess;
const processors: NodeProcess[] = [];
const clients: TestClient[] = [];

beforeAll(async () => {
  certs = await makeCerts();
  redis = await startTlsRedis(certs, { authClients: true });
  const env = {
    REDIS_URL: redis.url,
    REDIS_TLS_CA_FILE: certs.caCert,
    REDIS_TLS_CERT_FILE: certs.clientCert,
    REDIS_TLS_KEY_FILE: certs.clientKey,
    TLS_CERT_FILE: certs.serverCert,
    TLS_KEY_FILE: certs.serverKey,
    REDIS_CLUSTER: '0',
  };
  processors.push(...(await Promise.all([spawnNode('processor', { ...env, NODE_ID: 'p1' }), spawnNode('processor', { ...env, NODE_ID: 'p2' })])));
  orch = await spawnNode('orchestrator', env);
}, TIMEOUT_MS);
afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all([orch, ...processors].filter(Boolean).map((n) => n.kill9()));
  await redis?.dispose();
  certs?.dispose();
});

async function assign(role: Role, sub: string, pos: { lat: number; lng: number }): Promise<SocketAssignment> {
  const path = role === 'officer' ? HTTP_PATHS.officerSocket : HTTP_PATHS.citizenSocket;
  const r = await httpsFetch(`${orch.url}${path}?lat=${pos.lat}&lng=${pos.lng}`, {
    ca: certs.ca,
    headers: { authorization: `Bearer ${await token(role, sub, { name: sub })}` },
  });
  expect(r.status, r.body).toBe(200);
  return JSON.parse(r.body) as SocketAssignment;
}

async function open(a: SocketAssignment): Promise<TestClient> {
  const c = await TestClient.open(a.url, { ca: certs.ca });
  clients.push(c);
  await c.waitFor('hello');
  return c;
}

describe('distributed mode over rediss://, HTTPS and WSS', { timeout: TIMEOUT_MS }, () => {
  it('starts every role on TLS and registers the processors through TLS Redis', async () => {
    expect(orch.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    for (const p of processors) expect(p.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/ws$/);
    await waitFor(
      async () => /^beacon_orchestrator_nodes 2$/m.test((await httpsFetch(`${orch.url}/metrics`, { ca: certs.ca }).catch(() => ({ body: '' }))).body),
      30_000,
      'two processors in the orchestrator directory',
    );
    expect((await httpsFetch(`${orch.url}/readyz`, { ca: certs.ca })).status).toBe(200);
    // Every Beacon client Redis sees came in with the test client certificate (there is no other way in).
    expect(await redis.cli('CLIENT', 'LIST')).toMatch(/name=beacon-orch/);
  });

  it('gives a citizen its nearest officer held by another node, and relays a connection request', async () => {
    const officerPos = { lat: 40.758, lng: -73.9855 };
    const oa = await assign('officer', 'o-tls', officerPos);
    expect(oa.url.startsWith('wss://')).toBe(true);
    const officer = await open(oa);
    officer.json({ t: 'loc', ...officerPos });
    await officer.sync();

    // A citizen within a few hundred metres whose zip another node owns: its nearest crosses Redis.
    let citizen: TestClient | undefined;
    let citizenPos = officerPos;
    for (let i = 0; i < 40 && !citizen; i++) {
      const pos = { lat: officerPos.lat + (((i % 8) - 4) * 350) / 111_195, lng: officerPos.lng + ((Math.floor(i / 8) - 2) * 350) / 84_000 };
      const a = await assign('citizen', `c-probe-${i}`, pos);
      if (a.node !== oa.node) {
        citizen = await open(a);
        citizenPos = pos;
      }
    }
    expect(citizen, 'a nearby zip owned by the other node').toBeDefined();
    citizen!.json({ t: 'loc', ...citizenPos });
    const n = await citizen!.waitFor('nearest', (m) => m.officer?.id === 'o-tls', 0, 20_000);
    expect(n.dist).toBeGreaterThan(0);

    const citizenId = (citizen!.last('hello') as { id: string }).id;
    const tok = await token('citizen', citizenId, { name: citizenId });
    const posted = await httpsFetch(`${orch.url}${HTTP_PATHS.connections}`, {
      ca: certs.ca,
      method: 'POST',
      headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json' },
      body: JSON.stringify({ officerId: 'o-tls' }),
    });
    expect(posted.status, posted.body).toBe(202);
    const { id } = JSON.parse(posted.body) as { id: string };
    await officer.waitFor('req', (m) => m.id === id, 0, 10_000);
    officer.json({ t: 'resp', id, accept: true });
    expect(await citizen!.waitFor('conn', (m) => m.id === id, 0, 10_000)).toMatchObject({ status: 'accepted', officerId: 'o-tls', citizenId });
    await waitFor(async () => (await redis.cli('XRANGE', 'beacon:{beacon:established}', '-', '+')).includes(id), 10_000, 'the stream entry');
  });
});
