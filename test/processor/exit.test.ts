import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function run(mode: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/processor/exit-child.ts', mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const kill = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the process did not exit after ${mode} (output: ${out.trim()})`));
    }, 20_000);
    child.on('exit', (code) => {
      clearTimeout(kill);
      resolve({ code, out });
    });
  });
}

describe('shutdown leaves nothing running', () => {
  it.each(['drain', 'close'])('the process exits on its own after %s()', async (mode) => {
    const r = await run(mode);
    expect(r.out).toContain('stopped');
    expect(r.code).toBe(0);
  });
});
