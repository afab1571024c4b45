// The `processor` role of distributed mode (issue #5): one websocket node coordinated through
// Redis. It announces itself in the registry (heartbeat + TTL: Redis is the failure detector),
// talks to orchestrators over the Redis bus, and replicates officers with the other processors
// (replication.ts) so its citizens get the exact nearest officer whatever node holds its socket.
//
// Redis outage: the node keeps serving the sockets it holds from what it knows (local officers);
// when Redis is back the registry re-announces on its own, and this role re-announces the busy
// records of its open sockets (they may be gone: a restarted Redis without AOF is empty).
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Counter, Gauge } from 'prom-client';
import { connectRedis, RedisBus, RedisProcessorRegistry, RedisSocketRecords } from '../adapters/redis/index.js';
import type { Config } from '../config.js';
import { ORCHESTRATOR_CHANNEL } from '../coordination/index.js';
import { createLogger, type Logger } from '../log.js';
import { startMetricsServer, startProcessor, type Processor } from '../processor/index.js';
import { redisTls, serverTls } from '../tls.js';
import { OfficerReplicator, type ReplicatorStats } from './replication.js';
import { Sealer } from '../auth/index.js';

export interface ProcessorRoleOptions {
  logger?: Logger;
  /** Registry timing (tests shorten it). */
  registryTtlMs?: number;
  heartbeatMs?: number;
  /** Replication timing (replication.ts defaults). */
  remoteTtlMs?: number;
  refreshMs?: number;
}

export interface ProcessorRole {
  readonly nodeId: string;
  readonly processor: Processor;
  readonly url: string;
  /** The METRICS_PORT listener's /metrics URL, when METRICS_PORT is set. */
  readonly metricsUrl?: string;
  replication(): ReplicatorStats;
  /** Graceful: leaves the registry, `bye: drain` to every socket, tells the others its officers are gone. */
  close(): Promise<void>;
}

/**
 * Re-announcements after Redis is back: at once (records written directly), and again later for
 * orchestrators whose bus subscription came back after ours.
 */
const REANNOUNCE_DELAYS_MS = [0, 3000];

