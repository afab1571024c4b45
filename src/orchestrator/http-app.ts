// The orchestrator's fastify instance before any route: server timeouts, TLS, body limit, strict
// query coercion, error shapes, request hooks (our own logging, `not_ready` once stopping) and the
// OpenAPI document with its UI.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import type { Logger } from '../log.js';
import { HTTP_ERRORS, PROTOCOL_VERSION } from '../protocol/index.js';
import type { ServerTls } from '../tls.js';
import { clientErrorResponse, errorHandler, sendError } from './errors.js';
import type { HttpTimeouts } from './http-timeouts.js';
import type { OrchestratorMetrics } from './metrics.js';
import { lazyChildLoggerFactory, responseHook } from './request-hooks.js';
import type { TypedApp } from './routes/context.js';
import { DOCS_PATH } from './routes/ops.js';

/** Request bodies of this API are tiny; anything larger is refused before parsing. */
const BODY_LIMIT = 4096;

export interface HttpAppOptions {
  tls?: ServerTls;
  timeouts: HttpTimeouts;
  logger: Logger;
  metrics: OrchestratorMetrics;
  /** True once close() began: requests then get `not_ready`. */
  isClosed(): boolean;
}

export async function createHttpApp(opts: HttpAppOptions): Promise<TypedApp> {
  const app: TypedApp = Fastify({
    // The https server has the same request and reply types as the http one the routes are typed for.
    ...(opts.tls
      ? {
          https: {
            cert: opts.tls.cert,
            key: opts.tls.key,
            headersTimeout: opts.timeouts.headersMs,
            handshakeTimeout: opts.timeouts.headersMs,
            connectionsCheckingInterval: opts.timeouts.checkEveryMs,
          },
        }
      : { http: { headersTimeout: opts.timeouts.headersMs, connectionsCheckingInterval: opts.timeouts.checkEveryMs } }),
    requestTimeout: opts.timeouts.requestMs,
    connectionTimeout: opts.timeouts.idleMs,
    keepAliveTimeout: opts.timeouts.keepAliveMs,
    // Requests during the stop get our `not_ready` (hook below), not fastify's own 503 body.
    return503OnClosing: false,
    // A timeout or a request Node cannot parse is answered in the contract's {error, message} shape.
    clientErrorHandler: (err, socket) => {
      if (socket.writable && (err as NodeJS.ErrnoException).code !== 'ECONNRESET') socket.end(clientErrorResponse(err));
      else socket.destroy();
    },
    // Request logging is ours (onResponse below): fastify's would log the URL, whose query string
    // holds the device's coordinates, and its error logs could carry the Authorization header.
    loggerInstance: opts.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: lazyChildLoggerFactory,
    bodyLimit: BODY_LIMIT,
    routerOptions: { maxParamLength: 200 },
    // Router-level refusals: an id too long to exist is simply not found; a malformed URL is a 400.
    frameworkErrors: (err, _req, reply) =>
      err.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? sendError(reply, 'not_found')
        : sendError(reply, 'bad_request', `${HTTP_ERRORS.bad_request.message}: malformed URL`),
    ajv: {
      // Strict query coercion: "12.5" → 12.5, but "NaN", "" and repeated parameters (arrays) stay
      // invalid, and unknown fields are refused rather than silently dropped.
      customOptions: { coerceTypes: true, removeAdditional: false, allErrors: false, useDefaults: true },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorateRequest('device', null);
  app.setErrorHandler(errorHandler(opts.logger));
  app.setNotFoundHandler((_req, reply) => sendError(reply, 'not_found'));
  // Once the stop began, a request on a kept-alive socket is told to go elsewhere, in the contract's shape.
  app.addHook('onRequest', (_req, reply, done) => {
    if (!opts.isClosed()) return done();
    reply.header('connection', 'close').header('retry-after', '1');
    sendError(reply, 'not_ready', 'the service is shutting down; retry shortly');
  });
  app.addHook('onResponse', responseHook(opts.metrics, opts.logger));

  await registerDocs(app);
  return app;
}

async function registerDocs(app: TypedApp): Promise<void> {
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
}
