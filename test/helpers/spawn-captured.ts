// A Beacon process as a user starts it (`node … src/cli.ts all`, `bin/beacon.js`), with stdout and
// stderr captured and its exit code kept: for the tests of start-up, shutdown, logs and exit codes.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../..');

export interface Captured {
  child: ReturnType<typeof spawn>;
  out: { stdout: string; stderr: string; code: number | null };
  exited: Promise<number | null>;
}

/** `node <args>` in the project root with exactly `env` (plus PATH): nothing inherited by accident. */
export function spawnCaptured(args: string[], env: Record<string, string>): Captured {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '', code: null as number | null };
  child.stdout!.on('data', (d: Buffer) => (out.stdout += d.toString('latin1')));
  child.stderr!.on('data', (d: Buffer) => (out.stderr += d.toString('latin1')));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r((out.code = code))));
  return { child, out, exited };
}
