// createOrchestrator: the fastify app with every route, wired to the bus, the processor
// directory and the stores. It knows nothing of embedded or distributed mode: callers pass the
// implementations (in memory and a file, or Redis).
import type { Registry } from 'prom-client';
import { MemoryRequestStore, MemorySocketRecords } from '../adapters/memory/index.js';
import { metricsAccess, ticketSigner, type DeviceKeys } from '../auth/index.js';
import type { Config } from '../config.js';
import type { Bus, ConnectionStream, ProcessorDirectory, RequestStore, SocketRecordStore } from '../coordination/index.js';
import type { Logger } from '../log.js';
import { OperationsMap, type MapLiveSource } from '../map/index.js';
import type { Role } from '../protocol/index.js';
import type { ServerTls } from '../tls.js';
import { listenToProcessors } from './bus-listener.js';
import { ConnectionService } from './connections.js';
import { DeviceAuth, type DeviceIdentity } from './device-auth.js';
import { createHttpApp } from './http-app.js';
import { drainHttp, HTTP_TIMEOUTS, trackSockets, type HttpTimeouts } from './http-timeouts.js';
import { createOrchestratorMetrics, type OrchestratorGauges, type OrchestratorMetrics } from './metrics.js';
import { SlidingWindowLimiter, type RateLimiter } from './rate-limit.js';
import { Readiness } from './readiness.js';
import { authenticateHook } from './request-hooks.js';
import { connectionRoutes } from './routes/connections.js';
import type { RouteContext, TypedApp } from './routes/context.js';
import { opsRoutes } from './routes/ops.js';
import { socketRoutes } from './routes/sockets.js';

export type OrchestratorConfig = Pick<
  Config,
  'TICKET_TTL_MS' | 'REQUEST_TTL_MS' | 'REQUESTS_PER_MINUTE' | 'ASSIGNMENTS_PER_MINUTE' | 'JWT_ISSUER' | 'JWT_AUDIENCE' | 'MAP_MIN_CELL_COUNT' | 'METRICS_TOKEN'
> &
  Partial<Pick<Config, 'DRAIN_TIMEOUT_MS' | 'MAP_TILES_URL' | 'MAP_TILES_ATTRIBUTION'>>;

export interface OrchestratorOptions {
  config: OrchestratorConfig;
  bus: Bus;
  directory: ProcessorDirectory;
  /** Device-token verification keys (resolveDeviceKeys). */
  deviceKeys: DeviceKeys;
  /** Shared with the processors, which verify the tickets. */
  ticketSecret: Buffer;
  /** Established-connections stream; the caller owns it (and closes it after close()). */
  stream: ConnectionStream;
  /** Default: in memory (embedded mode). */
  records?: SocketRecordStore;
  /** Default: in memory (embedded mode). */
  requests?: RequestStore;
  /** Default: REQUESTS_PER_MINUTE per citizen, in memory. */
  limiter?: RateLimiter;
  logger: Logger;
  /** Registries appended to /metrics (embedded mode: the processor's). */
  extraRegistries?: Registry[];
  /** Node.js process metrics (process_*, nodejs_*) on /metrics. Default true. */
  processMetrics?: boolean;
  /** Live index for the operations map (/map): embedded mode passes its processor. Default: none (orchestrator view only). */
  mapSource?: MapLiveSource;
  /** Certificate and key (TLS_CERT_FILE, TLS_KEY_FILE): HTTPS only (and wss:// for /map/feed). */
  tls?: ServerTls;
  /** HTTP server timeouts (default HTTP_TIMEOUTS); tests shorten them. */
  timeouts?: Partial<HttpTimeouts>;
  now?: () => number;
}

export interface Orchestrator {
  readonly app: TypedApp;
  readonly readiness: Readiness;
  readonly connections: ConnectionService;
  readonly records: SocketRecordStore;
  readonly requests: RequestStore;
  readonly metrics: OrchestratorMetrics;
  /**
   * Stops taking socket assignments; /readyz answers 503 from now on. Starts the drain clock:
   * HTTP requests still open DRAIN_TIMEOUT_MS / 2 later are cut off by close().
   */
  setDraining(): void;
  /** Listens; resolves the base URL (http://host:port, https:// with TLS). */
  listen(host: string, port: number): Promise<string>;
  /** Stops the HTTP server, the bus subscription and the expiry timers; waits for decisions in flight. */
  close(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    device: DeviceIdentity | null;
  }
}

