// Starts a server child (server-child.ts) under tsx and waits for its URLs. Bounded: a child that
// is not ready within the timeout is killed (by its own pid) and reported.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildKind, ChildReady } from './server-child.js';

export interface Child extends ChildReady {
  stop(): Promise<void>;
  proc: ChildProcess;
}

const CHILD = fileURLToPath(new URL('./server-child.ts', import.meta.url));

/** `execArgv`: more node options for the child (bench:orchestrator --prof passes --cpu-prof, which NODE_OPTIONS refuses). */
export function startChild(kind: ChildKind, env: Record<string, string> = {}, timeoutMs = 60_000, execArgv: string[] = []): Promise<Child> {
  const proc = fork(CHILD, [kind], {
    // LOAD_SERVER_PROF=<dir> writes a V8 CPU profile of the server child (as LOAD_WORKER_PROF does per worker).
    execArgv: ['--import', 'tsx', ...execArgv, ...(process.env.LOAD_SERVER_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.LOAD_SERVER_PROF}`] : [])],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      const kill = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      proc.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      if (proc.connected) proc.send({ type: 'stop' });
      else proc.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${kind} server did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    proc.on('message', (m: { type?: string; message?: string }) => {
      if (m?.type === 'ready') {
        clearTimeout(timer);
        resolve({ ...(m as ChildReady), proc, stop });
      } else if (m?.type === 'fatal') {
        clearTimeout(timer);
        reject(new Error(`${kind} server failed to start: ${m.message}`));
      }
    });
    proc.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`${kind} server exited (${code ?? sig}) before it was ready`));
    });
  });
}
