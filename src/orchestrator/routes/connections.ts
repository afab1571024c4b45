// POST /v1/connections (a citizen asks to connect with an officer) and GET /v1/connections/:id
// (either party reads the request's status). The relay and the decision live in connections.ts.
import { ConnectionAccepted, ConnectionParams, ConnectionRecord, ConnectionRequestBody, ErrorBody, HTTP_PATHS } from '../../protocol/index.js';
import { strictBodyCompiler } from '../strict-body.js';
import type { RouteContext, TypedApp } from './context.js';

export function connectionRoutes(app: TypedApp, ctx: RouteContext): void {
  app.post(
    HTTP_PATHS.connections,
    {
      onRequest: ctx.authenticate('citizen'),
      validatorCompiler: strictBodyCompiler,
      schema: {
        summary: 'Ask to connect with an officer',
        description:
          "Relays the request to the officer's socket (`req`). The officer must hold an open socket and be available " +
          '(409 `officer_unavailable` otherwise, the same answer in both cases). The answer ' +
          'arrives as `conn` on both sockets; the request expires after REQUEST_TTL_MS. Limited to REQUESTS_PER_MINUTE per citizen. ' +
          "Asking again while this citizen's request to the officer is pending answers the same id; an officer with 32 " +
          'pending requests refuses new ones (429 `officer_busy`). An accept is `accepted` only once it is in the ' +
          'established-connections stream (`failed` if the stream never takes it within REQUEST_TTL_MS of the answer).',
        tags: ['connections'],
        security: [{ bearer: [] }],
        body: ConnectionRequestBody,
        response: { 202: ConnectionAccepted, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 409: ErrorBody, 429: ErrorBody, 503: ErrorBody },
      },
    },
    async (req, reply) => {
      const created = await ctx.connections.request(ctx.device(req), req.body.officerId);
      return reply.code(202).send(created);
    },
  );

  app.get(
    `${HTTP_PATHS.connections}/:id`,
    {
      onRequest: ctx.authenticate(),
      schema: {
        summary: 'Status of a connection request',
        description:
          'Only the citizen who asked and the officer asked may read it; to anyone else it does not exist (404). ' +
          'An accepted request reads `pending` until its event is in the stream, then `accepted` (or `failed`).',
        tags: ['connections'],
        security: [{ bearer: [] }],
        params: ConnectionParams,
        response: { 200: ConnectionRecord, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (req) => ctx.connections.get(req.params.id, ctx.device(req)),
  );
}
