// startProcessor: one uWS app with the websocket route `/ws` (and PUBLIC_WS_URL's path) and plain HTTP `/healthz` and
// `/metrics`, wired to the live index, the bus and the timers (window sweep, node.stats). With
// `tls` the same app is an SSLApp: wss:// and https:// on the same port, no plaintext listener.
// Devices reach this port: `/metrics` is served here only with METRICS_TOKEN set (and no
// METRICS_PORT), and then only to that bearer; otherwise it is a 404 like any unknown path.
import { performance } from 'node:perf_hooks';
import { METRICS_CHALLENGE, METRICS_UNAUTHORIZED, metricsAccess, TicketReplayGuard, ticketVerifier } from '../auth/index.js';
import { nodeChannel, ORCHESTRATOR_CHANNEL, type NodeStats } from '../coordination/index.js';
import { HTTP_PATHS } from '../protocol/index.js';
import type { Processor, ProcessorOptions } from './api.js';
import { socketRecord, type NodeContext } from './context.js';
import { onMessage } from './handlers.js';
import { ExpiryQueue } from './expiry-queue.js';
import { closeAll, expireCredentials, expireWindows, onClose, onOpen } from './lifecycle.js';
import { LiveIndex, type LiveSink } from './live.js';
import { createMetrics } from './metrics.js';
import { onBusMessage } from './requests.js';
import { isBacklogged, send, sendCorked, type SocketData } from './session.js';
import { handleUpgrade } from './upgrade.js';
import { App, DISABLED, SSLApp, usListenSocketClose, usSocketLocalPort, type HttpRequest, type HttpResponse, type TemplatedApp, type us_listen_socket, type WebSocketBehavior } from './uws.js';

/**
 * uWS closes a socket whose frame exceeds this (code 1009), before we see it. Frames between
 * MAX_FRAME_BYTES and this get `err: too_large` and the socket stays.
 */
export const MAX_PAYLOAD_BYTES = 16 * 1024;
const STATS_EVERY_MS = 1000;
/** The websocket route devices open (and PUBLIC_WS_URL's path, when that differs). */
export const WS_PATH = '/ws';

