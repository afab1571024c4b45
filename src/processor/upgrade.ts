// The websocket upgrade: the ticket is checked here, so a bad one is an HTTP 401 and no socket
// ever exists (SPEC §2). Everything is synchronous, but headers are still copied out of `req`
// first (it is stack-allocated and dies with this callback) and `onAborted` is registered.
import { publicProfile, type TicketReplayGuard, type TicketVerifier } from '../auth/index.js';
import type { ProcessorMetrics } from './metrics.js';
import type { SocketData } from './session.js';
import type { HttpRequest, HttpResponse, us_socket_context_t } from './uws.js';

export interface UpgradeDeps {
  verify: TicketVerifier;
  nodeId: string;
  /** This run of the node (NodeInfo.epoch). */
  epoch: number;
  now: () => number;
  mono: () => number;
  guard: TicketReplayGuard;
  metrics: ProcessorMetrics;
  windowMs: number;
  burst: number;
  /** Why no new socket can be taken now (full, draining), or null. */
  refuseReason: () => string | null;
}

export function handleUpgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t, deps: UpgradeDeps): void {
  const ticket = req.getQuery('ticket') ?? '';
  const wantMsgpack = req.getQuery('enc') === 'msgpack';
  const key = req.getHeader('sec-websocket-key');
  const protocol = req.getHeader('sec-websocket-protocol');
  const extensions = req.getHeader('sec-websocket-extensions');
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });

  const refuse = (status: string, error: string, message: string, reason: string) => {
    deps.metrics.refused.inc({ reason });
    if (aborted) return;
    res.cork(() => {
      res.writeStatus(status).writeHeader('content-type', 'application/json').end(JSON.stringify({ error, message }));
    });
  };

  if (!ticket) return refuse('401 Unauthorized', 'unauthorized', 'a `ticket` query parameter is required', 'missing');
  const now = deps.now();
  const check = deps.verify(ticket, deps.nodeId, deps.epoch, now);
  if (!check.ok) return refuse('401 Unauthorized', 'unauthorized', `ticket refused: ${check.reason}`, check.reason);
  const c = check.claims;
  if (!key) return refuse('400 Bad Request', 'bad_request', 'not a websocket upgrade', 'not_websocket');
  const busy = deps.refuseReason();
  // Capacity is checked before the ticket is spent, so the device can retry with the same one.
  if (busy) return refuse('503 Service Unavailable', 'not_ready', busy, 'unavailable');
  if (!deps.guard.consume(c.jti, c.exp, now)) return refuse('401 Unauthorized', 'unauthorized', 'ticket refused: reused', 'reused');

  const mono = deps.mono();
  const data: SocketData = {
    id: c.sub,
    acct: c.acct,
    role: c.role,
    zip: c.zip,
    // The orchestrator built the profile from the token; cleaned again, as everything a ticket carries.
    profile: publicProfile(c.profile as Record<string, unknown>, c.role),
    openedAt: now,
    windowEndsAt: c.role === 'officer' ? now + deps.windowMs : 0,
    enc: wantMsgpack ? 'msgpack' : 'json',
    ws: null,
    closed: false,
    closeReason: '',
    tokens: deps.burst,
    refilledAt: mono,
    strikes: 0,
    strikeWindowAt: mono,
    available: true,
    lat: NaN,
    lng: NaN,
    pending: c.role === 'officer' ? new Map() : null,
    tokenExp: c.tokenExp,
    pushHeld: false,
    areaLat: c.lat,
    areaLng: c.lng,
    // The speed rule starts from the assignment: a first `loc` far from it, soon after, is a jump.
    anchorLat: c.lat,
    anchorLng: c.lng,
    anchorAt: c.iat,
  };
  if (aborted) return;
  res.cork(() => res.upgrade(data, key, protocol, extensions, context));
}
