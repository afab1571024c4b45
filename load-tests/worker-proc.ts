// A generator worker as its own OS process (pool.ts with `processes`): one process holds at most
// the open-file limit of sockets, so 100k sockets need several. Waits for its init over IPC,
// allocates its own officer ring, then runs worker.ts. Exits when the harness goes away.
import { setProcessInit } from './channel.js';
import type { WorkerInit } from './messages.js';
import { OfficerRing } from './ring.js';

export interface ProcessInitMessage {
  type: 'init';
  init: Omit<WorkerInit, 'ring' | 'ringSeq'>;
  /** All officers of the run: citizens here are pushed officers of any process. */
  officersTotal: number;
}

process.on('SIGINT', () => {}); // Ctrl-C reaches the whole process group: the harness decides when to stop
process.on('disconnect', () => process.exit(0));
process.once('message', (m: ProcessInitMessage) => {
  if (m?.type !== 'init') process.exit(2);
  setProcessInit({ ...m.init, ...OfficerRing.allocate(m.officersTotal) });
  import('./worker.js').catch((err) => {
    process.send?.({ type: 'fatal', workerId: m.init.workerId, message: String((err as Error)?.stack ?? err) });
    process.exit(1);
  });
});