export async function startProcessor(opts: ProcessorOptions): Promise<Processor> {
  const { config, nodeId, bus } = opts;
  const logger = opts.logger.child({ node: nodeId });
  const now = opts.now ?? Date.now;
  const epoch = opts.epoch ?? now();
  const mono = () => performance.now();
  const officers = new Map<string, SocketData>();
  const citizens = new Map<string, SocketData>();
  let live: LiveIndex | null = null;
  const metrics = createMetrics({
    officers: () => officers.size,
    citizens: () => citizens.size,
    indexSize: () => live?.officerCount ?? 0,
    maxSockets: () => config.MAX_SOCKETS,
  });

  // Filled in once the port is known; handlers only run after listen.
  const ctx: NodeContext = {
    config,
    nodeId,
    url: '',
    bus,
    logger,
    now,
    mono,
    metrics,
    maxBackpressure: config.MAX_BACKPRESSURE_BYTES,
    live: null as unknown as LiveIndex,
    officers,
    citizens,
    credentials: new ExpiryQueue(now()),
  };
  const sink: LiveSink = {
    nearest(cid, msg, reply) {
      const ud = citizens.get(cid);
      if (!ud) return false;
      if (reply) {
        ud.pushHeld = false;
        return send(ctx, ud, msg);
      }
      // Coalesced pushes never queue behind unsent bytes: hold it, `drain` re-marks the citizen.
      if (isBacklogged(ud)) {
        metrics.pushesHeld.inc();
        ud.pushHeld = true;
        return false;
      }
      return sendCorked(ctx, ud, msg);
    },
    near(cid, msg, reply) {
      const ud = citizens.get(cid);
      if (ud) (reply ? send : sendCorked)(ctx, ud, msg);
    },
    pushed(latencyS) {
      metrics.pushLatency.observe(latencyS);
    },
  };
  live = new LiveIndex(
    { searchRadius: config.SEARCH_RADIUS_M, alertRadius: config.ALERT_RADIUS_M, precision: config.OFFICER_PRECISION_M, distanceStep: config.DISTANCE_STEP_M, mono },
    sink,
  );
  ctx.live = live;

  const guard = new TicketReplayGuard();
  const verify = ticketVerifier(opts.ticketSecret);
  let draining = false;
  const busy = () => officers.size + citizens.size;
  const metricsHere = config.METRICS_TOKEN !== undefined && config.METRICS_PORT === undefined;
  const metricsAllowed = metricsAccess(config.METRICS_TOKEN);

  const behavior: WebSocketBehavior<SocketData> = {
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
        verify,
        nodeId,
        epoch,
        now,
        mono,
        guard,
        metrics,
        windowMs: config.OFFICER_WINDOW_MS,
        burst: config.MSG_BURST,
        refuseReason: () =>
          draining ? 'this node is draining; ask the orchestrator for a new socket' : busy() >= config.MAX_SOCKETS ? 'this node is full (MAX_SOCKETS); ask the orchestrator again' : null,
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
  const app = newApp(opts.tls).ws<SocketData>(WS_PATH, behavior);
  // Behind one public host (Kubernetes: Ingress path /ws/<node> → this pod), devices open
  // PUBLIC_WS_URL's own path; the proxy passes it unchanged, so it is served here too.
  const publicPath = config.PUBLIC_WS_URL ? new URL(config.PUBLIC_WS_URL).pathname : WS_PATH;
  if (publicPath !== WS_PATH) app.ws<SocketData>(publicPath, behavior);
  app
    .get(HTTP_PATHS.health, (res) => {
      res.writeHeader('content-type', 'application/json').end('{"ok":true}');
    })
    .get(HTTP_PATHS.metrics, (res, req) => {
      if (!metricsHere) return notFound(res);
      if (!metricsAllowed(req.getHeader('authorization'))) return unauthorized(res);
      serveMetrics(res, () => metrics.registry.metrics(), metrics.registry.contentType);
    })
    .any('/*', notFound);

  const listenSocket = await new Promise<us_listen_socket>((resolve, reject) => {
    app.listen(config.HOST, config.PROCESSOR_PORT, (ls) => {
      if (ls) resolve(ls);
      else reject(new Error(`processor could not listen on ${config.HOST}:${config.PROCESSOR_PORT} (port in use or host not local?)`));
    });
  });
  const port = usSocketLocalPort(listenSocket);
  ctx.url = config.PUBLIC_WS_URL ?? `${opts.tls ? 'wss' : 'ws'}://${config.HOST}:${port}${WS_PATH}`;

  const stats = (): NodeStats => {
    const b = busy();
    return { node: nodeId, url: ctx.url, officers: officers.size, citizens: citizens.size, busy: b, free: Math.max(0, config.MAX_SOCKETS - b), at: now() };
  };

  const unsubscribe = bus.subscribe(nodeChannel(nodeId), (msg) => {
    try {
      onBusMessage(ctx, msg);
    } catch (e) {
      logger.error({ err: e, type: msg.type }, 'bus message handler failed');
    }
  });

  // One ticker for everything periodic: the window sweep (fine-grained enough for short test
  // windows) and node.stats every second. No per-socket timers.
  const tickMs = Math.max(25, Math.min(250, Math.floor(config.OFFICER_WINDOW_MS / 20)));
  let lastStats = -Infinity;
  const ticker = setInterval(() => {
    try {
      expireWindows(ctx);
      expireCredentials(ctx);
      const m = mono();
      if (m - lastStats >= STATS_EVERY_MS) {
        lastStats = m;
        guard.prune(now());
        bus.publish(ORCHESTRATOR_CHANNEL, { type: 'node.stats', stats: stats() });
      }
    } catch (e) {
      logger.error({ err: e }, 'processor tick failed');
    }
  }, tickMs);
  ticker.unref();
  logger.info({ port, url: ctx.url, tls: opts.tls !== undefined }, 'processor listening');

  let stopped = false;
  const stop = (ceremony: boolean) => {
    if (stopped) return;
    stopped = true;
    draining = true;
    clearInterval(ticker);
    unsubscribe();
    usListenSocketClose(listenSocket);
    closeAll(ctx, ceremony);
    live?.stop();
  };

  return {
    nodeId,
    epoch,
    url: ctx.url,
    port,
    registry: metrics.registry,
    stats,
    liveSnapshot: (cellOf) => ctx.live.snapshot(cellOf),
    replica: {
      applyRemoteOfficer(id, pos, profile) {
        // A socket of the officer here owns its entry: another node's position of it is not
        // taken (the local one comes with its `loc`). Removals always pass: the index applies
        // them to a remote entry only, so a stale replica never outlives the other socket.
        if (stopped || (pos !== null && officers.has(id))) return;
        ctx.live.applyOfficer(id, pos, { profile, remote: true });
      },
      isLocalOfficer: (id) => officers.has(id),
      observe(observer) {
        ctx.live.observer = observer;
        return () => {
          if (ctx.live.observer === observer) ctx.live.observer = null;
        };
      },
      sockets: () => [...officers.values(), ...citizens.values()].filter((ud) => !ud.closed).map((ud) => socketRecord(ctx, ud)),
    },
    async drain() {
      logger.info({ sockets: busy() }, 'draining');
      stop(true);
      // Let the close frames leave before callers tear the process down.
      await new Promise((r) => setImmediate(r));
    },
    async close() {
      stop(false);
    },
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