export async function startProcessorRole(config: Config, opts: ProcessorRoleOptions = {}): Promise<ProcessorRole> {
  if (!config.REDIS_URL) throw new Error('the processor role needs REDIS_URL');
  if (!config.TICKET_SECRET) throw new Error('the processor role needs TICKET_SECRET');
  if (!config.REPLICATION_KEY) throw new Error('the processor role needs REPLICATION_KEY');
  const sealer = new Sealer(config.REPLICATION_KEY);
  const nodeId = config.NODE_ID ?? `${hostname()}-${config.PROCESSOR_PORT || randomBytes(3).toString('hex')}`;
  const logger = (opts.logger ?? createLogger(config.LOG_LEVEL, 'beacon')).child({ role: 'processor' });
  const conn = connectRedis({ url: config.REDIS_URL, cluster: config.REDIS_CLUSTER, tls: redisTls(config), name: `beacon-proc-${nodeId}`, logger });
  const cleanup: (() => Promise<unknown>)[] = [() => conn.close()];
  const undo = async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
  };
  try {
    const bus = new RedisBus(conn, { logger });
    cleanup.push(() => bus.close());
    const records = new RedisSocketRecords(conn);
    // Records a previous incarnation with this id left behind are not ours: clear them before
    // taking sockets. Waits for Redis a while; a node started during an outage still starts.
    await conn.ready(10_000).then(
      () => records.clearNode(nodeId),
      () => logger.warn('Redis not reachable at start; serving anyway, will announce when it is back'),
    );

    const processor = await startProcessor({ config, nodeId, ticketSecret: Buffer.from(config.TICKET_SECRET, 'utf8'), bus, logger, tls: serverTls(config) });
    cleanup.push(() => processor.close());
    const replicator = new OfficerReplicator({
      conn,
      sub: conn.duplicate(`beacon-cells-${nodeId}`),
      seam: processor.replica,
      sealer,
      nodeId,
      searchRadiusM: config.SEARCH_RADIUS_M,
      remoteTtlMs: opts.remoteTtlMs,
      refreshMs: opts.refreshMs,
      logger,
    });
    replicator.start();
    cleanup.push(() => replicator.close());
    // Replication figures on the processor's /metrics (read at scrape time, no hot-path cost).
    new Gauge({
      name: 'beacon_processor_replication',
      help: 'cross-node officer replication: published/received/malformed messages, messages and snapshot entries sealed under another REPLICATION_KEY (wrongKey), snapshots read, remote officers held, cells listened to, remote entries expired',
      labelNames: ['what'],
      registers: [processor.registry],
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
        registers: [processor.registry],
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
        registers: [processor.registry],
        collect() {
          this.reset();
          this.inc({ direction: 'published' }, published());
          this.inc({ direction: 'received' }, received());
        },
      });
    counter('beacon_replication_local_updates_total', 'local officer changes replicated to the other processors (each loc, availability change or leave)', () => stats.localUpdates);
    byDirection('beacon_replication_messages_total', 'sealed cell messages published, and received (own echoes included)', () => stats.published, () => stats.received);
    byDirection('beacon_replication_bytes_total', 'bytes of those messages (sealed, base64)', () => stats.publishedBytes, () => stats.receivedBytes);
    byDirection('beacon_replication_upserts_total', 'officer positions carried: published (moves and heartbeats), received from other nodes', () => stats.publishedUpserts, () => stats.receivedUpserts);
    counter('beacon_replication_redis_commands_total', 'Redis commands sent for replication (PUBLISH, HSET, HDEL, PEXPIRE, HGETALL)', () => stats.commands);
    // Off the device port: METRICS_PORT (its own listener), else /metrics on the device port with
    // METRICS_TOKEN only (server.ts), else nowhere.
    const metricsServer =
      config.METRICS_PORT === undefined
        ? undefined
        : await startMetricsServer({ host: config.METRICS_HOST ?? config.HOST, port: config.METRICS_PORT, registry: processor.registry, token: config.METRICS_TOKEN, logger });
    if (metricsServer) cleanup.push(() => metricsServer.close());
    else if (!config.METRICS_TOKEN) logger.info('processor metrics not served (set METRICS_PORT or METRICS_TOKEN to scrape them)');
    const registry = new RedisProcessorRegistry(conn, { id: nodeId, url: processor.url, startedAt: processor.epoch }, { ttlMs: opts.registryTtlMs, heartbeatMs: opts.heartbeatMs, logger });
    registry.start();
    cleanup.push(() => registry.leave());

    // After an outage: busy records of the sockets held here, written directly (idempotent SETs)
    // and announced on the bus, twice, in case an orchestrator re-subscribed late.
    const timers = new Set<NodeJS.Timeout>();
    const reannounce = () => {
      const socks = processor.replica.sockets();
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
    cleanup.push(async () => {
      offReady();
      for (const t of timers) clearTimeout(t);
    });
    logger.info({ node: nodeId, url: processor.url, metrics: metricsServer?.url, replicationKeyId: sealer.keyId }, 'processor role ready');

    let closing: Promise<void> | undefined;
    return {
      nodeId,
      processor,
      url: processor.url,
      metricsUrl: metricsServer?.url,
      replication: () => ({ ...replicator.stats }),
      close() {
        closing ??= (async () => {
          offReady();
          for (const t of timers) clearTimeout(t);
          // Out of the registry first: orchestrators stop assigning here within a refresh.
          await registry.leave();
          await processor.drain();
          await new Promise((r) => setImmediate(r));
          await replicator.close();
          // Let socket.close messages and the last replication batch leave.
          await new Promise((r) => setTimeout(r, 50));
          await bus.close();
          await conn.close();
          await metricsServer?.close();
          logger.info('processor role stopped');
        })();
        return closing;
      },
    };
  } catch (e) {
    await undo();
    throw e;
  }
}
