// Socket lifecycle: open (hello, replacement, socket.open), close (state and index cleanup,
// socket.close), the officer window sweep and shutdown.
import { ORCHESTRATOR_CHANNEL } from '../coordination/index.js';
import { CLOSE_CODES, MAX_PENDING_PER_OFFICER, PROTOCOL_VERSION, type ByeReason, type HelloMessage } from '../protocol/index.js';
import { registryOf, socketRecord, type NodeContext } from './context.js';
import { send, type SocketData } from './session.js';
import type { WebSocket } from './uws.js';

export function onOpen(ctx: NodeContext, ws: WebSocket<SocketData>): void {
  const ud = ws.getUserData();
  ud.ws = ws;
  const reg = registryOf(ctx, ud);
  const old = reg.get(ud.id);
  if (old) {
    // The device reconnected: unanswered requests follow it to the new socket.
    if (old.pending && ud.pending) for (const [id, exp] of old.pending) ud.pending.set(id, exp);
    // Its close handler runs inside `end` and still sees `old` registered, so it removes the old
    // index entry and publishes socket.close before the new socket.open below.
    bye(ctx, old, 'replaced', false);
    reg.delete(ud.id);
  }
  reg.set(ud.id, ud);
  ctx.credentials.add(ud);
  if (ud.role === 'citizen') ctx.live.addCitizen(ud.id);
  // Distributed: a replica of this officer from another node must not keep serving its old
  // position; the officer is shown again from its own first `loc`.
  else ctx.live.dropReplica(ud.id);

  const hello: HelloMessage = {
    t: 'hello',
    id: ud.id,
    role: ud.role,
    zip: ud.zip,
    radius: ctx.config.SEARCH_RADIUS_M,
    alertRadius: ctx.config.ALERT_RADIUS_M,
    v: PROTOCOL_VERSION,
  };
  if (ud.role === 'officer') hello.windowEndsAt = ud.windowEndsAt;
  send(ctx, ud, hello);
  ctx.bus.publish(ORCHESTRATOR_CHANNEL, { type: 'socket.open', record: socketRecord(ctx, ud) });
  ctx.logger.debug({ profile: ud.id, role: ud.role, replaced: old !== undefined }, 'socket open');
}

export function onClose(ctx: NodeContext, ws: WebSocket<SocketData>, code: number): void {
  const ud = ws.getUserData();
  if (ud.closed) return;
  ud.closed = true;
  ud.ws = null;
  ctx.credentials.delete(ud);
  // uWS reports 1006 for drops, idle timeouts and frames above maxPayloadLength (it closes those itself).
  const reason = ud.closeReason || (code === 1006 ? 'dropped' : code === 1009 ? 'too_large' : 'client');
  ctx.metrics.closes.inc({ reason });
  const reg = registryOf(ctx, ud);
  // Only the current socket of a profile owns its state: a replaced one must not remove its successor's.
  if (reg.get(ud.id) === ud) {
    reg.delete(ud.id);
    if (ud.role === 'officer') ctx.live.applyOfficer(ud.id, null, { profile: ud.profile });
    else ctx.live.removeCitizen(ud.id);
  }
  ctx.bus.publish(ORCHESTRATOR_CHANNEL, { type: 'socket.close', record: socketRecord(ctx, ud), reason });
  const level = reason === 'abuse' || reason === 'backpressure' ? 'warn' : 'debug';
  ctx.logger[level]({ profile: ud.id, role: ud.role, code, reason }, 'socket closed');
}

/**
 * `bye` then close with the paired code. `corked` is for callers outside a uWS handler (timers,
 * the bus); inside a handler the socket is already corked by uWS and must not be corked again.
 */
export function bye(ctx: NodeContext, ud: SocketData, reason: ByeReason, corked: boolean): void {
  const ws = ud.ws;
  if (ud.closed || ws === null) return;
  ud.closeReason = reason;
  send(ctx, ud, { t: 'bye', reason }, corked);
  if (!ud.closed) ws.end(CLOSE_CODES[reason], reason);
}

/**
 * Ends the officers whose window is over. Every window has the same length and starts at open,
 * so the registry's open order is expiry order: the sweep stops at the first live one.
 */
export function expireWindows(ctx: NodeContext): void {
  const now = ctx.now();
  for (const ud of ctx.officers.values()) {
    if (ud.windowEndsAt > now) break;
    bye(ctx, ud, 'window_expired', true);
  }
}

/** Ends the sockets whose device token expired: `bye: unauthorized` (4003), as the token no longer holds. */
export function expireCredentials(ctx: NodeContext): void {
  ctx.credentials.sweep(ctx.now(), (ud) => bye(ctx, ud, 'unauthorized', true));
}

/** Closes every socket: with `bye: drain` when `ceremony`, forcefully otherwise. */
export function closeAll(ctx: NodeContext, ceremony: boolean): void {
  for (const reg of [ctx.officers, ctx.citizens]) {
    for (const ud of [...reg.values()]) {
      if (ceremony) bye(ctx, ud, 'drain', true);
      else if (!ud.closed && ud.ws) {
        ud.closeReason = 'shutdown';
        ud.ws.close();
      }
    }
  }
}

/**
 * Remembers a delivered request on the officer's socket; false when the table is full of live
 * requests. The orchestrator caps pending requests per officer at the same size, so a full table
 * is an anomaly: the newcomer is refused (it expires unanswered), never an older one evicted.
 */
export function rememberRequest(ud: SocketData, requestId: string, expiresAt: number, now: number): boolean {
  if (!ud.pending) return false;
  if (ud.pending.has(requestId)) return true;
  if (ud.pending.size >= MAX_PENDING_PER_OFFICER) {
    for (const [id, exp] of ud.pending) if (exp < now) ud.pending.delete(id);
    if (ud.pending.size >= MAX_PENDING_PER_OFFICER) return false;
  }
  ud.pending.set(requestId, expiresAt);
  return true;
}
