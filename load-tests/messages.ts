// Messages between the harness main thread and its worker threads (not part of Beacon's protocol).
import type { Encoding } from '../src/protocol/index.js';
import type { AreaName } from './areas.js';

export type WorkerMode = 'beacon' | 'echo' | 'connections';
/** `warmup` runs exactly like `steady`; its samples are kept apart (JIT, first subscriptions). */
export type Phase = 'connect' | 'warmup' | 'steady' | 'capacity' | 'hold';

export interface WorkerInit {
  workerId: number;
  mode: WorkerMode;
  /** Orchestrator base URL (beacon, connections) or the echo server's ws URL (echo). */
  target: string;
  encoding: Encoding;
  seed: number;
  /** Global index ranges [start, end) of this worker's devices. */
  officers: [number, number];
  citizens: [number, number];
  /** Mean citizen report interval, ms (from --rate); undefined: 2–5 s. */
  citizenMeanIntervalMs?: number;
  /** Mean officer report interval, ms (from --officer-rate); undefined: 1–3 s. */
  officerMeanIntervalMs?: number;
  /** HS256 device-token secret. */
  secret: Uint8Array;
  idPrefix: string;
  /** Officer positions as sent, shared by all workers (see ring.ts). */
  ring: SharedArrayBuffer;
  ringSeq: SharedArrayBuffer;
  sourceAddresses: string[];
  connectConcurrency: number;
  /** Heartbeat pings, ms (0: none). */
  heartbeatMs: number;
  /** Capacity phase: min gap between one citizen's locs (stays under the server's per-socket rate). */
  capacityGapMs: number;
  /** --lean: lean/socket.ts instead of `ws`, pre-encoded locs, frames read raw (json only). */
  lean: boolean;
  /** --area, and the run's officer count (us: citizens start in an officer's zip). */
  area: AreaName;
  officersTotal: number;
}

/** `connect`: start connecting (sent once every worker is `ready`, so thread start-up is not timed). */
export type ToWorker = { type: 'connect' } | { type: 'phase'; phase: Phase } | { type: 'stop' };

export interface Counters {
  connected: number;
  disconnected: number;
  locSent: number;
  officerLocSent: number;
  answers: number;
  pushes: number;
  /** Pushes showing a coarse officer position (`precision` > 0, the disclosure policy). */
  pushesCoarse: number;
  near: number;
  framesIn: number;
  framesOut: number;
  errFrames: number;
  assignFailures: number;
  connectFailures: number;
  refusals: number;
  drops: number;
  retries: number;
  unanswered: number;
  pongs: number;
}

export const emptyCounters = (): Counters => ({
  connected: 0,
  disconnected: 0,
  locSent: 0,
  officerLocSent: 0,
  answers: 0,
  pushes: 0,
  pushesCoarse: 0,
  near: 0,
  framesIn: 0,
  framesOut: 0,
  errFrames: 0,
  assignFailures: 0,
  connectFailures: 0,
  refusals: 0,
  drops: 0,
  retries: 0,
  unanswered: 0,
  pongs: 0,
});

export type HistName = 'assign' | 'connect' | 'loc' | 'move';

export type FromWorker =
  | { type: 'ready'; workerId: number }
  | {
      type: 'stats';
      workerId: number;
      phase: Phase;
      counters: Counters;
      hists: Partial<Record<HistName, string>>;
      elu: number;
      errCodes: Record<string, number>;
    }
  | { type: 'connected'; workerId: number; ok: number; failed: number }
  | { type: 'stopped'; workerId: number }
  | { type: 'fatal'; workerId: number; message: string };
