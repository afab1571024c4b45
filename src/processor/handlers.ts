// Client frames: rate limit, decode, dispatch by role. Runs inside uWS's `message` handler, so the
// socket is already corked and the frame's ArrayBuffer is only valid until this returns (decoding
// is synchronous, nothing keeps a reference to it).
import { ORCHESTRATOR_CHANNEL } from '../coordination/index.js';
import { decodeClientFrame, WS_ERROR_CODES, type ClientMessage, type WsErrorCode } from '../protocol/index.js';
import { socketRecord, type NodeContext } from './context.js';
import { bye } from './lifecycle.js';
import { checkCitizenMove } from './citizen-area.js';
import { strike, takeToken } from './rate-limit.js';
import { send, type SocketData } from './session.js';
import type { WebSocket } from './uws.js';

export function onMessage(ctx: NodeContext, ws: WebSocket<SocketData>, data: ArrayBuffer, isBinary: boolean): void {
  const ud = ws.getUserData();
  if (ud.closed) return;
  ud.enc = isBinary ? 'msgpack' : 'json';
  const mono = ctx.mono();
  if (!takeToken(ud, mono, ctx.config.MSG_RATE_PER_S, ctx.config.MSG_BURST)) {
    reject(ctx, ud, 'rate_limited', WS_ERROR_CODES.rate_limited, mono);
    return;
  }
  const parsed = decodeClientFrame(data, isBinary);
  if (!parsed.ok) {
    reject(ctx, ud, parsed.code, parsed.message, mono);
    return;
  }
  const msg = parsed.msg;
  ctx.metrics.in[msg.t].inc();
  try {
    if (ud.role === 'officer') officerMessage(ctx, ud, msg, mono);
    else citizenMessage(ctx, ud, msg, mono);
  } catch (e) {
    // Nothing a client sends may take the process down; this is a bug, logged without the frame.
    ctx.logger.error({ err: e, profile: ud.id, t: msg.t }, 'message handler failed');
  }
}

function officerMessage(ctx: NodeContext, ud: SocketData, msg: ClientMessage, mono: number): void {
  switch (msg.t) {
    case 'loc':
      ud.lat = msg.lat;
      ud.lng = msg.lng;
      if (ud.available) ctx.live.applyOfficer(ud.id, { lat: msg.lat, lng: msg.lng }, { profile: ud.profile });
      return;
    case 'avail':
      if (ud.available !== msg.on) ctx.bus.publish(ORCHESTRATOR_CHANNEL, { type: 'socket.avail', record: { ...socketRecord(ctx, ud), available: msg.on } });
      ud.available = msg.on;
      if (!msg.on) ctx.live.applyOfficer(ud.id, null, { profile: ud.profile });
      else if (!Number.isNaN(ud.lat)) ctx.live.applyOfficer(ud.id, { lat: ud.lat, lng: ud.lng }, { profile: ud.profile });
      return;
    case 'resp': {
      if (!ud.pending?.delete(msg.id)) {
        reject(ctx, ud, 'unknown_request', WS_ERROR_CODES.unknown_request, mono);
        return;
      }
      // The orchestrator decides the final status (it may have expired) and answers with conn.update.
      ctx.bus.publish(ORCHESTRATOR_CHANNEL, { type: 'conn.resp', requestId: msg.id, officerId: ud.id, accept: msg.accept });
      return;
    }
    case 'ping':
      send(ctx, ud, { t: 'pong', at: ctx.now() });
      return;
  }
}

function citizenMessage(ctx: NodeContext, ud: SocketData, msg: ClientMessage, mono: number): void {
  switch (msg.t) {
    case 'loc': {
      const refused = checkCitizenMove(ctx.config, ud, msg.lat, msg.lng, ctx.now());
      if (refused) {
        reject(ctx, ud, refused, WS_ERROR_CODES[refused], mono);
        return;
      }
      ctx.live.citizenLoc(ud.id, msg.lat, msg.lng);
      ctx.metrics.locHandling.observe((ctx.mono() - mono) / 1000);
      return;
    }
    case 'ping':
      send(ctx, ud, { t: 'pong', at: ctx.now() });
      return;
    case 'avail':
    case 'resp':
      reject(ctx, ud, 'not_allowed', `citizens may not send \`${msg.t}\``, mono);
      return;
  }
}

/** `err` for a refused frame, and a strike: past the abuse threshold the socket gets `bye: abuse`. */
function reject(ctx: NodeContext, ud: SocketData, code: WsErrorCode, message: string, mono: number): void {
  ctx.metrics.errors[code].inc();
  if (strike(ud, mono)) {
    bye(ctx, ud, 'abuse', false);
    return;
  }
  send(ctx, ud, { t: 'err', code, message });
}
