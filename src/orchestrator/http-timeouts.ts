// Timeouts of the orchestrator's HTTP server, and the drain that cuts off what is left at a deadline.
// Every request of this API is a few hundred bytes (bodies ≤ 4 KiB), so a client that takes
// seconds to send one is broken or hostile: it must not hold a socket (or a SIGTERM) forever.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface HttpTimeouts {
  /** The request line and headers must arrive within this (slowloris). Node's default is 60 s. */
  headersMs: number;
  /** The whole request, body included, must arrive within this (a trickled body). ≥ headersMs. */
  requestMs: number;
  /** A socket with no traffic at all for this long is closed (a connection that never sends). */
  idleMs: number;
  /**
   * An idle keep-alive socket is kept this long between requests: above the 60 s idle timeout of
   * common load balancers, so the balancer closes first and never reuses a socket we just closed.
   */
  keepAliveMs: number;
  /** How often Node checks headersMs/requestMs (default 30 s would let a timeout overrun by that). */
  checkEveryMs: number;
}

export const HTTP_TIMEOUTS: HttpTimeouts = {
  headersMs: 10_000,
  requestMs: 15_000,
  idleMs: 30_000,
  keepAliveMs: 65_000,
  checkEveryMs: 1_000,
};

/**
 * Every TCP socket the server accepted and that is still open. Node's closeAllConnections() reaches
 * only sockets it tracks as HTTP: with TLS, a client that connected and never finished (or began)
 * the handshake is not one of them and would hold server.close() until the handshake timeout.
 */
export function trackSockets(server: Server): Set<Socket> {
  const open = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    open.add(s);
    s.once('close', () => open.delete(s));
  });
  return open;
}

/**
 * Drain: idle keep-alive sockets are closed now; sockets still busy (a slow or stuck request, a
 * stalled TLS handshake) are destroyed at `deadline` (epoch ms). Returns a function that cancels it.
 */
export function drainHttp(server: Server, sockets: Set<Socket>, deadline: number): () => void {
  server.closeIdleConnections();
  const timer = setTimeout(
    () => {
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
    },
    Math.max(0, deadline - Date.now()),
  );
  timer.unref();
  return () => clearTimeout(timer);
}
