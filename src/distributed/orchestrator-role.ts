// The `orchestrator` role of distributed mode (issue #5): the HTTP front door over Redis. Any
// number of them share one Redis: live processors from the registry (RedisDirectory, rendezvous
// ownership of zips), busy-socket records and node stats fed from the bus, connection requests
// decided atomically in Redis, established connections XADDed exactly once to a Redis Stream.
// Readiness: Redis answers and at least one processor is live. Records of dead processors are
// reaped periodically (any orchestrator may do it; concurrent reaps are harmless).
import { connectRedis, RedisBus, RedisConnectionStream, RedisDirectory, RedisRequestStore, RedisSocketRecords } from '../adapters/redis/index.js';
import type { Config } from '../config.js';
import { createLogger, type Logger } from '../log.js';
import { resolveDeviceKeys } from '../auth/index.js';
import { createOrchestrator, type Orchestrator } from '../orchestrator/index.js';
import { redisTls, serverTls } from '../tls.js';
import { UndoStack } from '../util/undo-stack.js';

export interface OrchestratorRoleOptions {
  logger?: Logger;
  /** How often the live processor set is re-read (default 1,000 ms). */
  directoryRefreshMs?: number;
  /** How often records of dead processors are reaped (default 5,000 ms). */
  reapEveryMs?: number;
}

export interface OrchestratorRole {
  readonly orchestrator: Orchestrator;
  /** Base URL, e.g. http://127.0.0.1:8080 (https:// with TLS_CERT_FILE). */
  readonly url: string;
  /** Redis key of the established-connections stream. */
  readonly streamKey: string;
  /** Graceful: /readyz 503, HTTP server closed, decisions in flight finished. */
  close(): Promise<void>;
}

export async function startOrchestratorRole(config: Config, opts: OrchestratorRoleOptions = {}): Promise<OrchestratorRole> {
  if (!config.REDIS_URL) throw new Error('the orchestrator role needs REDIS_URL');
  if (!config.TICKET_SECRET) throw new Error('the orchestrator role needs TICKET_SECRET');
  const logger = (opts.logger ?? createLogger(config.LOG_LEVEL, 'beacon')).child({ role: 'orchestrator' });
  // Device keys never generated here: every orchestrator must verify with the same configured key.
  const deviceKeys = await resolveDeviceKeys(config, { generate: false });
  const conn = connectRedis({ url: config.REDIS_URL, cluster: config.REDIS_CLUSTER, tls: redisTls(config), name: 'beacon-orch', logger });
  const ticketSecret = Buffer.from(config.TICKET_SECRET, 'utf8');
  const stack = new UndoStack();
  stack.push(() => conn.close());
  return stack.build(async () => {
    const bus = new RedisBus(conn, { logger });
    stack.push(() => bus.close());
    const stream = new RedisConnectionStream(conn);
    stack.push(() => stream.close());
    const directory = new RedisDirectory(conn, { refreshMs: opts.directoryRefreshMs, logger });
    directory.start();
    stack.push(() => directory.stop());
    const records = new RedisSocketRecords(conn);
    const orchestrator = await createOrchestrator({
      config,
      bus,
      directory,
      deviceKeys,
      ticketSecret,
      stream,
      records,
      requests: new RedisRequestStore(conn),
      logger,
      tls: serverTls(config),
    });
    stack.push(() => orchestrator.close());
    orchestrator.readiness.add({ name: 'redis', check: () => conn.isReady && bus.isReady });
    orchestrator.readiness.add({ name: 'processor_registry', check: () => directory.isReady });
    const reaper = startReaper(records, () => conn.isReady, opts.reapEveryMs ?? 5000, logger);
    stack.push(() => clearInterval(reaper));
    // Graceful close starts here: /readyz 503 first, so load balancers stop sending.
    stack.push(() => orchestrator.setDraining());

    const url = await orchestrator.listen(config.HOST, config.PORT);
    logger.info({ url }, 'orchestrator role ready');
    return {
      orchestrator,
      url,
      streamKey: stream.streamKey,
      async close() {
        await stack.unwind();
        logger.info('orchestrator role stopped');
      },
    };
  });
}

/** Removes the busy records of dead processors every `everyMs` (any orchestrator may; concurrent reaps are harmless). */
function startReaper(records: RedisSocketRecords, ready: () => boolean, everyMs: number, logger: Logger): NodeJS.Timeout {
  let reaping = false;
  const reaper = setInterval(() => {
    if (reaping || !ready()) return;
    reaping = true;
    records
      .reapDeadNodes()
      .then((dead) => {
        if (dead.length > 0) logger.info({ nodes: dead }, 'removed the busy records of dead processors');
      })
      .catch((e: Error) => logger.warn({ err: e.message }, 'reaping dead processors failed'))
      .finally(() => (reaping = false));
  }, everyMs);
  reaper.unref();
  return reaper;
}
