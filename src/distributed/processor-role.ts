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
import { connectRedis, RedisBus, RedisProcessorRegistry, RedisSocketRecords } from '../adapters/redis/index.js';
import type { Config } from '../config.js';
import { createLogger, type Logger } from '../log.js';
import { startMetricsServer, startProcessor, type MetricsServer, type Processor } from '../processor/index.js';
import { redisTls, serverTls } from '../tls.js';
import { UndoStack } from '../util/undo-stack.js';
import { reannounceAfterOutage } from './reannounce.js';
import { registerReplicationMetrics } from './replication-metrics.js';
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

export async function startProcessorRole(config: Config, opts: ProcessorRoleOptions = {}): Promise<ProcessorRole> {
  if (!config.REDIS_URL) throw new Error('the processor role needs REDIS_URL');
  if (!config.TICKET_SECRET) throw new Error('the processor role needs TICKET_SECRET');
  if (!config.REPLICATION_KEY) throw new Error('the processor role needs REPLICATION_KEY');
  const sealer = new Sealer(config.REPLICATION_KEY);
  const nodeId = config.NODE_ID ?? `${hostname()}-${config.PROCESSOR_PORT || randomBytes(3).toString('hex')}`;
  const logger = (opts.logger ?? createLogger(config.LOG_LEVEL, 'beacon')).child({ role: 'processor' });
  const conn = connectRedis({ url: config.REDIS_URL, cluster: config.REDIS_CLUSTER, tls: redisTls(config), name: `beacon-proc-${nodeId}`, logger });
  const ticketSecret = Buffer.from(config.TICKET_SECRET, 'utf8');
  // Pushed in start-up order; unwound newest first on a failed start and at graceful close.
  const stack = new UndoStack();
  stack.push(() => conn.close());
  return stack.build(async () => {
    const bus = new RedisBus(conn, { logger });
    stack.push(() => bus.close());
    // Let socket.close messages and the last replication batch leave before the bus closes.
    stack.push(() => new Promise((r) => setTimeout(r, 50)));
    const records = new RedisSocketRecords(conn);
    // Records a previous incarnation with this id left behind are not ours: clear them before
    // taking sockets. Waits for Redis a while; a node started during an outage still starts.
    await conn.ready(10_000).then(
      () => records.clearNode(nodeId),
      () => logger.warn('Redis not reachable at start; serving anyway, will announce when it is back'),
    );

    const processor = await startProcessor({ config, nodeId, ticketSecret, bus, logger, tls: serverTls(config) });
    stack.push(() => processor.close());
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
    stack.push(() => replicator.close());
    registerReplicationMetrics(processor.registry, replicator);
    const metricsServer = await serveMetrics(config, processor, logger);
    if (metricsServer) stack.push(() => metricsServer.close());
    // Graceful close from here down: `bye: drain` to every socket before replication stops.
    stack.push(async () => {
      await processor.drain();
      await new Promise((r) => setImmediate(r));
    });
    const registry = new RedisProcessorRegistry(
      conn,
      { id: nodeId, url: processor.url, startedAt: processor.epoch },
      { ttlMs: opts.registryTtlMs, heartbeatMs: opts.heartbeatMs, logger },
    );
    registry.start();
    // Out of the registry first: orchestrators stop assigning here within a refresh.
    stack.push(() => registry.leave());
    stack.push(reannounceAfterOutage(conn, records, bus, () => processor.replica.sockets(), logger));
    logger.info({ node: nodeId, url: processor.url, metrics: metricsServer?.url, replicationKeyId: sealer.keyId }, 'processor role ready');

    return {
      nodeId,
      processor,
      url: processor.url,
      metricsUrl: metricsServer?.url,
      replication: () => ({ ...replicator.stats }),
      async close() {
        await stack.unwind();
        logger.info('processor role stopped');
      },
    };
  });
}

/**
 * Off the device port: METRICS_PORT (its own listener), else /metrics on the device port with
 * METRICS_TOKEN only (processor/http-app.ts), else nowhere.
 */
async function serveMetrics(config: Config, processor: Processor, logger: Logger): Promise<MetricsServer | undefined> {
  if (config.METRICS_PORT === undefined) {
    if (!config.METRICS_TOKEN) logger.info('processor metrics not served (set METRICS_PORT or METRICS_TOKEN to scrape them)');
    return undefined;
  }
  return startMetricsServer({
    host: config.METRICS_HOST ?? config.HOST,
    port: config.METRICS_PORT,
    registry: processor.registry,
    token: config.METRICS_TOKEN,
    logger,
  });
}
