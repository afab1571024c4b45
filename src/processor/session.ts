// Per-socket state (uWS user data) and the only way bytes leave the processor: `send` encodes in
// the client's encoding, watches backpressure and never touches a closed socket.
import { encodeMessage, type Encoding, type PublicProfile, type Role, type ServerMessage } from '../protocol/index.js';
import type { ProcessorMetrics } from './metrics.js';
import type { WebSocket } from './uws.js';

export interface SocketData {
  /** Profile id (ticket `sub`). */
  id: string;
  /** Account id: kept server-side only. */
  acct: string;
  role: Role;
  zip: string;
  profile: PublicProfile;
  /** Wall clock ms when the socket opened. */
  openedAt: number;
  /** Officers: wall clock ms when the availability window ends; 0 for citizens. */
  windowEndsAt: number;
  /** Encoding of the client's last frame; replies use it. */
  enc: Encoding;
  ws: WebSocket<SocketData> | null;
  /** Set by the close handler: after it nothing may touch `ws`. */
  closed: boolean;
  /** Why the server closed it (bye reason, `backpressure`, `shutdown`); empty when the client did. */
  closeReason: string;
  // flood control (see rate-limit.ts)
  tokens: number;
  refilledAt: number;
  strikes: number;
  strikeWindowAt: number;
  // officers
  available: boolean;
  /** Last reported position, NaN before the first `loc`. Never logged. */
  lat: number;
  lng: number;
  /** Connection requests delivered and not yet answered: request id → expiresAt. */
  pending: Map<string, number> | null;
  /** When the device token that obtained the ticket expires: the socket is closed then (ms since the epoch). */
  tokenExp: number;
  // citizens
  /** A coalesced push was held back by backpressure; re-mark on drain. */
  pushHeld: boolean;
  /** Where the socket was assigned: a citizen `loc` farther than CITIZEN_AREA_M from it is refused. Never logged. */
  areaLat: number;
  areaLng: number;
  /** The speed rule's anchor (citizen-area.ts): where the device can be at most, as of anchorAt (wall ms). Never logged. */
  anchorLat: number;
  anchorLng: number;
  anchorAt: number;
}

export interface SendContext {
  metrics: ProcessorMetrics;
  /** A socket with more unsent bytes than this is closed (MAX_BACKPRESSURE_BYTES). */
  maxBackpressure: number;
}

/**
 * Writes one message. Returns false when nothing was written: the socket is closed, or it was
 * over its backpressure limit and has just been closed for it. A client that does not read is
 * closed forcefully (no close frame: it would sit behind the unread bytes), which frees its
 * buffer at once; the close handler records the reason `backpressure`.
 */
export function send(ctx: SendContext, ud: SocketData, msg: ServerMessage, corked = false): boolean {
  const ws = ud.ws;
  if (ud.closed || ws === null) return false;
  const data = encodeMessage(msg, ud.enc);
  const size = typeof data === 'string' ? data.length : data.byteLength;
  // Checked before any cork: closing a socket from inside its own cork callback is avoided.
  if (ws.getBufferedAmount() + size > ctx.maxBackpressure) {
    closeForBackpressure(ud);
    return false;
  }
  const binary = ud.enc === 'msgpack';
  if (corked) ws.cork(() => ws.send(data, binary));
  else ws.send(data, binary);
  if (ud.closed) return false; // uWS's own limit (the safety net) closed it inside send
  ctx.metrics.out[msg.t].inc();
  return true;
}

/** `send` from outside a uWS handler (timers, the bus, the flush): corked, one syscall. */
export function sendCorked(ctx: SendContext, ud: SocketData, msg: ServerMessage): boolean {
  return send(ctx, ud, msg, true);
}

/** True when a coalesced push should wait: the socket still has unsent bytes. */
export function isBacklogged(ud: SocketData): boolean {
  return ud.ws !== null && !ud.closed && ud.ws.getBufferedAmount() > 0;
}

export function closeForBackpressure(ud: SocketData): void {
  if (ud.closed || ud.ws === null) return;
  ud.closeReason = 'backpressure';
  ud.ws.close();
}
