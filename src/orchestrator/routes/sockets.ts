// GET /v1/officers/socket, GET /v1/citizens/socket (SPEC §1 step 1): map the position to a zip
// (or check that the given zip can contain it), pick the node that owns the zip's shard, seal a
// single-use ticket bound to profile, role, node run, zip, position and the token's expiry. At
// most ASSIGNMENTS_PER_MINUTE per token subject. The busy-socket record itself is written when
// the processor reports the socket open.
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { GeoError } from '../../geo/index.js';
import { isZip, zipFits, zipOf } from '../../geo/zip-lookup.js';
import { ErrorBody, HTTP_PATHS, SocketAssignment, SocketQuery, type Role } from '../../protocol/index.js';
import { HttpError } from '../errors.js';
import { randomId } from '../ids.js';
import type { RouteContext, TypedApp } from './context.js';

export function socketRoutes(app: TypedApp, ctx: RouteContext): void {
  for (const role of ['officer', 'citizen'] as const) socketRoute(app, ctx, role);
}

/**
 * Ajv coerces any string JavaScript reads as a number ("0x10", " 12", "1e999"); a coordinate is
 * written in decimal, so anything else is refused before coercion sees it.
 */
const DECIMAL = /^[+-]?(\d{1,20}(\.\d{0,20})?|\.\d{1,20})([eE][+-]?\d{1,3})?$/;

// Callback-style hook and a plain (not async) handler: an assignment needs no I/O, so it settles
// without promises or microtasks (the route is the orchestrator's hot path, SPEC §5).
function decimalCoordinates(req: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  const q = req.query as Record<string, unknown>;
  const lat = q.lat;
  const lng = q.lng;
  if ((typeof lat === 'string' && !DECIMAL.test(lat)) || (typeof lng === 'string' && !DECIMAL.test(lng))) done(new HttpError('bad_coordinates'));
  else done();
}

function socketRoute(app: TypedApp, ctx: RouteContext, role: Role): void {
  const path = role === 'officer' ? HTTP_PATHS.officerSocket : HTTP_PATHS.citizenSocket;
  app.get(
    path,
    {
      onRequest: ctx.authenticate(role),
      preValidation: decimalCoordinates,
      // Every body of this route (an assignment here, `{error, message}` from sendError) is built
      // with exactly its schema's fields in the schema's order, so JSON.stringify writes the bytes
      // fast-json-stringify would, and is faster on the long url and ticket strings.
      serializerCompiler: () => (data: unknown) => JSON.stringify(data),
      schema: {
        summary: `Socket assignment for ${role === 'officer' ? 'an officer' : 'a citizen'}`,
        description:
          'Maps the position (or the given zip) to the processor node owning the zip shard and answers with its websocket URL and a ' +
          "short-lived, single-use, opaque ticket (never valid beyond the token's `exp`). A given `zip` must be able to contain the " +
          'position (400 `zip_mismatch`). At most ASSIGNMENTS_PER_MINUTE per token subject (429 `rate_limited`). A citizen socket ' +
          'answers only for positions within CITIZEN_AREA_M of the one given here. `accountId`/`profileId`, when sent, must match the token.',
        tags: ['devices'],
        security: [{ bearer: [] }],
        querystring: SocketQuery,
        response: { 200: SocketAssignment, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 429: ErrorBody, 503: ErrorBody },
      },
    },
    (req) => {
      const who = ctx.device(req);
      const q = req.query;
      if ((q.accountId !== undefined && q.accountId !== who.acct) || (q.profileId !== undefined && q.profileId !== who.sub)) {
        throw new HttpError('id_mismatch');
      }
      // The schema already bounds them; this also holds should the coercion rules ever change.
      if (!Number.isFinite(q.lat) || !Number.isFinite(q.lng)) throw new HttpError('bad_coordinates');
      if (ctx.isDraining()) throw new HttpError('not_ready', 'the service is shutting down; retry shortly');
      const now = ctx.now();
      let zip = q.zip;
      if (zip !== undefined && !isZip(zip)) throw new HttpError('bad_zip');
      if (zip !== undefined && !zipFits(zip, q.lat, q.lng)) throw new HttpError('zip_mismatch');
      if (zip === undefined) {
        try {
          zip = zipOf(q.lat, q.lng);
        } catch (e) {
          if (e instanceof GeoError && (e.code === 'out_of_area' || e.code === 'bad_coordinates')) throw new HttpError(e.code);
          throw e;
        }
      }
      // After the input checks, so a malformed request costs no quota; before the answer, so
      // sockets in many places cannot be collected faster than this.
      if (!ctx.assignLimiter.take(who.sub, now)) throw new HttpError('rate_limited', 'too many socket assignments for this profile; retry in a minute');
      const node = ctx.directory.ownerOf(zip);
      if (!node) {
        ctx.metrics.unowned.inc();
        throw new HttpError('no_processor');
      }
      // A ticket never outlives the token that obtained it.
      const expiresAt = Math.min(now + ctx.ticketTtlMs, who.tokenExp);
      const ticket = ctx.signTicket({
        sub: who.sub,
        acct: who.acct,
        role,
        node: node.id,
        epoch: node.epoch,
        zip,
        profile: who.profile,
        iat: now,
        exp: expiresAt,
        tokenExp: who.tokenExp,
        lat: q.lat,
        lng: q.lng,
        jti: randomId(),
      });
      ctx.metrics.countAssignment(role);
      const sep = node.url.includes('?') ? '&' : '?';
      // A ticket is base64url, characters a URL carries as they are (what encodeURIComponent
      // would return unchanged).
      return { url: `${node.url}${sep}ticket=${ticket}`, ticket, zip, node: node.id, expiresAt };
    },
  );
}
