// Issue #10 §6, embedded mode: `npm start` as a process at the most verbose log level, devices
// sending KNOWN coordinates over real HTTP and websockets (officer moves, citizen locs, an
// accepted connection, refused and bad frames), then every line the process wrote and every file
// of DATA_DIR is scanned for those coordinates in any rendering (test/helpers/coordinate-scan.ts):
// none. The distributed twin (logs of every node, the Redis AOF and keyspace) is
// test/distributed/at-rest.test.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintDeviceToken, resolveDeviceKeys } from '../../src/auth/index.js';
import { HTTP_PATHS, type Role, type SocketAssignment } from '../../src/protocol/index.js';
import { coordinateNeedles, findCoordinates, scanFiles } from '../helpers/coordinate-scan.js';
import { spawnCaptured, type Captured } from '../helpers/spawn-captured.js';
import { TestClient } from '../helpers/ws-client.js';
import { waitFor } from '../helpers/wait.js';

const OFFICER = { lat: 40.758123457, lng: -73.985654321 };
const OFFICER_MOVED = { lat: 40.758456789, lng: -73.985987654 };
/** ~100 m north: inside the alert radius, so `nearest` carries the exact position (sent, never logged). */
const CITIZEN = { lat: 40.759024681, lng: -73.985135792 };
/** ~5.6 km away: implausible right after the assignment. */
const CITIZEN_JUMP = { lat: 40.802468135, lng: -73.951357913 };
/** ~22 km away: outside the citizen's area. */
const CITIZEN_FAR = { lat: 40.913579246, lng: -73.824681357 };
const needles = coordinateNeedles([OFFICER, OFFICER_MOVED, CITIZEN, CITIZEN_JUMP, CITIZEN_FAR].flatMap((p) => [p.lat, p.lng]));

let dataDir: string;
let proc: Captured;
/** Everything the process wrote, both streams. */
const output = () => proc.out.stdout + proc.out.stderr;
const clients: TestClient[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'beacon-privacy-'));
  proc = spawnCaptured(['--import', 'tsx', 'src/cli.ts', 'all'], { HOST: '127.0.0.1', PORT: '0', PROCESSOR_PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'trace' });
}, 90_000);

afterAll(async () => {
  for (const c of clients) c.close();
  if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

describe('privacy, embedded mode', () => {
  it('no coordinate a device sent appears in any log line or any file of DATA_DIR', async () => {
    const base = await waitFor(() => /orchestrator\s+(https?:\/\/\S+)/.exec(output())?.[1], 80_000, 'the startup banner');
    const keys = await resolveDeviceKeys({ JWT_SECRET: undefined, JWT_PUBLIC_KEY: undefined, JWKS_URL: undefined, DATA_DIR: dataDir }, { generate: false });
    const token = (role: Role, sub: string) => mintDeviceToken(keys.secret!, { role, sub, profile: { name: sub } });
    const call = async (method: string, path: string, tok: string, body?: unknown) => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${tok}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const open = async (role: Role, tok: string, pos: { lat: number; lng: number }, zip = '') => {
      const r = await call('GET', `${role === 'officer' ? HTTP_PATHS.officerSocket : HTTP_PATHS.citizenSocket}?lat=${pos.lat}&lng=${pos.lng}${zip}`, tok);
      expect(r.status).toBe(200);
      const c = await TestClient.open((r.body as unknown as SocketAssignment).url);
      clients.push(c);
      await c.waitFor('hello');
      return c;
    };

    const officerTok = await token('officer', 'o-priv');
    const citizenTok = await token('citizen', 'c-priv');
    const officer = await open('officer', officerTok, OFFICER);
    officer.json({ t: 'loc', ...OFFICER });
    await officer.sync();
    const citizen = await open('citizen', citizenTok, CITIZEN);
    citizen.json({ t: 'loc', ...CITIZEN, acc: 5, ts: Date.now() });
    // The exact position did travel to the citizen (inside the alert radius): the scan below is
    // about where it must not go, not about it never existing.
    expect((await citizen.waitFor('nearest')).officer).toMatchObject({ lat: OFFICER.lat, lng: OFFICER.lng });
    officer.json({ t: 'loc', ...OFFICER_MOVED });
    await citizen.waitFor('nearest', (m) => m.officer?.lat === OFFICER_MOVED.lat);

    // Refused inputs carrying coordinates: out of area, implausible, out of range, a bad zip, a huge frame.
    citizen.json({ t: 'loc', ...CITIZEN_JUMP });
    citizen.json({ t: 'loc', ...CITIZEN_FAR });
    citizen.json({ t: 'loc', lat: CITIZEN_FAR.lat + 100, lng: CITIZEN_FAR.lng });
    citizen.raw(JSON.stringify({ t: 'loc', lat: CITIZEN_FAR.lat, lng: CITIZEN_FAR.lng, pad: 'x'.repeat(4000) }), false);
    await citizen.sync();
    expect(citizen.of('err').map((m) => m.code)).toEqual(['implausible_move', 'out_of_area', 'bad_field', 'too_large']);
    expect((await call('GET', `${HTTP_PATHS.citizenSocket}?lat=${CITIZEN_FAR.lat}&lng=${CITIZEN_FAR.lng}&zip=90210`, citizenTok)).status).toBe(400);
    expect((await call('GET', `${HTTP_PATHS.citizenSocket}?lat=${CITIZEN_FAR.lat}&lng=${CITIZEN_FAR.lng}&bogus=1`, citizenTok)).status).toBe(400);

    // An accepted connection: the established-connections file gets an entry.
    const req = await call('POST', HTTP_PATHS.connections, citizenTok, { officerId: 'o-priv' });
    expect(req.status).toBe(202);
    const r = await officer.waitFor('req');
    officer.json({ t: 'resp', id: r.id, accept: true });
    await citizen.waitFor('conn', (m) => m.status === 'accepted');

    // Sockets close (close lines are logged), then the process stops gracefully (shutdown lines).
    officer.close();
    citizen.close();
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);

    // Not vacuous: the process logged at trace level, and DATA_DIR holds the secret and the stream.
    const lines = output()
      .split('\n')
      .filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(5);
    expect(output()).toContain('"msg":"socket open"');
    const files = await scanFiles(dataDir, needles);
    const names = files.files.map((f) => f.path.slice(dataDir.length + 1)).sort();
    expect(names).toHaveLength(2);
    expect(names[0]).toMatch(/^established\/\d{4}-\d{2}-\d{2}\.ndjson$/);
    expect(names[1]).toBe('jwt-secret');
    expect(files.files.find((f) => f.path.endsWith('.ndjson'))!.bytes).toBeGreaterThan(20);

    expect(findCoordinates(Buffer.from(output(), 'latin1'), needles)).toEqual([]);
    expect(files.hits).toEqual([]);
    // And the scan does see a coordinate where one is.
    expect(findCoordinates(Buffer.from(`${output()}{"lat":${CITIZEN.lat}}`, 'latin1'), needles)).not.toEqual([]);
  }, 120_000);
});
