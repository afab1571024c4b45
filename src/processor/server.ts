// startProcessor: the context (send context → sink → live index), the uWS app on its port
// (http-app.ts), the bus subscription and one ticker, and the handle the callers hold.
import { TicketReplayGuard, ticketVerifier } from '../auth/index.js';
import { nodeChannel, ORCHESTRATOR_CHANNEL, type NodeStats } from '../coordination/index.js';
import type { Processor, ProcessorOptions, ReplicaSeam } from './api.js';
import { createNodeContext, socketRecord, type NodeContext } from './context.js';
import { closeAll, expireCredentials, expireWindows } from './lifecycle.js';
import { createProcessorApp, listenProcessor, WS_PATH } from './http-app.js';
import { onBusMessage } from './requests.js';
import { usListenSocketClose } from './uws.js';

const STATS_EVERY_MS = 1000;

export async function startProcessor(opts: ProcessorOptions): Promise<Processor> {
  const ctx = createNodeContext(opts);
  const { config, nodeId, bus, logger, now } = ctx;
  const epoch = opts.epoch ?? now();
  const guard = new TicketReplayGuard();
  let draining = false;
  const busy = () => ctx.officers.size + ctx.citizens.size;
  const app = createProcessorApp(ctx, {
    verify: ticketVerifier(opts.ticketSecret),
    guard,
    epoch,
    tls: opts.tls,
    refuseReason: () =>
      draining
        ? 'this node is draining; ask the orchestrator for a new socket'
        : busy() >= config.MAX_SOCKETS
          ? 'this node is full (MAX_SOCKETS); ask the orchestrator again'
          : null,
  });
  const listening = await listenProcessor(app, config.HOST, config.PROCESSOR_PORT);
  ctx.url = config.PUBLIC_WS_URL ?? `${opts.tls ? 'wss' : 'ws'}://${config.HOST}:${listening.port}${WS_PATH}`;

  const stats = (): NodeStats => {
    const b = busy();
    return {
      node: nodeId,
      url: ctx.url,
      officers: ctx.officers.size,
      citizens: ctx.citizens.size,
      busy: b,
      free: Math.max(0, config.MAX_SOCKETS - b),
      at: now(),
    };
  };
  const unsubscribe = bus.subscribe(nodeChannel(nodeId), (msg) => {
    try {
      onBusMessage(ctx, msg);
    } catch (e) {
      logger.error({ err: e, type: msg.type }, 'bus message handler failed');
    }
  });
  const ticker = startTicker(ctx, () => {
    guard.prune(now());
    bus.publish(ORCHESTRATOR_CHANNEL, { type: 'node.stats', stats: stats() });
  });
  logger.info({ port: listening.port, url: ctx.url, tls: opts.tls !== undefined }, 'processor listening');

  let stopped = false;
  const stop = (ceremony: boolean) => {
    if (stopped) return;
    stopped = true;
    draining = true;
    clearInterval(ticker);
    unsubscribe();
    usListenSocketClose(listening.socket);
    closeAll(ctx, ceremony);
    ctx.live.stop();
  };

  return {
    nodeId,
    epoch,
    url: ctx.url,
    port: listening.port,
    registry: ctx.metrics.registry,
    stats,
    liveSnapshot: (cellOf) => ctx.live.snapshot(cellOf),
    replica: replicaSeam(ctx, () => stopped),
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

/**
 * One ticker for everything periodic: the window sweep (fine-grained enough for short test
 * windows) and, every second, `everySecond` (node.stats). No per-socket timers.
 */
function startTicker(ctx: NodeContext, everySecond: () => void): NodeJS.Timeout {
  const tickMs = Math.max(25, Math.min(250, Math.floor(ctx.config.OFFICER_WINDOW_MS / 20)));
  let lastStats = -Infinity;
  const ticker = setInterval(() => {
    try {
      expireWindows(ctx);
      expireCredentials(ctx);
      const m = ctx.mono();
      if (m - lastStats >= STATS_EVERY_MS) {
        lastStats = m;
        everySecond();
      }
    } catch (e) {
      ctx.logger.error({ err: e }, 'processor tick failed');
    }
  }, tickMs);
  ticker.unref();
  return ticker;
}

/** Distributed mode's door into the live index (nothing after the node stopped). */
function replicaSeam(ctx: NodeContext, stopped: () => boolean): ReplicaSeam {
  return {
    applyRemoteOfficer(id, pos, profile) {
      // A socket of the officer here owns its entry: another node's position of it is not
      // taken (the local one comes with its `loc`). Removals always pass: the index applies
      // them to a remote entry only, so a stale replica never outlives the other socket.
      if (stopped() || (pos !== null && ctx.officers.has(id))) return;
      ctx.live.applyOfficer(id, pos, { profile, remote: true });
    },
    isLocalOfficer: (id) => ctx.officers.has(id),
    observe(observer) {
      ctx.live.observer = observer;
      return () => {
        if (ctx.live.observer === observer) ctx.live.observer = null;
      };
    },
    sockets: () => [...ctx.officers.values(), ...ctx.citizens.values()].filter((ud) => !ud.closed).map((ud) => socketRecord(ctx, ud)),
  };
}
