// The generator's workers as threads (worker-boot.mjs) or, past one process's open-file limit, as
// child processes (worker-proc.ts), and how a child process is ended.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { track } from './fleet/procs.js';
import type { WorkerInit } from './messages.js';
import type { ProcessInitMessage } from './worker-proc.js';

export function startThread(init: WorkerInit): Worker {
  // worker-boot.mjs registers tsx in the new thread (its loader is not inherited), then loads worker.ts.
  // LOAD_WORKER_PROF=<dir> writes a V8 CPU profile per worker (to see what bounds the generator).
  const prof = process.env.LOAD_WORKER_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.LOAD_WORKER_PROF}`] : [];
  return new Worker(new URL('./worker-boot.mjs', import.meta.url), { workerData: init, execArgv: prof });
}

export function startProcess(init: WorkerInit, officersTotal: number): ChildProcess {
  const prof = process.env.LOAD_WORKER_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.LOAD_WORKER_PROF}`] : [];
  // 'advanced': the token secret is a Uint8Array. The ring is not sent (it cannot cross processes).
  const p = track(
    fork(fileURLToPath(new URL('./worker-proc.ts', import.meta.url)), [], {
      execArgv: ['--import', 'tsx', ...prof],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const { ring: _r, ringSeq: _s, ...rest } = init;
  const m: ProcessInitMessage = { type: 'init', init: rest, officersTotal };
  p.send(m);
  return p;
}

/** Waits (≤ 5 s) for a generator process to exit after its stop, then kills it. */
export function endProcess(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    if (p.connected) p.disconnect();
  });
}
