// Operations: liveness, readiness, Prometheus metrics, the OpenAPI document. No device auth;
// /metrics requires METRICS_TOKEN as a bearer token when it is set (devices reach this port).
import { Type } from '@sinclair/typebox';
import { METRICS_CHALLENGE, METRICS_UNAUTHORIZED } from '../../auth/index.js';
import { ErrorBody, HTTP_PATHS } from '../../protocol/index.js';
import { sendError } from '../errors.js';
import type { RouteContext, TypedApp } from './context.js';

export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';

/** The 200 of /metrics, for the OpenAPI document: Prometheus text, not JSON (no serializer runs for it). */
const MetricsText = { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: Type.String() } } };

export function opsRoutes(app: TypedApp, ctx: RouteContext): void {
  app.get(
    HTTP_PATHS.health,
    { schema: { summary: 'Liveness: 200 while the process serves', tags: ['operations'], response: { 200: Type.Object({ ok: Type.Boolean() }) } } },
    async () => ({ ok: true }),
  );

  app.get(
    HTTP_PATHS.ready,
    {
      schema: {
        summary: 'Readiness: 200 when assignments can be served',
        description: '503 `not_ready` while no processor node is known, while shutting down, or (distributed mode) while Redis is unreachable.',
        tags: ['operations'],
        response: { 200: Type.Object({ ready: Type.Boolean() }), 503: ErrorBody },
      },
    },
    async (_req, reply) => {
      const r = await ctx.readiness.evaluate();
      if (!r.ready) return sendError(reply, 'not_ready', `not ready: ${r.failing.join(', ')}`);
      return { ready: true };
    },
  );

  app.get(
    HTTP_PATHS.metrics,
    {
      schema: {
        summary: 'Prometheus metrics (text format)',
        description: 'With `METRICS_TOKEN` set, requires `Authorization: Bearer <METRICS_TOKEN>` (401 `unauthorized` otherwise).',
        tags: ['operations'],
        security: [{}, { bearer: [] }],
        response: { 200: MetricsText, 401: ErrorBody },
      },
      onRequest: async (req, reply) => {
        if (ctx.metricsAllowed(req.headers.authorization)) return;
        reply.header('www-authenticate', METRICS_CHALLENGE);
        return sendError(reply, 'unauthorized', METRICS_UNAUTHORIZED);
      },
    },
    async (_req, reply) => {
      const own = await ctx.metrics.registry.metrics();
      const extra = await ctx.extraMetrics();
      return reply.type(ctx.metrics.registry.contentType).send(extra ? `${own}\n${extra}` : own);
    },
  );

  app.get(OPENAPI_PATH, { schema: { hide: true } }, async () => app.swagger());
}
