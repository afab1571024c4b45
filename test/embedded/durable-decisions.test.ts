// A decision is acknowledged only once durable, tried for real: DATA_DIR on a 16 KiB tmpfs that a
// filler file fills up, so the established-connections stream cannot take the event. Over real
// HTTP and websockets: the accepted request stays `pending` and nobody is told `conn accepted`;
// when space comes back within the accept window it is accepted (on both sockets, in GET, once in
// the stream); when it never does, both sockets get `conn failed` and GET says failed.
//
// Also the officer's request table: spam from six accounts cannot push a real request out.
import { execFileSync } from 'node:child_process';
import { mkdtemp, open, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startEmbedded, type Embedded } from '../../src/embedded.js';
import { createLogger } from '../../src/log.js';
import { HTTP_PATHS, MAX_PENDING_PER_OFFICER } from '../../src/protocol/index.js';
import { TestClient } from '../helpers/ws-client.js';
import { devices } from './devices.js';
import { waitFor } from '../helpers/wait.js';

const OFFICER_POS = { lat: 40.758, lng: -73.9855 };
const CITIZEN_POS = { lat: 40.758 + 100 / 111_195, lng: -73.9855 };
const SECRET = 'durable-decisions-test-secret-32-bytes!!';

const clients: TestClient[] = [];
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => {});
});

