// The faults, injected one after another. Each `inject` returns once the fault is over (the
// processor restarted, SIGCONT sent, Redis answering again, the orchestrator dead for good).
//
// A processor killed with -9 is restarted at once with the same NODE_ID and port, as a supervisor
// (systemd, Kubernetes) would; its devices reconnect through an orchestrator meanwhile and land
// wherever they are assigned. A killed orchestrator stays dead: its devices fail over to the other.
import type { BeaconNode, Redis } from './procs.js';
import { sleep } from './procs.js';

export interface Fault {
  kind: string;
  inject(): Promise<void>;
}

export function faults(redis: Redis, orchestrators: BeaconNode[], processors: BeaconNode[], stopMs: number): Fault[] {
  return [
    {
      kind: 'processor kill -9 (restarted)',
      async inject() {
        await processors[0].kill9();
        await processors[0].restart();
      },
    },
    {
      kind: `processor SIGSTOP ${stopMs / 1000} s`,
      async inject() {
        processors[1].stop();
        await sleep(stopMs);
        processors[1].cont();
      },
    },
    {
      kind: 'redis restart',
      async inject() {
        await redis.restart();
      },
    },
    {
      kind: 'orchestrator kill -9',
      async inject() {
        await orchestrators[1].kill9();
      },
    },
  ];
}
