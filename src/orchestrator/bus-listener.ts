// What the orchestrator takes from the bus (ORCHESTRATOR_CHANNEL): processors report sockets
// opening and closing (the busy-socket records) and officers' availability, their free/busy counts, and officers' answers to
// connection requests. Handlers never throw into the bus; store failures are logged.
// A socket that replaces another socket of its profile on another node gets the old one closed:
// the orchestrator whose put reported the replacement (one in the cluster) tells the old node.
import { nodeChannel, ORCHESTRATOR_CHANNEL, type Bus, type BusMessage, type SocketRecord, type SocketRecordStore } from '../coordination/index.js';
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
        o.records.put(msg.record).then((replaced) => tellReplaced(o, msg.record, replaced), fail('recording an open socket'));
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
 * The new socket replaced `replaced` on another node: that node closes it with `bye: replaced`
 * (if it is still that socket). On the same node the processor did it already when the new one opened.
 */
function tellReplaced(o: BusListenerOptions, record: SocketRecord, replaced: SocketRecord | undefined): void {
  if (!replaced || replaced.node === record.node) return;
  o.metrics.socketEvents.inc({ type: 'replaced' });
  o.bus.publish(nodeChannel(replaced.node), { type: 'socket.replaced', record: replaced });
  o.logger.info({ role: record.role, from: replaced.node, to: record.node }, 'socket replaced across nodes: closing the old one');
}