/** A 16 KiB tmpfs, unmounted after the test. */
async function smallDisk(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'beacon-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k,mode=0700', 'tmpfs', dir]);
  cleanup.push(async () => {
    execFileSync('umount', ['-l', dir]);
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Fills the filesystem of `dir` to the last byte; resolves the filler's path (unlink it to free the space). */
async function fill(dir: string): Promise<string> {
  const path = join(dir, 'filler');
  const fh = await open(path, 'w');
  try {
    for (const size of [4096, 1]) {
      const buf = Buffer.alloc(size, 120);
      for (;;) {
        try {
          await fh.write(buf);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw e;
        }
      }
    }
  } finally {
    await fh.close();
  }
  return path;
}

/** How many stream lines in DATA_DIR carry this request id (whatever the file layout). */
async function linesWith(dir: string, id: string): Promise<number> {
  let n = 0;
  for (const name of await readdir(dir, { recursive: true })) {
    if (!String(name).endsWith('.ndjson')) continue;
    for (const line of (await readFile(join(dir, String(name)), 'utf8')).split('\n')) if (line.includes(`"id":"${id}"`)) n++;
  }
  return n;
}

async function metric(e: Embedded, line: RegExp): Promise<number> {
  const text = await (await fetch(`${e.orchestratorUrl}${HTTP_PATHS.metrics}`)).text();
  const m = line.exec(text);
  return m ? Number(m[1]) : 0;
}

async function start(dataDir: string, env: Record<string, string> = {}): Promise<Embedded> {
  const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', PROCESSOR_PORT: '0', DATA_DIR: dataDir, JWT_SECRET: SECRET, LOG_LEVEL: 'silent', ...env });
  const e = await startEmbedded(config, { logger: createLogger('silent', 'test') });
  cleanup.push(() => e.close());
  return e;
}

/** An officer and a citizen, a request from one to the other, delivered: resolves its id. */
async function requested(e: Embedded) {
  const d = devices(e, clients);
  const officerTok = await d.token('officer', 'o-1', { name: 'Ofc. Diaz' });
  const citizenTok = await d.token('citizen', 'c-1', { name: 'Sam' });
  const officer = await d.officerAt('o-1', OFFICER_POS);
  const citizen = (await d.connect('citizen', citizenTok, CITIZEN_POS)).client;
  const r = await d.http('POST', HTTP_PATHS.connections, citizenTok, { officerId: 'o-1' });
  expect(r.status).toBe(202);
  const id = r.body.id as string;
  await officer.waitFor('req', (m) => m.id === id);
  const status = async (tok: string) => (await d.http('GET', `${HTTP_PATHS.connections}/${id}`, tok)).body.status;
  return { d, id, officer, citizen, officerTok, citizenTok, status };
}

const FAILED_APPENDS = /^beacon_orchestrator_stream_appends_total\{result="failed"\} (\d+)/m;

describe('a full disk under the established-connections stream', () => {
  it('keeps an accepted request pending while the disk is full, and accepts it once space is back: told once, written once', async () => {
    const dir = await smallDisk();
    const e = await start(dir, { REQUEST_TTL_MS: '30000' });
    const { id, officer, citizen, officerTok, citizenTok, status } = await requested(e);
    const filler = await fill(dir);

    officer.json({ t: 'resp', id, accept: true });
    // Sentinel: the orchestrator has tried (and failed) to append at least three times.
    await waitFor(async () => (await metric(e, FAILED_APPENDS)) >= 3, 10_000, 'failed appends');
    expect(await status(citizenTok)).toBe('pending');
    expect(await status(officerTok)).toBe('pending');
    expect(officer.of('conn')).toEqual([]);
    expect(citizen.of('conn')).toEqual([]);
    expect(await linesWith(dir, id)).toBe(0);
    expect(await metric(e, /^beacon_orchestrator_connections_accepting (\d+)/m)).toBe(1);

    await unlink(filler);
    const expected = { t: 'conn', id, status: 'accepted', officerId: 'o-1', citizenId: 'c-1' };
    expect(await officer.waitFor('conn', (m) => m.id === id, 0, 10_000)).toEqual(expected);
    expect(await citizen.waitFor('conn', (m) => m.id === id, 0, 10_000)).toEqual(expected);
    expect(await status(citizenTok)).toBe('accepted');
    expect(await status(officerTok)).toBe('accepted');
    expect(await linesWith(dir, id)).toBe(1);
    await officer.sync();
    await citizen.sync();
    expect(officer.of('conn')).toHaveLength(1);
    expect(citizen.of('conn')).toHaveLength(1);
    expect(await metric(e, /^beacon_orchestrator_connection_decisions_total\{status="accepted"\} (\d+)/m)).toBe(1);
  });

  it('fails the request when the disk stays full past the accept window: both told `failed`, GET failed, nothing written', async () => {
    const dir = await smallDisk();
    const e = await start(dir, { REQUEST_TTL_MS: '2000' });
    const { id, officer, citizen, officerTok, citizenTok, status } = await requested(e);
    await fill(dir);

    officer.json({ t: 'resp', id, accept: true });
    await waitFor(async () => (await metric(e, FAILED_APPENDS)) >= 1, 10_000, 'a failed append');
    expect(await status(citizenTok)).toBe('pending');
    const expected = { t: 'conn', id, status: 'failed', officerId: 'o-1', citizenId: 'c-1' };
    expect(await officer.waitFor('conn', (m) => m.id === id, 0, 15_000)).toEqual(expected);
    expect(await citizen.waitFor('conn', (m) => m.id === id, 0, 15_000)).toEqual(expected);
    expect(await status(citizenTok)).toBe('failed');
    expect(await status(officerTok)).toBe('failed');
    expect(await linesWith(dir, id)).toBe(0);
    expect(officer.of('conn').map((m) => m.status)).toEqual(['failed']);
    expect(await metric(e, /^beacon_orchestrator_connection_decisions_total\{status="failed"\} (\d+)/m)).toBe(1);
  });
});

describe("an officer's pending requests", () => {
  it('spam from six accounts cannot push a real request out: repeats get the same id, the 33rd distinct one 429 officer_busy', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'beacon-spam-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const e = await start(dir, { REQUESTS_PER_MINUTE: '10' });
    const d = devices(e, clients);
    const officer = await d.officerAt('o-1', OFFICER_POS);
    const real = await d.token('citizen', 'c-real', { name: 'Sam' });
    const realCitizen = (await d.connect('citizen', real, CITIZEN_POS)).client;
    const first = await d.http('POST', HTTP_PATHS.connections, real, { officerId: 'o-1' });
    expect(first.status).toBe(202);
    const realId = first.body.id as string;

    // 36 requests from 6 accounts (6 each, within REQUESTS_PER_MINUTE): one pending per pair.
    const spammers = await Promise.all(Array.from({ length: 6 }, (_, i) => d.token('citizen', `spam-${i}`)));
    const ids = new Map<number, Set<string>>();
    for (let round = 0; round < 6; round++) {
      for (const [i, tok] of spammers.entries()) {
        const r = await d.http('POST', HTTP_PATHS.connections, tok, { officerId: 'o-1' });
        expect(r).toMatchObject({ status: 202, body: { status: 'pending' } });
        (ids.get(i) ?? ids.set(i, new Set()).get(i)!).add(r.body.id as string);
      }
    }
    for (const set of ids.values()) expect(set.size).toBe(1);
    // The real one is unharmed: the officer answers it.
    await officer.waitFor('req', (m) => m.id === realId);
    officer.json({ t: 'resp', id: realId, accept: true });
    expect(await realCitizen.waitFor('conn', (m) => m.id === realId)).toMatchObject({ status: 'accepted' });
    expect(await officer.waitFor('conn', (m) => m.id === realId)).toMatchObject({ status: 'accepted' });
    expect(officer.of('err')).toEqual([]);

    // Fill the officer's table with distinct citizens: 6 spammers pending, then up to the cap.
    const room = MAX_PENDING_PER_OFFICER - 6;
    const fillers = await Promise.all(Array.from({ length: room + 1 }, (_, i) => d.token('citizen', `fill-${i}`)));
    for (let i = 0; i < room; i++) expect((await d.http('POST', HTTP_PATHS.connections, fillers[i], { officerId: 'o-1' })).status).toBe(202);
    expect(await d.http('POST', HTTP_PATHS.connections, fillers[room], { officerId: 'o-1' })).toMatchObject({ status: 429, body: { error: 'officer_busy' } });
    // A repeat of a pending pair still gets its id, full or not.
    const again = await d.http('POST', HTTP_PATHS.connections, spammers[0], { officerId: 'o-1' });
    expect(again).toMatchObject({ status: 202, body: { id: [...ids.get(0)!][0], status: 'pending' } });
    // Every admitted request reached the officer; answering the oldest works (none was evicted).
    await waitFor(() => officer.of('req').length >= 1 + 6 + room || undefined, 5000, 'every req delivered');
    const oldestSpam = [...ids.get(0)!][0];
    officer.json({ t: 'resp', id: oldestSpam, accept: false });
    await waitFor(() => officer.of('conn').find((m) => m.id === oldestSpam), 5000, 'the decline');
    expect(officer.of('err')).toEqual([]);
    // That freed a place.
    expect((await d.http('POST', HTTP_PATHS.connections, fillers[room], { officerId: 'o-1' })).status).toBe(202);
  });
});
