// What the orchestrator takes from the bus (ORCHESTRATOR_CHANNEL): processors report sockets
// opening and closing (the busy-socket records) and officers' availability, their free/busy counts, and officers' answers to
// connection requests. Handlers never throw into the bus; store failures are logged.
// A socket that replaces another socket of its profile on another node gets the old one closed:
// the orchestrator whose put reported the replacement (one in the cluster) tells the old node.
import { nodeChannel, ORCHESTRATOR_CHANNEL, type Bus, type BusMessage, type PutResult, type SocketRecord, type SocketRecordStore } from '../coordination/index.js';
import type { Logger } from '../log.js';
import type { ConnectionService } from './connections.js';
import type { OrchestratorMetrics } from './metrics.js';

export interface BusListenerOptions {
  bus: Bus;
  records: SocketRecordStore;
  connections: ConnectionService;
  metrics: OrchestratorMetrics;
  logger: Logger;
}

/** Subscribes; returns the unsubscribe function. */
export function listenToProcessors(o: BusListenerOptions): () => void {
  const fail = (what: string) => (e: unknown) => o.logger.error({ err: e }, `${what} failed`);
  return o.bus.subscribe(ORCHESTRATOR_CHANNEL, (msg: BusMessage) => {
    switch (msg.type) {
      case 'socket.open':
        o.metrics.socketEvents.inc({ type: 'open' });
        o.records.put(msg.record).then((r) => tellReplaced(o, msg.record, msg.again === true ? { superseded: r.superseded } : r), fail('recording an open socket'));
        return;
      case 'socket.close':
        o.metrics.socketEvents.inc({ type: 'close' });
        // Removes only this socket's record: a replacement that opened meanwhile keeps its own.
        o.records.remove(msg.record).catch(fail('removing a closed socket'));
        return;
      case 'socket.avail':
        o.records.setAvailable(msg.record, msg.record.available !== false).catch(fail('recording an officer availability'));
        return;
      case 'node.stats':
        o.records.putStats(msg.stats).catch(fail('storing node stats'));
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
