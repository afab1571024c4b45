// The operator feed (/map/feed) over a real websocket against embedded Beacon: authentication,
// viewport filtering, and hostile input (forged tokens, garbage, floods, huge frames).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cellToLatLng, latLngToCell } from 'h3-js';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config.js';
import { startEmbedded, type Embedded } from '../../src/embedded.js';
import { createLogger } from '../../src/log.js';
import { FEED_CLOSE, FEED_PATH, parseViewport } from '../../src/map/index.js';
import { FEED_MAX_UNAUTHENTICATED } from '../../src/map/feed.js';
import { CITIZEN_CELL_RES } from '../../src/map/state.js';
import { mintDeviceToken } from '../../src/auth/index.js';
import { HTTP_PATHS, type Role } from '../../src/protocol/index.js';
import { TestClient } from '../helpers/ws-client.js';
import { waitFor } from '../helpers/wait.js';

let dataDir: string;
let beacon: Embedded;
const sockets: (WebSocket | TestClient)[] = [];
const MANHATTAN = { t: 'view', w: -74.05, s: 40.68, e: -73.9, n: 40.82 };
const CHICAGO = { t: 'view', w: -87.8, s: 41.8, e: -87.5, n: 42.0 };

const token = (role: string, sub: string) => mintDeviceToken(beacon.deviceKeys.secret!, { role: role as Role, sub });

interface Feed {
  ws: WebSocket;
  msgs: Record<string, unknown>[];
  closed: Promise<number>;
}
async function feed(): Promise<Feed> {
  const ws = new WebSocket(`${beacon.orchestratorUrl.replace('http', 'ws')}${FEED_PATH}`);
  sockets.push(ws);
  const msgs: Record<string, unknown>[] = [];
  ws.on('message', (d) => msgs.push(JSON.parse(d.toString()) as Record<string, unknown>));
  const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  return { ws, msgs, closed };
}
async function operatorFeed(view = MANHATTAN): Promise<Feed> {
  const f = await feed();
  f.ws.send(JSON.stringify({ t: 'auth', token: await token('operator', 'ops-1') }));
  await waitFor(() => f.msgs.find((m) => m.t === 'hello'), 10_000, 'hello');
  f.ws.send(JSON.stringify(view));
  return f;
}
const lastState = (f: Feed) => [...f.msgs].reverse().find((m) => m.t === 'state');

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'beacon-feed-'));
  const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', PROCESSOR_PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  beacon = await startEmbedded(config, { logger: createLogger('silent', 'test') });
  // One officer in Manhattan, over the real device path.
  const r = await fetch(`${beacon.orchestratorUrl}${HTTP_PATHS.officerSocket}?lat=40.758&lng=-73.9855`, {
    headers: { authorization: `Bearer ${await token('officer', 'o-1')}` },
  });
  const c = await TestClient.open(((await r.json()) as { url: string }).url);
  sockets.push(c);
  await c.waitFor('hello');
  c.json({ t: 'loc', lat: 40.758, lng: -73.9855 });
});

