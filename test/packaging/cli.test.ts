// `beacon` as a process, the way users and the container run it: `node bin/beacon.js ...` from the
// sources (tsx), and the compiled output of `tsconfig.build.json` run by plain node.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roleOfInit } from '../../src/cli/healthcheck.js';
import { SETTINGS } from '../../src/config.js';

const root = join(import.meta.dirname, '../..');
const TIMEOUT_MS = 120_000;
let dataDir: string;
let compiled: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'beacon-cli-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
  if (compiled) await rm(compiled, { recursive: true, force: true });
});

function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(cmd, args, {
      cwd: root,
      // BEACON_FROM_SOURCE: test the sources even when a stale dist/ exists in the checkout.
      env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, LOG_LEVEL: 'warn', BEACON_FROM_SOURCE: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
const beacon = (args: string[], env?: Record<string, string>) => run(process.execPath, ['bin/beacon.js', ...args], env);

describe('beacon (from the sources)', { timeout: TIMEOUT_MS }, () => {
  it('--help lists the commands and every setting, exit 0', async () => {
    const r = await beacon(['--help']);
    expect(r.code, r.stderr).toBe(0);
    for (const c of ['all', 'orchestrator', 'processor', 'token', 'healthcheck']) expect(r.stdout).toContain(`  ${c} `);
    for (const name of Object.keys(SETTINGS)) expect(r.stdout).toContain(name);
  });

  it('--help on every role, exit 0', async () => {
    for (const [args, text] of [
      [['processor', '--help'], 'PROCESSOR_PORT'],
      [['orchestrator', '--help'], 'REDIS_URL'],
      [['all', '--help'], 'embedded'],
      [['token', '--help'], '--role'],
      [['healthcheck', '--help'], 'healthcheck'],
    ] as const) {
      const r = await beacon([...args]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(text);
    }
  });

  it('unknown subcommand or argument: usage on stderr, exit 2', async () => {
    const r = await beacon(['launch-rockets']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('unknown command');
    expect(r.stderr).toContain('Usage: beacon');
    const r2 = await beacon(['processor', '--turbo'], { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('unknown argument --turbo');
  });

  it('a distributed role without REDIS_URL or with a bad setting exits 2 with the reason', async () => {
    const r = await beacon(['orchestrator']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('REDIS_URL');
    const r2 = await beacon(['processor'], { PROCESSOR_PORT: 'eighty' });
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('PROCESSOR_PORT="eighty"');
  });

  it('token mints officer, citizen and operator tokens and refuses other roles', async () => {
    for (const role of ['officer', 'citizen', 'operator']) {
      const r = await beacon(['token', '--role', role, '--sub', 'x-1']);
      expect(r.code, r.stderr).toBe(0);
      const claims = JSON.parse(Buffer.from(r.stdout.trim().split('.')[1], 'base64url').toString()) as { role: string; sub: string };
      expect(claims).toMatchObject({ role, sub: 'x-1' });
    }
    const bad = await beacon(['token', '--role', 'admin', '--sub', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('usage');
  });

  it('healthcheck: 0 when the role answers /healthz, 1 when not, 2 for a bad role', async () => {
    const ok = createServer((req, res) => res.writeHead(req.url === '/healthz' ? 200 : 404).end('{"ok":true}'));
    await new Promise<void>((r) => ok.listen(0, '127.0.0.1', r));
    const port = String((ok.address() as { port: number }).port);
    try {
      expect((await beacon(['healthcheck', 'orchestrator'], { PORT: port })).code).toBe(0);
      expect((await beacon(['healthcheck', 'processor'], { PROCESSOR_PORT: port })).code).toBe(0);
      // `all` needs both servers; nothing listens on port 1.
      const r = await beacon(['healthcheck', 'all'], { PORT: port, PROCESSOR_PORT: '1' });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('unhealthy');
      expect((await beacon(['healthcheck', 'nonsense'])).code).toBe(2);
    } finally {
      ok.close();
    }
  });

  it('healthcheck reads the role from the main process command line', () => {
    expect(roleOfInit(['node', 'bin/beacon.js', 'processor', ''].join('\0'))).toBe('processor');
    expect(roleOfInit(['node', 'bin/beacon.js', 'orchestrator'].join('\0'))).toBe('orchestrator');
    expect(roleOfInit(['node', 'bin/beacon.js'].join('\0'))).toBe('all');
    expect(roleOfInit(['node', '/app/bin/beacon.js', 'token'].join('\0'))).toBeUndefined();
    expect(roleOfInit(['bash'].join('\0'))).toBeUndefined();
  });
});

describe('beacon (compiled by tsconfig.build.json)', { timeout: TIMEOUT_MS }, () => {
  it('compiles src/ to plain JavaScript that runs without tsx', async () => {
    // Inside the checkout so the compiled files resolve node_modules like dist/ does.
    compiled = await mkdtemp(join(root, '.beacon-compile-'));
    const tsc = await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--outDir', compiled]);
    expect(tsc.code, tsc.stdout + tsc.stderr).toBe(0);
    const files = await readdir(compiled, { recursive: true });
    expect(files).toContain('cli.js');
    for (const f of files.filter((x) => x.endsWith('.js'))) {
      expect(await readFile(join(compiled, f), 'utf8'), f).not.toMatch(/from ['"]tsx|import\(['"]tsx/);
    }
    const help = await run(process.execPath, [join(compiled, 'cli.js'), '--help']);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain('Usage: beacon');
    const proc = await run(process.execPath, [join(compiled, 'cli.js'), 'processor', '--help']);
    expect(proc.code, proc.stderr).toBe(0);
  });
});
