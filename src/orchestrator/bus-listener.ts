// What the orchestrator takes from the bus (ORCHESTRATOR_CHANNEL): processors report sockets
// opening and closing (the busy-socket records) and officers' availability, their free/busy counts, and officers' answers to
// connection requests. Handlers never throw into the bus; store failures are logged (at most one
// line per 10 s per kind, with the count: a burst of failures must not flood the log). Record
// writes go through one ordered queue with at most RECORD_CONCURRENCY in flight: a connect storm's
// opens wait their turn instead of overflowing the Redis client's queue and failing.
// A socket that replaces another socket of its profile on another node gets the old one closed:
// the orchestrator whose put reported the replacement (one in the cluster) tells the old node.
import {
  nodeChannel,
  ORCHESTRATOR_CHANNEL,
  type Bus,
  type BusMessage,
  type PutResult,
  type SocketRecord,
  type SocketRecordStore,
} from '../coordination/index.js';
import type { Logger } from '../log.js';
import { WorkQueue } from '../util/work-queue.js';
import type { ConnectionService } from './connections.js';
import type { OrchestratorMetrics } from './metrics.js';

export interface BusListenerOptions {
  bus: Bus;
  records: SocketRecordStore;
  connections: ConnectionService;
  metrics: OrchestratorMetrics;
  logger: Logger;
}

/** Record writes in flight at once (the Redis client refuses commands past 10,000 queued). */
const RECORD_CONCURRENCY = 500;
/** Record writes waiting beyond this are refused and logged (~200 bytes each). */
const RECORD_BACKLOG = 500_000;
const FAIL_LOG_MS = 10_000;

/** Subscribes; returns the unsubscribe function. */
export function listenToProcessors(o: BusListenerOptions): () => void {
  const logged = new Map<string, { at: number; since: number }>();
  const fail = (what: string) => (e: unknown) => {
    const now = performance.now();
    const l = logged.get(what) ?? { at: -Infinity, since: 0 };
    logged.set(what, l);
    l.since++;
    if (now - l.at < FAIL_LOG_MS) return;
    o.logger.error({ err: e, failed: l.since }, `${what} failed`);
    l.at = now;
    l.since = 0;
  };
  const queue = new WorkQueue(RECORD_CONCURRENCY, RECORD_BACKLOG);
  const write = (what: string, job: () => Promise<unknown>) => {
    if (!queue.push(() => job().catch(fail(what)))) fail(what)(new Error(`${RECORD_BACKLOG} record writes already waiting`));
  };
  return o.bus.subscribe(ORCHESTRATOR_CHANNEL, (msg: BusMessage) => {
    switch (msg.type) {
      case 'socket.open':
        o.metrics.socketEvents.inc({ type: 'open' });
        write('recording an open socket', () =>
          o.records.put(msg.record).then((r) => tellReplaced(o, msg.record, msg.again === true ? { superseded: r.superseded } : r)),
        );
        return;
      case 'socket.close':
        o.metrics.socketEvents.inc({ type: 'close' });
        // Removes only this socket's record: a replacement that opened meanwhile keeps its own.
        write('removing a closed socket', () => o.records.remove(msg.record));
        return;
      case 'socket.avail':
        write('recording an officer availability', () => o.records.setAvailable(msg.record, msg.record.available !== false));
        return;
      case 'node.stats':
        write('storing node stats', () => o.records.putStats(msg.stats));
        return;
      case 'conn.resp':
        o.connections.onResponse(msg.requestId, msg.officerId, msg.accept);
        return;
      default:
        return; // processor-bound messages are not for us
    }
  });
}

/**
 * The new socket replaced `r.replaced` on another node: that node closes it with `bye: replaced`
 * (if it is still that socket). On the same node the processor did it already when the new one
 * opened. A re-announcement (`again`) replaces nobody: after Redis lost its data, re-announcements
 * arrive in any order. A `superseded` socket (its open is reported after a newer socket of the
 * profile was recorded: another orchestrator's late put, or a node re-announcing a socket whose
 * `socket.replaced` was lost with Redis) is closed the same way; a duplicate is harmless.
 */
function tellReplaced(o: BusListenerOptions, record: SocketRecord, r: PutResult): void {
  if (r.superseded) {
    o.metrics.socketEvents.inc({ type: 'superseded' });
    o.bus.publish(nodeChannel(record.node), { type: 'socket.replaced', record });
    o.logger.debug({ role: record.role, node: record.node }, 'open of an already replaced socket: closing it');
    return;
  }
  const old = r.replaced;
  if (!old || old.node === record.node) return;
  o.metrics.socketEvents.inc({ type: 'replaced' });
  o.bus.publish(nodeChannel(old.node), { type: 'socket.replaced', record: old });
  o.logger.info({ role: record.role, from: old.node, to: record.node }, 'socket replaced across nodes: closing the old one');
}
