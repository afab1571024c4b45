// createOrchestrator: the fastify app with every route, wired to the bus, the processor
// directory and the stores. It knows nothing of embedded or distributed mode: callers pass the
// implementations (in memory and a file, or Redis).
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Bus, ConnectionStream, ProcessorDirectory, RequestStore, SocketRecordStore } from '../coordination/index.js';
import type { Logger } from '../log.js';
import type { ServerTls } from '../tls.js';
import { HTTP_ERRORS, PROTOCOL_VERSION, type Role } from '../protocol/index.js';
import { OperationsMap, type MapLiveSource } from '../map/index.js';
import { listenToProcessors } from './bus-listener.js';
import { ConnectionService } from './connections.js';
import { DeviceAuth, type DeviceIdentity } from './device-auth.js';
import { metricsAccess, ticketSigner, type DeviceKeys } from '../auth/index.js';
import { clientErrorResponse, errorHandler, sendError } from './errors.js';
import { MemoryRequestStore, MemorySocketRecords } from '../adapters/memory/index.js';
import { createOrchestratorMetrics, type OrchestratorMetrics } from './metrics.js';
import { SlidingWindowLimiter, type RateLimiter } from './rate-limit.js';
import { drainHttp, HTTP_TIMEOUTS, trackSockets, type HttpTimeouts } from './http-timeouts.js';
import { Readiness } from './readiness.js';
import { authenticateHook, lazyChildLoggerFactory, responseHook } from './request-hooks.js';
import { connectionRoutes } from './routes/connections.js';
import type { RouteContext, TypedApp } from './routes/context.js';
import { DOCS_PATH, opsRoutes } from './routes/ops.js';
import { socketRoutes } from './routes/sockets.js';

export type OrchestratorConfig = Pick<
  Config,
  'TICKET_TTL_MS' | 'REQUEST_TTL_MS' | 'REQUESTS_PER_MINUTE' | 'ASSIGNMENTS_PER_MINUTE' | 'JWT_ISSUER' | 'JWT_AUDIENCE' | 'MAP_MIN_CELL_COUNT' | 'METRICS_TOKEN'
> & Partial<Pick<Config, 'DRAIN_TIMEOUT_MS' | 'MAP_TILES_URL' | 'MAP_TILES_ATTRIBUTION'>>;

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

/** Request bodies of this API are tiny; anything larger is refused before parsing. */
const BODY_LIMIT = 4096;

