// The processor's public surface: what embedded mode, the `processor` role and tests use.
// Implementation: issue #3 (server.ts etc.).
import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Bus, NodeStats, SocketRecord } from '../coordination/index.js';
import type { Logger } from '../log.js';
import type { PublicProfile } from '../protocol/index.js';
import type { ServerTls } from '../tls.js';
import type { LiveObserver, LiveSnapshot } from './live.js';

export type ProcessorConfig = Pick<
  Config,
  | 'HOST'
  | 'PROCESSOR_PORT'
  | 'PUBLIC_WS_URL'
  | 'OFFICER_WINDOW_MS'
  | 'SEARCH_RADIUS_M'
  | 'ALERT_RADIUS_M'
  | 'OFFICER_PRECISION_M'
  | 'DISTANCE_STEP_M'
  | 'MSG_RATE_PER_S'
  | 'MSG_BURST'
  | 'MAX_SOCKETS'
  | 'MAX_BACKPRESSURE_BYTES'
  | 'IDLE_TIMEOUT_S'
  | 'CITIZEN_AREA_M'
  | 'MAX_SPEED_KMH'
  | 'METRICS_TOKEN'
  | 'METRICS_PORT'
>;

export interface ProcessorOptions {
  config: ProcessorConfig;
  nodeId: string;
  /** Shared with the orchestrators that sign tickets. */
  ticketSecret: Buffer;
  bus: Bus;
  logger: Logger;
  /** Certificate and key (TLS_CERT_FILE, TLS_KEY_FILE): serve wss:// and https:// on the same port. */
  tls?: ServerTls;
  /** Clock, ms since the epoch (tests pass their own). */
  now?: () => number;
  /** This run's epoch (NodeInfo.epoch), named by every ticket for this node; default: the start time. */
  epoch?: number;
}

export interface Processor {
  readonly nodeId: string;
  /** This run of the node: tickets issued for another run are refused (`node_restarted`). */
  readonly epoch: number;
  /** Public websocket URL devices open (without ticket). */
  readonly url: string;
  /** The bound port (PROCESSOR_PORT=0 picks a free one). */
  readonly port: number;
  /** This node's Prometheus metrics (embedded mode merges it with the orchestrator's). */
  readonly registry: Registry;
  stats(): NodeStats;
  /** The operations map's view of the live index: officers, citizens counted per `cellOf` cell. */
  liveSnapshot(cellOf: (lat: number, lng: number) => string): LiveSnapshot;
  /** Distributed mode's door into this node's live index (src/distributed). */
  readonly replica: ReplicaSeam;
  /** Sends `bye: drain` to every socket, closes them, stops listening. */
  drain(): Promise<void>;
  /** Closes at once (tests). */
  close(): Promise<void>;
}

/** What distributed mode needs from a processor to replicate officers between nodes. */
export interface ReplicaSeam {
  /**
   * Puts (or with `pos` null removes) an officer whose socket is on another node. A put is
   * ignored for an id that has a socket on this node (the local one wins, from its first `loc`);
   * a removal only ever removes a remote entry, so it also applies while the local socket has
   * sent no position yet (the local socket's open already dropped the replica, LiveIndex.dropReplica).
   */
  applyRemoteOfficer(id: string, pos: { lat: number; lng: number } | null, profile: PublicProfile): void;
  /** True when the officer has a socket on this node. */
  isLocalOfficer(id: string): boolean;
  /** Reports local officer and citizen changes; returns the function that stops it. One observer at a time. */
  observe(observer: LiveObserver): () => void;
  /** Records of this node's open sockets (re-announced after a Redis outage). */
  sockets(): SocketRecord[];
}
