// The operator feed (`/map/feed`): a websocket on the orchestrator's HTTP server. The page sends
// its token first, then its viewport; the server pushes one coalesced `state` frame per tick (and
// one soon after an established connection), cut to that viewport. A slow reader skips frames
// rather than queueing them; a flooding or silent-unauthenticated client is closed.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../log.js';
import { verifyOperator, type OperatorAuthOptions } from './auth.js';
import type { Viewport } from './state.js';

export const FEED_PATH = '/map/feed';
/** Close codes of the feed (4xxx: application). */
export const FEED_CLOSE = { unauthorized: 4401, authTimeout: 4408, abuse: 4429, full: 4503 } as const;

/** Room for an identity provider's token (RS256 JWTs run to a few KiB); views are tiny. */
const MAX_FRAME_BYTES = 10 * 1024;
/** An unauthenticated socket must authenticate within this (the page sends its token on open). */
export const FEED_AUTH_TIMEOUT_MS = 2000;
/** Authenticated operators; unauthenticated sockets never count here, so they cannot lock operators out. */
const MAX_OPERATORS = 50;
/**
 * Unauthenticated sockets have their own small share: beyond it the oldest is closed (4503), so a
 * flood of them costs an operator at most a retry, never the feed.
 */
export const FEED_MAX_UNAUTHENTICATED = 8;
/** Frames per second an operator page may send (viewport changes are debounced by the page). */
const RATE_PER_S = 10;
const BURST = 20;
const MAX_BAD_FRAMES = 5;
/** A client with more unsent bytes than this skips frames until it catches up. */
const MAX_BUFFERED_BYTES = 512 * 1024;

export interface FeedClient {
  ws: WebSocket;
  sub: string | null;
  view: Viewport | null;
}

export interface FeedOptions {
  auth: OperatorAuthOptions;
  logger: Logger;
  mode: () => string;
}

/** Parses a viewport message; null for anything malformed. */
export function parseViewport(m: Record<string, unknown>): Viewport | null {
  const { w, s, e, n } = m;
  const nums = [w, s, e, n];
  if (!nums.every((x) => typeof x === 'number' && Number.isFinite(x))) return null;
  const [W, S, E, N] = nums as number[];
  if (S < -90 || N > 90 || S > N || W < -180 || W > 180 || E < -180 || E > 180) return null;
  return { w: W, s: S, e: E, n: N };
}

export class Feed {
  readonly clients = new Set<FeedClient>();
  /** Unauthenticated clients, oldest first. */
  private readonly pending = new Set<FeedClient>();
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, clientTracking: false });
  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head);
  private server: Server | null = null;

  constructor(private readonly o: FeedOptions) {}

  attach(server: Server): void {
    this.server = server;
    server.on('upgrade', this.onUpgrade);
  }

  /** Sends `frame(client)` to every authenticated client with a viewport and room in its buffer. */
  broadcast(frame: (c: FeedClient) => unknown): void {
    for (const c of this.clients) {
      if (!c.sub || !c.view || c.ws.readyState !== c.ws.OPEN) continue;
      if (c.ws.bufferedAmount > MAX_BUFFERED_BYTES) continue; // coalesced: it gets the next, newer one
      c.ws.send(JSON.stringify(frame(c)));
    }
  }

  get watching(): number {
    let n = 0;
    for (const c of this.clients) if (c.sub && c.view) n++;
    return n;
  }

  close(): void {
    this.server?.off('upgrade', this.onUpgrade);
    for (const c of this.clients) c.ws.terminate();
    this.clients.clear();
    this.wss.close();
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '').split('?')[0];
    if (path !== FEED_PATH) {
      // Nobody else upgrades on this server: refuse instead of leaving the socket hanging.
      if (this.server && this.server.listenerCount('upgrade') === 1) socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    if (this.clients.size - this.pending.size >= MAX_OPERATORS) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.open(ws));
  }

  private open(ws: WebSocket): void {
    const c: FeedClient = { ws, sub: null, view: null };
    this.clients.add(c);
    this.pending.add(c);
    if (this.pending.size > FEED_MAX_UNAUTHENTICATED) {
      const oldest = this.pending.values().next().value!;
      this.pending.delete(oldest);
      oldest.ws.close(FEED_CLOSE.full, 'too many unauthenticated feed sockets; reconnect and authenticate at once');
    }
    let tokens = BURST;
    let last = Date.now();
    let bad = 0;
    let authing = false;
    const authTimer = setTimeout(() => c.sub || ws.close(FEED_CLOSE.authTimeout, 'authentication timeout: send {t:"auth",token} first'), FEED_AUTH_TIMEOUT_MS);
    authTimer.unref();
    const err = (message: string) => {
      ws.send(JSON.stringify({ t: 'err', message }));
      if (++bad >= MAX_BAD_FRAMES) ws.close(FEED_CLOSE.abuse, 'too many bad frames');
    };
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      clearTimeout(authTimer);
      this.clients.delete(c);
      this.pending.delete(c);
    });
    ws.on('message', (data, isBinary) => {
      const t = Date.now();
      tokens = Math.min(BURST, tokens + ((t - last) / 1000) * RATE_PER_S);
      last = t;
      if (tokens < 1) {
        ws.close(FEED_CLOSE.abuse, 'rate limited');
        return;
      }
      tokens -= 1;
      if (isBinary) return err('text JSON frames only');
      let m: unknown;
      try {
        m = JSON.parse(data.toString());
      } catch {
        return err('not JSON');
      }
      if (typeof m !== 'object' || m === null || Array.isArray(m)) return err('a frame is an object with `t`');
      const msg = m as Record<string, unknown>;
      if (msg.t === 'auth') {
        if (c.sub || authing) return err('already authenticated');
        authing = true;
        void verifyOperator(msg.token, this.o.auth).then((sub) => {
          authing = false;
          if (ws.readyState !== ws.OPEN) return; // closed (evicted, timed out) while verifying
          if (!sub) {
            ws.close(FEED_CLOSE.unauthorized, 'not a valid operator token');
            return;
          }
          this.pending.delete(c);
          if (this.clients.size - this.pending.size > MAX_OPERATORS) {
            ws.close(FEED_CLOSE.full, 'the operator feed is full');
            return;
          }
          clearTimeout(authTimer);
          c.sub = sub;
          this.o.logger.info({ operator: sub }, 'operator watching the map');
          ws.send(JSON.stringify({ t: 'hello', operator: sub, mode: this.o.mode() }));
        });
        return;
      }
      if (!c.sub) {
        ws.close(FEED_CLOSE.unauthorized, 'send {t:"auth",token} first');
        return;
      }
      if (msg.t === 'view') {
        const v = parseViewport(msg);
        if (!v) return err('view needs finite w, s, e, n within WGS84 range, s ≤ n');
        c.view = v;
        return;
      }
      err('unknown `t`');
    });
  }
}
