// Runs the real load harness (`load-tests/run.ts`) as a child process for the smoke tests, bounded
// in time: the child is killed and the test fails with the tail of its stderr if it overruns.
import { spawn } from 'node:child_process';

export interface HarnessRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runHarness(args: string[], timeoutMs: number): Promise<HarnessRun> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'load-tests/run.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`harness did not finish in ${timeoutMs} ms\n${stderr.slice(-2000)}`));
    }, timeoutMs);
    p.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}