export async function createOrchestrator(o: OrchestratorOptions): Promise<Orchestrator> {
  const now = o.now ?? Date.now;
  const logger = o.logger.child({ component: 'orchestrator' });
  const records = o.records ?? new MemorySocketRecords({ now });
  const requests = o.requests ?? new MemoryRequestStore();
  const limiter = o.limiter ?? new SlidingWindowLimiter(o.config.REQUESTS_PER_MINUTE);
  const auth = new DeviceAuth({ keys: o.deviceKeys, issuer: o.config.JWT_ISSUER, audience: o.config.JWT_AUDIENCE, now });
  let draining = false;
  let drainStartedAt = 0;
  const timeouts = { ...HTTP_TIMEOUTS, ...o.timeouts };
  const startDrain = () => {
    if (!draining) drainStartedAt = Date.now();
    draining = true;
  };

  const metrics = createOrchestratorMetrics(
    {
      nodes: () => o.directory.nodes().length,
      busy: async () => {
        let officers = 0;
        let citizens = 0;
        for (const s of (await records.countsByNode()).values()) {
          officers += s.officers;
          citizens += s.citizens;
        }
        return { officers, citizens };
      },
      // Read at scrape time only, after `readiness` below exists.
      readiness: () => readiness.report(),
    },
    { processMetrics: o.processMetrics ?? true },
  );
  const readiness = new Readiness()
    .add({ name: 'processor_nodes', check: () => o.directory.nodes().length > 0 })
    .add({ name: 'draining', check: () => !draining });
  const map = new OperationsMap({
    auth: { keys: o.deviceKeys, issuer: o.config.JWT_ISSUER, audience: o.config.JWT_AUDIENCE, now },
    directory: o.directory,
    counts: () => records.countsByNode(),
    live: o.mapSource,
    minCellCount: o.config.MAP_MIN_CELL_COUNT,
    tiles: { url: o.config.MAP_TILES_URL, attribution: o.config.MAP_TILES_ATTRIBUTION },
    logger,
    now,
  });
  // The map sees each established connection once it is durable in the stream.
  const connections = new ConnectionService({ bus: o.bus, records, requests, stream: map.observeStream(o.stream), limiter, requestTtlMs: o.config.REQUEST_TTL_MS, logger, metrics, now });

  const app: TypedApp = Fastify({
    // The https server has the same request and reply types as the http one the routes are typed for.
    ...(o.tls
      ? { https: { cert: o.tls.cert, key: o.tls.key, headersTimeout: timeouts.headersMs, handshakeTimeout: timeouts.headersMs, connectionsCheckingInterval: timeouts.checkEveryMs } }
      : { http: { headersTimeout: timeouts.headersMs, connectionsCheckingInterval: timeouts.checkEveryMs } }),
    requestTimeout: timeouts.requestMs,
    connectionTimeout: timeouts.idleMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    // Requests during the stop get our `not_ready` (hook below), not fastify's own 503 body.
    return503OnClosing: false,
    // A timeout or a request Node cannot parse is answered in the contract's {error, message} shape.
    clientErrorHandler: (err, socket) => {
      if (socket.writable && (err as NodeJS.ErrnoException).code !== 'ECONNRESET') socket.end(clientErrorResponse(err));
      else socket.destroy();
    },
    // Request logging is ours (onResponse below): fastify's would log the URL, whose query string
    // holds the device's coordinates, and its error logs could carry the Authorization header.
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: lazyChildLoggerFactory,
    bodyLimit: BODY_LIMIT,
    routerOptions: { maxParamLength: 200 },
    // Router-level refusals: an id too long to exist is simply not found; a malformed URL is a 400.
    frameworkErrors: (err, _req, reply) =>
      err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? sendError(reply, 'not_found') : sendError(reply, 'bad_request', `${HTTP_ERRORS.bad_request.message}: malformed URL`),
    ajv: {
      // Strict query coercion: "12.5" → 12.5, but "NaN", "" and repeated parameters (arrays) stay
      // invalid, and unknown fields are refused rather than silently dropped.
      customOptions: { coerceTypes: true, removeAdditional: false, allErrors: false, useDefaults: true },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorateRequest('device', null);
  app.setErrorHandler(errorHandler(logger));
  app.setNotFoundHandler((_req, reply) => sendError(reply, 'not_found'));
  const sockets = trackSockets(app.server);
  let closed = false;
  // Once the stop began, a request on a kept-alive socket is told to go elsewhere, in the contract's shape.
  app.addHook('onRequest', (_req, reply, done) => {
    if (!closed) return done();
    reply.header('connection', 'close').header('retry-after', '1');
    sendError(reply, 'not_ready', 'the service is shutting down; retry shortly');
  });
  app.addHook('onResponse', responseHook(metrics, logger));

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Beacon orchestrator',
        version: String(PROTOCOL_VERSION),
        description: 'Socket assignment and connection requests of Beacon. The websocket contract is in docs/protocol.md.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
  });
  // Assets are served from the package itself: the page works offline.
  await app.register(swaggerUi, { routePrefix: DOCS_PATH });

  const ctx: RouteContext = {
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
    isDraining: () => draining,
    now,
  };
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
      if (closed) return;
      closed = true;
      startDrain();
      unsubscribe();
      map.close();
      // Idle keep-alive sockets go now; a slow or stuck request is cut off at half the budget,
      // which leaves the other half for decisions in flight and the stream.
      const cancel = drainHttp(app.server, sockets, drainStartedAt + (o.config.DRAIN_TIMEOUT_MS ?? 10_000) / 2);
      try {
        await app.close();
      } finally {
        cancel();
      }
      await connections.close();
    },
  };
}

/** A host as it appears in a URL a local user can open. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
