// `npm run token` and `npm run demo` as processes, so the README's instructions keep working.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceAuth } from '../../src/orchestrator/index.js';
import { resolveDeviceKeys } from '../../src/auth/index.js';

const SPAWN_TIMEOUT_MS = 90_000;
let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'beacon-scripts-'));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

function run(script: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: join(import.meta.dirname, '../..'),
      env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run token', { timeout: SPAWN_TIMEOUT_MS }, () => {
  it('prints only a token that the server (same DATA_DIR) accepts, with the profile claims', async () => {
    const r = await run('scripts/token.ts', ['--', '--role', 'officer', '--sub', 'o-1', '--name', 'Ofc. Diaz', '--badge', '4411']);
    expect(r.code, r.stderr).toBe(0);
    const token = r.stdout.trim();
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const keys = await resolveDeviceKeys({ JWT_SECRET: undefined, JWT_PUBLIC_KEY: undefined, JWKS_URL: undefined, DATA_DIR: dataDir }, { generate: false });
    const { tokenExp, ...id } = await new DeviceAuth({ keys }).verify(`Bearer ${token}`);
    expect(id).toEqual({ sub: 'o-1', acct: 'acct-o-1', role: 'officer', profile: { name: 'Ofc. Diaz', badge: '4411' } });
    // The default lifetime is one hour.
    expect(Math.abs(tokenExp - (Date.now() + 3_600_000))).toBeLessThan(120_000);
  });

  it('exits 2 with usage for a bad role or a missing sub', async () => {
    for (const args of [
      ['--role', 'admin', '--sub', 'x'],
      ['--role', 'citizen'],
      ['--bogus', '1'],
    ]) {
      const r = await run('scripts/token.ts', args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('usage');
    }
  });

  it('refuses to mint when the server verifies with a public key', async () => {
    const r = await run('scripts/token.ts', ['--role', 'citizen', '--sub', 'c-1'], { JWKS_URL: 'https://idp.example/jwks.json' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('identity provider');
  });
});

describe('npm run demo', { timeout: SPAWN_TIMEOUT_MS }, () => {
  it('narrates an officer and a citizen finding each other and connecting, and exits 0', async () => {
    const r = await run('scripts/demo.ts', [], { LOG_LEVEL: 'warn' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('← nearest: Ofc. Diaz');
    expect(r.stdout).toContain('← near:');
    expect(r.stdout).toMatch(/officer\s+← conn accepted/);
    expect(r.stdout).toMatch(/citizen\s+← conn accepted/);
    expect(r.stdout).toContain('established-connections stream');
  });
});
