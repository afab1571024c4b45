// What the processor's handlers share: configuration, the bus, the live index and the socket
// registries. One object built by startProcessor, passed to the handler modules.
import type { Bus, SocketRecord } from '../coordination/index.js';
import type { Logger } from '../log.js';
import type { ProcessorConfig } from './api.js';
import type { ExpiryQueue } from './expiry-queue.js';
import type { LiveIndex } from './live.js';
import type { SendContext, SocketData } from './session.js';

export interface NodeContext extends SendContext {
  config: ProcessorConfig;
  nodeId: string;
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
