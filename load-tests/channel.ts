// How a generator worker (worker.ts) talks to the pool: as a worker thread (parentPort, the
// officer ring shared with the other threads) or as a child process (IPC; the pool's first message
// is its init, and the ring is its own: see pool.ts on what that means for move → re-push).
import { parentPort, workerData } from 'node:worker_threads';
import type { FromWorker, ToWorker, WorkerInit } from './messages.js';

export interface Channel {
  init: WorkerInit;
  post(m: FromWorker): void;
  onMessage(fn: (m: ToWorker) => void): void;
}

let processInit: WorkerInit | undefined;

/** Called by worker-proc.ts before it loads worker.ts. */
export function setProcessInit(init: WorkerInit): void {
  processInit = init;
}

export function channel(): Channel {
  if (parentPort) {
    const port = parentPort;
    return { init: workerData as WorkerInit, post: (m) => port.postMessage(m), onMessage: (fn) => void port.on('message', fn) };
  }
  const send = process.send?.bind(process);
  if (!processInit || !send) throw new Error('worker.ts runs as a worker thread or under worker-proc.ts');
  // The pool may have closed the channel already (a run that ends or is cut short): a late message
  // is dropped, not an unhandled EPIPE that crashes the process mid-stop.
  const post = (m: FromWorker): void => {
    if (process.connected) send(m, undefined, undefined, () => {});
  };
  return { init: processInit, post, onMessage: (fn) => void process.on('message', fn) };
}
