// What the processor's handlers share: configuration, the bus, the live index and the socket
// registries. One object built by createNodeContext (for startProcessor), passed to the handler
// modules.
import { performance } from 'node:perf_hooks';
import type { Bus, SocketRecord } from '../coordination/index.js';
import type { Logger } from '../log.js';
import type { ProcessorConfig, ProcessorOptions } from './api.js';
import { ExpiryQueue } from './expiry-queue.js';
import { LiveIndex } from './live.js';
import { createLiveSink } from './live-sink.js';
import { createMetrics } from './metrics.js';
import type { SendContext, SocketData } from './session.js';

export interface NodeContext extends SendContext {
  config: ProcessorConfig;
  nodeId: string;
  /** Public websocket URL: empty until the port is bound (handlers only run after that). */
  url: string;
  bus: Bus;
  logger: Logger;
  /** Wall clock, ms since the epoch (injectable). */
  now: () => number;
  /** Monotonic clock in ms (rate limits, latencies). */
  mono: () => number;
  live: LiveIndex;
  /** Open sockets by profile id, in open order (the window sweep relies on it). */
  officers: Map<string, SocketData>;
  citizens: Map<string, SocketData>;
  /** Every open socket by the end of its device token. */
  credentials: ExpiryQueue<SocketData>;
}

export function socketRecord(ctx: NodeContext, ud: SocketData): SocketRecord {
  const r: SocketRecord = { node: ctx.nodeId, url: ctx.url, role: ud.role, profileId: ud.id, zip: ud.zip, at: ud.openedAt };
  if (ud.role === 'officer') r.available = ud.available;
  return r;
}

/** The registry a socket's role lives in. */
export function registryOf(ctx: NodeContext, ud: SocketData): Map<string, SocketData> {
  return ud.role === 'officer' ? ctx.officers : ctx.citizens;
}

/**
 * Builds the context in dependency order: the send context (metrics, backpressure limit), the sink
 * that writes the live index's answers through it, the live index over that sink, and the rest.
 */
export function createNodeContext(opts: ProcessorOptions): NodeContext {
  const { config, nodeId, bus } = opts;
  const now = opts.now ?? Date.now;
  const mono = () => performance.now();
  const officers = new Map<string, SocketData>();
  const citizens = new Map<string, SocketData>();
  const metrics = createMetrics({
    officers: () => officers.size,
    citizens: () => citizens.size,
    // Read at scrape time only, after `live` below exists.
    indexSize: () => live.officerCount,
    maxSockets: () => config.MAX_SOCKETS,
  });
  const sendCtx: SendContext = { metrics, maxBackpressure: config.MAX_BACKPRESSURE_BYTES };
  const live = new LiveIndex(
    {
      searchRadius: config.SEARCH_RADIUS_M,
      alertRadius: config.ALERT_RADIUS_M,
      precision: config.OFFICER_PRECISION_M,
      distanceStep: config.DISTANCE_STEP_M,
      mono,
    },
    createLiveSink(sendCtx, citizens, metrics),
  );
  return {
    ...sendCtx,
    config,
    nodeId,
    url: '',
    bus,
    logger: opts.logger.child({ node: nodeId }),
    now,
    mono,
    live,
    officers,
    citizens,
    credentials: new ExpiryQueue(now()),
  };
}
