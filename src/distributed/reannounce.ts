// After a Redis outage the busy records of this node's open sockets may be gone (a restarted
// Redis without AOF is empty): write them again directly (idempotent SETs) and announce them on
// the bus, at once and again later for orchestrators whose bus subscription came back after ours.
import type { RedisBus, RedisConnection, RedisSocketRecords } from '../adapters/redis/index.js';
import { ORCHESTRATOR_CHANNEL, type SocketRecord } from '../coordination/index.js';
import type { Logger } from '../log.js';

const REANNOUNCE_DELAYS_MS = [0, 3000];

/** Watches the connection; returns the function that stops watching (and cancels pending rounds). */
export function reannounceAfterOutage(
  conn: RedisConnection,
  records: RedisSocketRecords,
  bus: RedisBus,
  sockets: () => SocketRecord[],
  logger: Logger,
): () => void {
  const timers = new Set<NodeJS.Timeout>();
  const reannounce = () => {
    const socks = sockets();
    for (const r of socks) {
      records.put(r).catch(() => {});
      bus.publish(ORCHESTRATOR_CHANNEL, { type: 'socket.open', record: r, again: true });
    }
    logger.info({ sockets: socks.length }, 're-announced open sockets after Redis came back');
  };
  let wasLost = false;
  const offReady = conn.onReadyChange((ready) => {
    if (!ready) {
      wasLost = true;
      return;
    }
    if (!wasLost) return;
    wasLost = false;
    for (const ms of REANNOUNCE_DELAYS_MS) {
      const t = setTimeout(() => {
        timers.delete(t);
        reannounce();
      }, ms);
      t.unref();
      timers.add(t);
    }
  });
  return () => {
    offReady();
    for (const t of timers) clearTimeout(t);
  };
}