export async function createOrchestrator(o: OrchestratorOptions): Promise<Orchestrator> {
  const now = o.now ?? Date.now;
  const logger = o.logger.child({ component: 'orchestrator' });
  const records = o.records ?? new MemorySocketRecords({ now });
  const requests = o.requests ?? new MemoryRequestStore();
  const auth = new DeviceAuth({ keys: o.deviceKeys, issuer: o.config.JWT_ISSUER, audience: o.config.JWT_AUDIENCE, now });
  const stop = { draining: false, drainStartedAt: 0, closed: false };
  const startDrain = () => {
    if (!stop.draining) stop.drainStartedAt = Date.now();
    stop.draining = true;
  };
  const readiness = new Readiness()
    .add({ name: 'processor_nodes', check: () => o.directory.nodes().length > 0 })
    .add({ name: 'draining', check: () => !stop.draining });
  const metrics = createOrchestratorMetrics(gaugeSources(o.directory, records, readiness), { processMetrics: o.processMetrics ?? true });
  const map = operationsMap(o, records, logger, now);
  const limiter = o.limiter ?? new SlidingWindowLimiter(o.config.REQUESTS_PER_MINUTE);
  // The map sees each established connection once it is durable in the stream.
  const connections = new ConnectionService({
    bus: o.bus,
    records,
    requests,
    stream: map.observeStream(o.stream),
    limiter,
    requestTtlMs: o.config.REQUEST_TTL_MS,
    logger,
    metrics,
    now,
  });

  const app = await createHttpApp({ tls: o.tls, timeouts: { ...HTTP_TIMEOUTS, ...o.timeouts }, logger, metrics, isClosed: () => stop.closed });
  const sockets = trackSockets(app.server);
  const ctx = routeContext(o, auth, connections, readiness, metrics, () => stop.draining, now);
  socketRoutes(app, ctx);
  connectionRoutes(app, ctx);
  opsRoutes(app, ctx);
  map.register(app);
  await app.ready();
  const unsubscribe = listenToProcessors({ bus: o.bus, records, connections, metrics, logger });

  return {
    app,
    readiness,
    connections,
    records,
    requests,
    metrics,
    setDraining: startDrain,
    async listen(host, port) {
      await app.listen({ host, port });
      const addr = app.server.address();
      const bound = typeof addr === 'object' && addr ? addr.port : port;
      return `${o.tls ? 'https' : 'http'}://${urlHost(host)}:${bound}`;
    },
    async close() {
      if (stop.closed) return;
      stop.closed = true;
      startDrain();
      unsubscribe();
      map.close();
      // Idle keep-alive sockets go now; a slow or stuck request is cut off at half the budget,
      // which leaves the other half for decisions in flight and the stream.
      const cancel = drainHttp(app.server, sockets, stop.drainStartedAt + (o.config.DRAIN_TIMEOUT_MS ?? 10_000) / 2);
      try {
        await app.close();
      } finally {
        cancel();
      }
      await connections.close();
    },
  };
}

/** What the route modules share. */
function routeContext(
  o: OrchestratorOptions,
  auth: DeviceAuth,
  connections: ConnectionService,
  readiness: Readiness,
  metrics: OrchestratorMetrics,
  isDraining: () => boolean,
  now: () => number,
): RouteContext {
  return {
    authenticate: (role?: Role) => authenticateHook(auth, role),
    device(req) {
      if (!req.device) throw new Error('route without the authenticate hook');
      return req.device;
    },
    directory: o.directory,
    connections,
    readiness,
    metrics,
    metricsAllowed: metricsAccess(o.config.METRICS_TOKEN),
    extraMetrics: async () => (await Promise.all((o.extraRegistries ?? []).map((r) => r.metrics()))).join('\n'),
    signTicket: ticketSigner(o.ticketSecret),
    ticketTtlMs: o.config.TICKET_TTL_MS,
    assignLimiter: new SlidingWindowLimiter(o.config.ASSIGNMENTS_PER_MINUTE),
    isDraining,
    now,
  };
}

/** The operators' live map (/map) over this orchestrator's directory and records. */
function operationsMap(o: OrchestratorOptions, records: SocketRecordStore, logger: Logger, now: () => number): OperationsMap {
  return new OperationsMap({
    auth: { keys: o.deviceKeys, issuer: o.config.JWT_ISSUER, audience: o.config.JWT_AUDIENCE, now },
    directory: o.directory,
    counts: () => records.countsByNode(),
    live: o.mapSource,
    minCellCount: o.config.MAP_MIN_CELL_COUNT,
    tiles: { url: o.config.MAP_TILES_URL, attribution: o.config.MAP_TILES_ATTRIBUTION },
    logger,
    now,
  });
}

/** What the orchestrator's gauges read at scrape time. */
function gaugeSources(directory: ProcessorDirectory, records: SocketRecordStore, readiness: Readiness): OrchestratorGauges {
  return {
    nodes: () => directory.nodes().length,
    busy: async () => {
      let officers = 0;
      let citizens = 0;
      for (const s of (await records.countsByNode()).values()) {
        officers += s.officers;
        citizens += s.citizens;
      }
      return { officers, citizens };
    },
    readiness: () => readiness.report(),
  };
}

/** A host as it appears in a URL a local user can open. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
