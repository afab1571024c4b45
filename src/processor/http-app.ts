// The processor's uWS app: the websocket route `/ws` (and PUBLIC_WS_URL's path) and plain HTTP
// `/healthz` and `/metrics`. With `tls` the same app is an SSLApp: wss:// and https:// on the same
// port, no plaintext listener. Devices reach this port: `/metrics` is served here only with
// METRICS_TOKEN set (and no METRICS_PORT), and then only to that bearer; otherwise it is a 404
// like any unknown path.
import { METRICS_CHALLENGE, METRICS_UNAUTHORIZED, metricsAccess, type TicketReplayGuard, type ticketVerifier } from '../auth/index.js';
import { HTTP_PATHS } from '../protocol/index.js';
import type { ProcessorOptions } from './api.js';
import type { NodeContext } from './context.js';
import { onMessage } from './handlers.js';
import { onClose, onOpen } from './lifecycle.js';
import type { SocketData } from './session.js';
import { handleUpgrade } from './upgrade.js';
import {
  App,
  DISABLED,
  SSLApp,
  usSocketLocalPort,
  type HttpRequest,
  type HttpResponse,
  type TemplatedApp,
  type us_listen_socket,
  type WebSocketBehavior,
} from './uws.js';

/**
 * uWS closes a socket whose frame exceeds this (code 1009), before we see it. Frames between
 * MAX_FRAME_BYTES and this get `err: too_large` and the socket stays.
 */
export const MAX_PAYLOAD_BYTES = 16 * 1024;
/** The websocket route devices open (and PUBLIC_WS_URL's path, when that differs). */
export const WS_PATH = '/ws';

export interface AppDeps {
  verify: ReturnType<typeof ticketVerifier>;
  guard: TicketReplayGuard;
  epoch: number;
  tls: ProcessorOptions['tls'];
  /** Why an upgrade is refused now (draining, full), or null. */
  refuseReason(): string | null;
}

export function createProcessorApp(ctx: NodeContext, deps: AppDeps): TemplatedApp {
  const { config } = ctx;
  const behavior = socketBehavior(ctx, deps);
  const app = newApp(deps.tls).ws<SocketData>(WS_PATH, behavior);
  // Behind one public host (Kubernetes: Ingress path /ws/<node> → this pod), devices open
  // PUBLIC_WS_URL's own path; the proxy passes it unchanged, so it is served here too.
  const publicPath = config.PUBLIC_WS_URL ? new URL(config.PUBLIC_WS_URL).pathname : WS_PATH;
  if (publicPath !== WS_PATH) app.ws<SocketData>(publicPath, behavior);
  const metricsHere = config.METRICS_TOKEN !== undefined && config.METRICS_PORT === undefined;
  const metricsAllowed = metricsAccess(config.METRICS_TOKEN);
  return app
    .get(HTTP_PATHS.health, (res) => {
      res.writeHeader('content-type', 'application/json').end('{"ok":true}');
    })
    .get(HTTP_PATHS.metrics, (res, req) => {
      if (!metricsHere) return notFound(res);
      if (!metricsAllowed(req.getHeader('authorization'))) return unauthorized(res);
      serveMetrics(res, () => ctx.metrics.registry.metrics(), ctx.metrics.registry.contentType);
    })
    .any('/*', notFound);
}

/** Binds HOST:PROCESSOR_PORT; resolves with the listen socket and the bound port. */
export function listenProcessor(app: TemplatedApp, host: string, port: number): Promise<{ socket: us_listen_socket; port: number }> {
  return new Promise((resolve, reject) => {
    app.listen(host, port, (ls) => {
      if (ls) resolve({ socket: ls, port: usSocketLocalPort(ls) });
      else reject(new Error(`processor could not listen on ${host}:${port} (port in use or host not local?)`));
    });
  });
}

function socketBehavior(ctx: NodeContext, deps: AppDeps): WebSocketBehavior<SocketData> {
  const { config } = ctx;
  return {
    /* Options */
    compression: DISABLED,
    maxPayloadLength: MAX_PAYLOAD_BYTES,
    idleTimeout: config.IDLE_TIMEOUT_S,
    // Safety net only: session.send closes a socket before its buffer passes the limit.
    maxBackpressure: config.MAX_BACKPRESSURE_BYTES + MAX_PAYLOAD_BYTES,
    closeOnBackpressureLimit: 1,
    // Clients ping (SPEC §2): a silent socket is dead or abandoned and goes after IDLE_TIMEOUT_S.
    sendPingsAutomatically: false,
    /* Handlers */
    upgrade: (res, req, context) =>
      handleUpgrade(res, req, context, {
        verify: deps.verify,
        nodeId: ctx.nodeId,
        epoch: deps.epoch,
        now: ctx.now,
        mono: ctx.mono,
        guard: deps.guard,
        metrics: ctx.metrics,
        windowMs: config.OFFICER_WINDOW_MS,
        burst: config.MSG_BURST,
        refuseReason: deps.refuseReason,
      }),
    open: (ws) => onOpen(ctx, ws),
    message: (ws, data, isBinary) => onMessage(ctx, ws, data, isBinary),
    drain: (ws) => {
      const ud = ws.getUserData();
      if (ud.pushHeld && !ud.closed && ws.getBufferedAmount() === 0) {
        ud.pushHeld = false;
        ctx.live.markDirty(ud.id);
      }
    },
    close: (ws, code) => onClose(ctx, ws, code),
  };
}

function newApp(tls: ProcessorOptions['tls']): TemplatedApp {
  if (!tls) return App();
  try {
    return SSLApp({ cert_file_name: tls.certFile, key_file_name: tls.keyFile });
  } catch {
    // uWS says only "App construction failed"; loadConfig has checked the files, so this is rare.
    throw new Error(`processor could not load TLS certificate ${tls.certFile} / key ${tls.keyFile}`);
  }
}

function notFound(res: HttpResponse, _req?: HttpRequest): void {
  res.writeStatus('404 Not Found').writeHeader('content-type', 'application/json').end('{"error":"not_found","message":"no such resource"}');
}

function unauthorized(res: HttpResponse): void {
  res
    .writeStatus('401 Unauthorized')
    .writeHeader('content-type', 'application/json')
    .writeHeader('www-authenticate', METRICS_CHALLENGE)
    .end(JSON.stringify({ error: 'unauthorized', message: METRICS_UNAUTHORIZED }));
}

function serveMetrics(res: HttpResponse, render: () => Promise<string>, contentType: string): void {
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  render().then(
    (text) => {
      if (!aborted) res.cork(() => res.writeHeader('content-type', contentType).end(text));
    },
    () => {
      if (!aborted) res.cork(() => res.writeStatus('500 Internal Server Error').end());
    },
  );
}