afterAll(async () => {
  for (const s of sockets) s.close();
  await beacon?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('operator feed', { timeout: 30_000 }, () => {
  it('pushes state for the viewport: officers inside it, totals always', async () => {
    const f = await operatorFeed();
    const s = await waitFor(
      () => {
        const m = lastState(f);
        return m && (m.officers as unknown[]).length === 1 ? m : undefined;
      },
      10_000,
      'a state with the officer',
    );
    expect(s.mode).toBe('embedded');
    expect(s.officerTotal).toBe(1);
    expect((s.zips as unknown[]).length).toBeGreaterThan(10);
    expect(s.nodes).toEqual([expect.objectContaining({ id: 'local' })]);
    // Another viewport: the officer is counted but not sent.
    f.ws.send(JSON.stringify(CHICAGO));
    await waitFor(
      () => {
        const m = lastState(f);
        return m && (m.officers as unknown[]).length === 0 && m.officerTotal === 1;
      },
      10_000,
      'a Chicago state',
    );
  });

  it('zoomed out to the whole country: zips are left out rather than sent by the thousand', async () => {
    const f = await operatorFeed({ t: 'view', w: -125, s: 24, e: -66, n: 50 });
    const s = await waitFor(() => lastState(f), 10_000, 'state');
    expect(s.zips).toBeNull();
  });

  it('refuses forged, wrong-role, expired and missing tokens with 4401', async () => {
    const wrongKey = await new SignJWT({ role: 'operator', acct: 'a' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('x')
      .setExpirationTime('1h')
      .sign(new Uint8Array(32));
    const expired = await new SignJWT({ role: 'operator', acct: 'a' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('x')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(beacon.deviceKeys.secret!);
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"role":"operator","sub":"x"}').toString('base64url')}.`;
    for (const tok of [await token('citizen', 'c-1'), await token('officer', 'o-2'), wrongKey, expired, unsigned, 'x'.repeat(9000), 42, null]) {
      const f = await feed();
      f.ws.send(JSON.stringify({ t: 'auth', token: tok }));
      expect(await f.closed).toBe(FEED_CLOSE.unauthorized);
      expect(f.msgs.some((m) => m.t === 'state')).toBe(false);
    }
    const f = await feed();
    f.ws.send(JSON.stringify(MANHATTAN)); // a view before auth
    expect(await f.closed).toBe(FEED_CLOSE.unauthorized);
  });

  it('answers bad frames with err and closes after repeated ones; closes floods and oversized frames', async () => {
    const f = await operatorFeed();
    for (const bad of [
      'not json',
      '[1,2]',
      JSON.stringify({ t: 'view', w: 'a', s: 0, e: 1, n: 1 }),
      JSON.stringify({ t: 'view', w: 0, s: NaN, e: 1, n: 1 }),
      JSON.stringify({ t: 'zap' }),
    ])
      f.ws.send(bad);
    expect(await f.closed).toBe(FEED_CLOSE.abuse);
    expect(f.msgs.filter((m) => m.t === 'err').length).toBeGreaterThanOrEqual(4);

    const flood = await operatorFeed();
    for (let i = 0; i < 200; i++) flood.ws.send(JSON.stringify(MANHATTAN));
    expect(await flood.closed).toBe(FEED_CLOSE.abuse);

    const huge = await operatorFeed();
    huge.ws.send(JSON.stringify({ t: 'view', pad: 'x'.repeat(20_000) }));
    expect(await huge.closed).toBe(1009);
  });

  it('50 unauthenticated sockets hold at most their own small share: an operator still gets the feed', async () => {
    const idle = await Promise.all(Array.from({ length: 50 }, () => feed()));
    // At once, not after the others timed out: they never count toward the operator cap.
    const op = await operatorFeed();
    await waitFor(() => lastState(op), 10_000, 'a state for the operator');
    // Over the share, the oldest unauthenticated ones are closed (4503; 4408 if their time ran out first).
    await waitFor(
      () => idle.filter((f) => f.ws.readyState === WebSocket.OPEN).length <= FEED_MAX_UNAUTHENTICATED || undefined,
      10_000,
      'at most the share open',
    );
    const codes = await Promise.all(idle.map((f) => f.closed));
    expect(
      codes.every((c) => c === FEED_CLOSE.full || c === FEED_CLOSE.authTimeout),
      String(codes),
    ).toBe(true);
    expect(idle.some((f) => f.msgs.length > 0)).toBe(false);
    op.ws.close();
  });

  it('closes an unauthenticated socket after the auth timeout with 4408', async () => {
    const f = await feed();
    expect(await f.closed).toBe(FEED_CLOSE.authTimeout);
  });

  it('other upgrade paths are refused; the orchestrator keeps serving', async () => {
    const ws = new WebSocket(`${beacon.orchestratorUrl.replace('http', 'ws')}/elsewhere`);
    sockets.push(ws);
    const status = await new Promise<number | undefined>((r) => {
      ws.on('unexpected-response', (_req, res) => r(res.statusCode));
      ws.on('error', () => r(undefined));
    });
    expect(status).toBe(404);
    expect((await fetch(`${beacon.orchestratorUrl}/healthz`)).status).toBe(200);
  });

  it('never shows a citizen cell with fewer than MAP_MIN_CELL_COUNT (3) citizens; the total counts everyone', async () => {
    expect(loadConfig({}).MAP_MIN_CELL_COUNT).toBe(3);
    // Three H3 cells in the viewport: 3 citizens in A, 2 in B, 1 in C (a few metres apart in each).
    const centre = (lat: number, lng: number) => cellToLatLng(latLngToCell(lat, lng, CITIZEN_CELL_RES));
    const [A, B, C] = [centre(40.758, -73.9855), centre(40.7, -73.95), centre(40.8, -73.94)];
    const citizen = async (sub: string, [lat, lng]: number[], k: number) => {
      const at = { lat: lat + k * 1e-4, lng };
      const r = await fetch(`${beacon.orchestratorUrl}${HTTP_PATHS.citizenSocket}?lat=${at.lat}&lng=${at.lng}`, {
        headers: { authorization: `Bearer ${await token('citizen', sub)}` },
      });
      const c = await TestClient.open(((await r.json()) as { url: string }).url);
      sockets.push(c);
      await c.waitFor('hello');
      c.json({ t: 'loc', ...at });
      await c.waitFor('nearest');
    };
    const f = await operatorFeed();
    for (const [cell, n, name] of [
      [A, 3, 'a'],
      [B, 2, 'b'],
      [C, 1, 'c'],
    ] as const)
      for (let k = 0; k < n; k++) await citizen(`mc-${name}${k}`, cell, k);
    const counts = (m: Record<string, unknown>) => (m.cells as { n: number }[]).map((c) => c.n).sort();
    await waitFor(
      () => {
        const m = lastState(f);
        return m && m.citizenTotal === 6 ? m : undefined;
      },
      10_000,
      'a state with all six citizens',
    );
    expect(counts(lastState(f)!)).toEqual([3]);
    // A third citizen in B: now B is shown too.
    await citizen('mc-b2', B, 2);
    await waitFor(
      () => {
        const m = lastState(f);
        return m && m.citizenTotal === 7 && counts(m).join() === '3,3' ? m : undefined;
      },
      10_000,
      'a state with cells A and B',
    );
    // Never, in any frame, a cell below the threshold.
    const states = f.msgs.filter((m) => m.t === 'state');
    expect(states.length).toBeGreaterThan(1);
    for (const m of states) for (const c of m.cells as { n: number }[]) expect(c.n).toBeGreaterThanOrEqual(3);
  });

  it('parseViewport accepts only finite WGS84 boxes', () => {
    expect(parseViewport({ w: -74, s: 40, e: -73, n: 41 })).toEqual({ w: -74, s: 40, e: -73, n: 41 });
    for (const v of [
      { w: -74, s: 41, e: -73, n: 40 },
      { w: -200, s: 0, e: 0, n: 1 },
      { w: 0, s: -91, e: 1, n: 1 },
      { w: Infinity, s: 0, e: 1, n: 1 },
      { w: '0', s: 0, e: 1, n: 1 },
      {},
    ]) {
      expect(parseViewport(v as Record<string, unknown>)).toBeNull();
    }
  });
});
