// The processor's replication figures on its /metrics, read at scrape time (no hot-path cost).
import { Counter, Gauge, type Registry } from 'prom-client';
import type { OfficerReplicator } from './replication.js';

export function registerReplicationMetrics(registry: Registry, replicator: OfficerReplicator): void {
  new Gauge({
    name: 'beacon_processor_replication',
    help: 'cross-node officer replication: published/received/malformed messages, messages and snapshot entries sealed under another REPLICATION_KEY (wrongKey), snapshots read, remote officers held, cells listened to, remote entries expired',
    labelNames: ['what'],
    registers: [registry],
    collect() {
      for (const [k, v] of Object.entries(replicator.stats)) this.set({ what: k }, v);
    },
  });
  // Traffic per officer update: divide these by beacon_replication_local_updates_total.
  const { stats } = replicator;
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  const byDirection = (name: string, help: string, published: () => number, received: () => number) =>
    new Counter({
      name,
      help,
      labelNames: ['direction'],
      registers: [registry],
      collect() {
        this.reset();
        this.inc({ direction: 'published' }, published());
        this.inc({ direction: 'received' }, received());
      },
    });
  counter(
    'beacon_replication_local_updates_total',
    'local officer changes replicated to the other processors (each loc, availability change or leave)',
    () => stats.localUpdates,
  );
  byDirection(
    'beacon_replication_messages_total',
    'sealed cell messages published, and received (own echoes included)',
    () => stats.published,
    () => stats.received,
  );
  byDirection(
    'beacon_replication_bytes_total',
    'bytes of those messages (sealed, base64)',
    () => stats.publishedBytes,
    () => stats.receivedBytes,
  );
  byDirection(
    'beacon_replication_upserts_total',
    'officer positions carried: published (moves and heartbeats), received from other nodes',
    () => stats.publishedUpserts,
    () => stats.receivedUpserts,
  );
  counter('beacon_replication_redis_commands_total', 'Redis commands sent for replication (PUBLISH, HSET, HDEL, PEXPIRE, HGETALL)', () => stats.commands);
}
