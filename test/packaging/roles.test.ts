// `beacon orchestrator` and `beacon processor` as processes against a real redis-server: they
// start, answer the container healthcheck, serve an assignment, and stop with exit 0 on SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintDeviceToken } from '../../src/auth/index.js';
import { freePort, startRedis, type RedisServer } from '../helpers/redis-server.js';

const root = join(import.meta.dirname, '../..');
const TIMEOUT_MS = 120_000;
const JWT_SECRET = 'j'.repeat(40);
let redis: RedisServer;
let dataDir: string;
const children: ChildProcess[] = [];

interface Proc {
  child: ChildProcess;
  out: { stdout: string; stderr: string; code: number | null };
  exited: Promise<number | null>;
}
function beacon(args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['bin/beacon.js', ...args], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      BEACON_FROM_SOURCE: '1',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      REDIS_URL: redis.url,
      TICKET_SECRET: 't'.repeat(40),
      REPLICATION_KEY: 'r'.repeat(40),
      JWT_SECRET,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const out = { stdout: '', stderr: '', code: null as number | null };
  child.stdout?.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r((out.code = code))));
  return { child, out, exited };
}

beforeAll(async () => {
  redis = await startRedis();
  dataDir = await mkdtemp(join(tmpdir(), 'beacon-roles-'));
}, 30_000);
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await redis?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('beacon orchestrator + beacon processor', { timeout: TIMEOUT_MS }, () => {
  it('start over Redis, pass the healthcheck, assign a socket, stop gracefully', async () => {
    const [port, pport] = [await freePort(), await freePort()];
    const orch = beacon(['orchestrator'], { PORT: String(port) });
    const proc = beacon(['processor'], { PROCESSOR_PORT: String(pport), NODE_ID: 'p-test', PUBLIC_WS_URL: `ws://127.0.0.1:${pport}/ws` });
    let ready = '';
    const deadline = Date.now() + TIMEOUT_MS - 30_000;
    while (!ready && Date.now() < deadline) {
      if (orch.out.code !== null || proc.out.code !== null) ready = 'exited';
      else if ((await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200) ready = 'ready';
      else await new Promise((r) => setTimeout(r, 200)); // polling a condition, not asserting on time
    }
    expect(ready, orch.out.stderr + proc.out.stderr).toBe('ready');

    const hcOrch = beacon(['healthcheck', 'orchestrator'], { PORT: String(port) });
    expect(await hcOrch.exited, hcOrch.out.stderr).toBe(0);
    const hcProc = beacon(['healthcheck', 'processor'], { PROCESSOR_PORT: String(pport) });
    expect(await hcProc.exited, hcProc.out.stderr).toBe(0);

    const tok = await mintDeviceToken(new TextEncoder().encode(JWT_SECRET), { role: 'citizen', sub: 'c-1' });
    const a = await fetch(`http://127.0.0.1:${port}/v1/citizens/socket?lat=40.758&lng=-73.9855`, { headers: { authorization: `Bearer ${tok}` } });
    expect(a.status).toBe(200);
    expect(((await a.json()) as { node: string }).node).toBe('p-test');
    // The map is served by a distributed orchestrator too (orchestrator view).
    const op = await mintDeviceToken(new TextEncoder().encode(JWT_SECRET), { role: 'operator' as 'citizen', sub: 'ops-1' });
    expect((await fetch(`http://127.0.0.1:${port}/map?token=${op}`)).status).toBe(200);

    proc.child.kill('SIGTERM');
    orch.child.kill('SIGTERM');
    expect(await proc.exited, proc.out.stderr).toBe(0);
    expect(await orch.exited, orch.out.stderr).toBe(0);
  });
});
