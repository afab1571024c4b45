// What one `npm run load` run shares between its steps (run.ts starts the server and the steps;
// run-connections.ts and run-load.ts drive the generator against it).
import type { LoadArgs } from './args.js';
import type { Child } from './children.js';
import type { Deployment } from './fleet/deployment.js';
import type { PoolOptions } from './pool.js';
import type { Results } from './report.js';
import type { ServerSampler } from './system.js';

export const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** The pool options every run of one invocation shares. */
export type PoolBase = Omit<PoolOptions, 'run' | 'mode' | 'target' | 'officers' | 'citizens' | 'phases' | 'sampler' | 'heartbeatMs'>;

export interface RunContext {
  args: LoadArgs;
  abort: AbortController;
  /** Base URL of the orchestrator under test. */
  target: string;
  /** Embedded Beacon when this run started it. */
  beacon?: Child;
  /** The distributed deployment when this run started one (--processors). */
  deployment?: Deployment;
  sampler: ServerSampler;
  base: PoolBase;
  /** Child servers started for a step (stopped by it, or by run.ts at the end). */
  children: Child[];
  stopChild(c: Child | undefined): Promise<void>;
  results: Partial<Results>;
  /** Generator workers (threads, or child processes with --processors). */
  generators: number;
  sockets: number;
  secret: Uint8Array;
  idPrefix: string;
}
