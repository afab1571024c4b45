// DATA_DIR is owner-only (0700) and every file in it too (0600), after a real embedded start:
// whatever the umask (the test runs with umask 000, where a naive create gives 0777/0666), and
// also when DATA_DIR and its files pre-exist with looser modes (tightened, with a warning). A
// shared directory (sticky bit, like /tmp) is refused with a clear message.
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resolveDeviceKeys } from '../../src/auth/index.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { startEmbedded } from '../../src/embedded.js';
import { mintDeviceToken } from '../../src/auth/index.js';
import { HTTP_PATHS, type SocketAssignment } from '../../src/protocol/index.js';
import { TestClient } from '../helpers/ws-client.js';

let root: string;
let umask: number;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'beacon-datadir-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));
beforeEach(() => {
  umask = process.umask(0o000);
});
afterEach(() => {
  process.umask(umask);
});

const mode = async (p: string) => (await stat(p)).mode & 0o7777;

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

/** Starts embedded mode on DATA_DIR, establishes one connection (so the stream file has a line), stops. */
async function runOnce(dir: string, logger = capture().logger): Promise<void> {
  const e = await startEmbedded(loadConfig({ HOST: '127.0.0.1', PORT: '0', PROCESSOR_PORT: '0', DATA_DIR: dir }), { logger });
  const clients: TestClient[] = [];
  try {
    const tok = (role: 'officer' | 'citizen', sub: string) => mintDeviceToken(e.deviceKeys.secret!, { role, sub });
    const open = async (role: 'officer' | 'citizen', sub: string) => {
      const path = role === 'officer' ? HTTP_PATHS.officerSocket : HTTP_PATHS.citizenSocket;
      const res = await fetch(`${e.orchestratorUrl}${path}?lat=40.758&lng=-73.9855`, { headers: { authorization: `Bearer ${await tok(role, sub)}` } });
      const c = await TestClient.open(((await res.json()) as SocketAssignment).url);
      clients.push(c);
      await c.waitFor('hello');
      c.json({ t: 'loc', lat: 40.758, lng: -73.9855 });
      return c;
    };
    const officer = await open('officer', 'o-1');
    const citizen = await open('citizen', 'c-1');
    await citizen.waitFor('nearest', (m) => m.officer?.id === 'o-1');
    const r = await fetch(`${e.orchestratorUrl}/v1/connections`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await tok('citizen', 'c-1')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ officerId: 'o-1' }),
    });
    const { id } = (await r.json()) as { id: string };
    await officer.waitFor('req', (m) => m.id === id);
    officer.json({ t: 'resp', id, accept: true });
    await citizen.waitFor('conn', (m) => m.id === id);
  } finally {
    for (const c of clients) c.close();
    await e.close();
  }
}

/** The day in a segment name, which depends on when the test runs. */
const anyDay = (modes: Record<string, string>) =>
  Object.fromEntries(Object.entries(modes).map(([k, v]) => [k.replace(/\d{4}-\d{2}-\d{2}\.ndjson$/, 'YYYY-MM-DD.ndjson'), v]));

/** Every entry under `dir`: directories must be 0700, files 0600. */
async function modesUnder(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = { '.': (await mode(dir)).toString(8) };
  for (const ent of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const p = join(ent.parentPath, ent.name);
    out[p.slice(dir.length + 1)] = (await mode(p)).toString(8);
  }
  return out;
}

describe('DATA_DIR at rest', () => {
  it('is created 0700 with 0600 files under umask 000', async () => {
    const dir = join(root, 'fresh', 'data');
    await runOnce(dir);
    const modes = await modesUnder(dir);
    expect(anyDay(modes)).toEqual({ '.': '700', 'jwt-secret': '600', established: '700', 'established/YYYY-MM-DD.ndjson': '600' });
  });

  it('tightens a DATA_DIR and files left open by an older install, and says so', async () => {
    const dir = join(root, 'old');
    await mkdir(dir);
    await chmod(dir, 0o777);
    await writeFile(join(dir, 'jwt-secret'), 'an-old-generated-secret-of-enough-length-0123456789\n');
    await chmod(join(dir, 'jwt-secret'), 0o666);
    // The single stream file of versions before segments: kept as history (content untouched), made owner-only.
    const legacy = '{"id":"old-1","officerId":"o-1","citizenId":"c-1","at":1700000000000,"zip":"10036"}\n';
    await writeFile(join(dir, 'established.ndjson'), legacy);
    await chmod(join(dir, 'established.ndjson'), 0o644);
    const { lines, logger } = capture();
    await runOnce(dir, logger);
    expect(anyDay(await modesUnder(dir))).toEqual({
      '.': '700',
      'jwt-secret': '600',
      'established.ndjson': '600',
      established: '700',
      'established/YYYY-MM-DD.ndjson': '600',
    });
    expect(await readFile(join(dir, 'established.ndjson'), 'utf8')).toBe(legacy);
    expect(lines.find((l) => String(l.msg).includes('kept as history'))).toMatchObject({ level: 30 });
    expect(lines.find((l) => String(l.msg).includes('DATA_DIR was open to other users'))).toMatchObject({ level: 40, mode: '0777' });
  });

  it('refuses a shared directory (sticky bit) with a clear message, and a DATA_DIR that is a file', async () => {
    const shared = join(root, 'shared');
    await mkdir(shared);
    await chmod(shared, 0o1777);
    const start = (dir: string) =>
      startEmbedded(loadConfig({ HOST: '127.0.0.1', PORT: '0', PROCESSOR_PORT: '0', DATA_DIR: dir }), { logger: capture().logger });
    await expect(start(shared)).rejects.toThrow(ConfigError);
    await expect(start(shared)).rejects.toThrow(/shared directory .*directory of its own/);
    expect(await mode(shared)).toBe(0o1777);
    const file = join(root, 'a-file');
    await writeFile(file, 'x');
    await expect(start(file)).rejects.toThrow(ConfigError);
  });

  it('`beacon token` (resolveDeviceKeys generating the secret) makes the same modes', async () => {
    const dir = join(root, 'token', 'data');
    await resolveDeviceKeys({ DATA_DIR: dir, JWT_SECRET: undefined, JWT_PUBLIC_KEY: undefined, JWKS_URL: undefined }, { generate: true });
    expect(await modesUnder(dir)).toEqual({ '.': '700', 'jwt-secret': '600' });
  });
});
