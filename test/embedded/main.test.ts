// `npm start` as a process: --help, configuration errors, and a graceful stop on SIGTERM.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCaptured } from '../helpers/spawn-captured.js';
import { waitFor } from '../helpers/wait.js';

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'beacon-main-'));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

const run = (args: string[], env: Record<string, string>) =>
  spawnCaptured(['--import', 'tsx', 'src/cli.ts', 'all', ...args], {
    HOST: '127.0.0.1',
    PORT: '0',
    PROCESSOR_PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    ...env,
  });

// Spawning tsx compiles the sources: slow on a loaded machine, hence the generous limits.
const SPAWN_TIMEOUT_MS = 90_000;

describe('npm start', { timeout: SPAWN_TIMEOUT_MS }, () => {
  it('--help lists every setting and exits 0', async () => {
    const p = run(['--help'], {});
    expect(await p.exited, p.out.stderr).toBe(0);
    for (const name of ['PORT', 'PROCESSOR_PORT', 'JWT_SECRET', 'JWKS_URL', 'DATA_DIR', 'REDIS_URL', 'REQUEST_TTL_MS']) expect(p.out.stdout).toContain(name);
  });

  it('exits 2 with a readable message for a bad setting', async () => {
    const p = run([], { PORT: 'eighty' });
    expect(await p.exited, p.out.stderr).toBe(2);
    expect(p.out.stderr).toContain('PORT="eighty": must be an integer');
  });

  it('exits 2 when REDIS_URL asks for distributed mode', async () => {
    const p = run([], { REDIS_URL: 'redis://127.0.0.1:6379', TICKET_SECRET: 'x'.repeat(32), REPLICATION_KEY: 'z'.repeat(32), JWT_SECRET: 'y'.repeat(32) });
    expect(await p.exited, p.out.stderr).toBe(2);
    expect(p.out.stderr).toContain('distributed mode');
  });

  it('serves, then stops gracefully on SIGTERM with exit 0', async () => {
    const p = run([], {});
    const url = await waitFor(
      () => /orchestrator\s+(http:\/\/\S+)/.exec(p.out.stdout)?.[1] ?? (p.out.code !== null && 'exited'),
      SPAWN_TIMEOUT_MS - 10_000,
      'the startup banner',
    );
    expect(url, p.out.stderr).not.toBe('exited');
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    p.child.kill('SIGTERM');
    expect(await p.exited, p.out.stderr).toBe(0);
  });
});
