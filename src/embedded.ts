// Embedded mode (SPEC §4): the orchestrator and one processor in one process, wired through an
// in-memory bus, with no Redis and no other service. Device-token key from the environment or
// generated into DATA_DIR; socket tickets signed with a per-process secret unless TICKET_SECRET is
// set; established connections appended to dated segments in DATA_DIR/established/ (a
// DATA_DIR/established.ndjson of earlier versions is kept as history, never written). DATA_DIR is
// 0700 and its files 0600 (util/private-files.ts).
//
// This is the one place that imports both services (STYLE: "neither service imports the other").
import { randomBytes } from 'node:crypto';
import { chmod, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from './config.js';
import { MemoryBus, SingleNodeDirectory } from './adapters/memory/index.js';
import { createLogger, type Logger } from './log.js';
import { resolveDeviceKeys, type DeviceKeys } from './auth/index.js';
import { createOrchestrator, type Orchestrator } from './orchestrator/index.js';
import { dedupeWindowFor, FileConnectionStream, LEGACY_STREAM_FILE_NAME, STREAM_DIR_NAME } from './adapters/memory/index.js';
import { startProcessor, type Processor } from './processor/index.js';
import { serverTls } from './tls.js';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from './util/private-files.js';
import { UndoStack } from './util/undo-stack.js';

export const EMBEDDED_NODE_ID = 'local';

export interface EmbeddedOptions {
  logger?: Logger;
  /** Clock, ms since the epoch (tests). */
  now?: () => number;
}

export interface Embedded {
  /** Base URL of the orchestrator, e.g. http://127.0.0.1:8080 (https:// with TLS_CERT_FILE). */
  orchestratorUrl: string;
  processor: Processor;
  orchestrator: Orchestrator;
  app: Orchestrator['app'];
  deviceKeys: DeviceKeys;
  /** Directory of the established-connections segments (DATA_DIR/established). */
  streamDir: string;
  /**
   * Graceful stop: no new assignments (/readyz 503), `bye: drain` to every socket, decisions in
   * flight finished, stream flushed and closed.
   */
  close(): Promise<void>;
}

export async function startEmbedded(config: Config, opts: EmbeddedOptions = {}): Promise<Embedded> {
  const logger = opts.logger ?? createLogger(config.LOG_LEVEL, 'beacon');
  const nodeId = config.NODE_ID ?? EMBEDDED_NODE_ID;
  // Owner-only before anything is written into it (logged when an older install left it open).
  const was = await ensurePrivateDir(config.DATA_DIR);
  if (was) logger.warn({ dir: config.DATA_DIR, mode: was }, 'DATA_DIR was open to other users: made owner-only (0700)');
  // The orchestrator's /metrics carries the processor's too: no second listener in this mode.
  if (config.METRICS_PORT !== undefined)
    logger.warn('METRICS_PORT is ignored in embedded mode: the orchestrator /metrics carries everything (protect it with METRICS_TOKEN)');
  const deviceKeys = await resolveDeviceKeys(config, { generate: true });
  // Only this process signs and verifies tickets, so a fresh secret per start is enough.
  const ticketSecret = config.TICKET_SECRET ? Buffer.from(config.TICKET_SECRET, 'utf8') : randomBytes(32);
  const tls = serverTls(config);
  // Pushed in start-up order; unwound newest first on a failed start and at graceful close.
  const stack = new UndoStack();
  const bus = new MemoryBus({ logger });
  stack.push(() => bus.close());
  return stack.build(async () => {
    const streamDir = join(config.DATA_DIR, STREAM_DIR_NAME);
    const stream = await FileConnectionStream.open(streamDir, { dedupeWindowMs: dedupeWindowFor(config.REQUEST_TTL_MS), now: opts.now, logger });
    stack.push(() => stream.close());
    await keepLegacyStreamPrivate(config.DATA_DIR, streamDir, logger);
    const processor = await startProcessor({ config, nodeId, ticketSecret, bus, logger, tls, now: opts.now });
    stack.push(() => processor.close());
    const orchestrator = await createOrchestrator({
      config,
      bus,
      directory: new SingleNodeDirectory({ id: nodeId, url: processor.url, epoch: processor.epoch }),
      deviceKeys,
      ticketSecret,
      stream,
      logger,
      extraRegistries: [processor.registry],
      mapSource: processor,
      tls,
      now: opts.now,
    });
    stack.push(() => orchestrator.close());
    // Graceful close from here down: no new assignments, `bye: drain` to every socket; closing
    // sockets publish socket.close, which the bus delivers before the orchestrator unsubscribes.
    stack.push(async () => {
      orchestrator.setDraining();
      await processor.drain();
      await new Promise((r) => setImmediate(r));
    });
    const orchestratorUrl = await orchestrator.listen(config.HOST, config.PORT);
    logger.info({ orchestrator: orchestratorUrl, processor: processor.url, keys: deviceKeys.source, stream: streamDir }, 'beacon embedded mode ready');
    return {
      orchestratorUrl,
      processor,
      orchestrator,
      app: orchestrator.app,
      deviceKeys,
      streamDir,
      async close() {
        await stack.unwind();
        logger.info('beacon stopped');
      },
    };
  });
}

/** established.ndjson of an earlier version: personal data like the segments, so owner-only too; its content is never touched. */
async function keepLegacyStreamPrivate(dataDir: string, streamDir: string, logger: Logger): Promise<void> {
  const legacy = join(dataDir, LEGACY_STREAM_FILE_NAME);
  if (
    !(await stat(legacy).then(
      (s) => s.isFile(),
      () => false,
    ))
  )
    return;
  await chmod(legacy, PRIVATE_FILE_MODE);
  logger.info(
    { legacy, stream: streamDir },
    'established.ndjson of an earlier version is kept as history and no longer written; new events go to dated segments',
  );
}
