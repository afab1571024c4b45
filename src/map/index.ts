// The live operations map (issue #7): `/map` (the page) and `/map/feed` (the operator websocket)
// on the orchestrator. createOrchestrator builds it; embedded mode passes the processor as `live`
// (officers and citizen density read in process); distributed orchestrators have no live index
// and show what they know: nodes, zip-shard ownership, socket counts, established connections.
import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import type { ConnectionStream, ProcessorDirectory } from '../coordination/index.js';
import type { Logger } from '../log.js';
import type { EstablishedConnectionEvent } from '../protocol/index.js';
import { tokenOf, verifyOperator, type OperatorAuthOptions } from './auth.js';
import { Feed } from './feed.js';
import { registerAssets } from './assets.js';
import { mapCsp, mapPage, type MapTiles } from './page.js';
import { buildWorld, frameFor, RECENT_CONNECTIONS, type MapLiveSource, type MapWorld, type NodeCounts } from './state.js';

export { FEED_CLOSE, FEED_PATH, parseViewport } from './feed.js';
export { verifyOperator } from './auth.js';
export { ASSET_NAMES, ASSETS_PATH } from './assets.js';
export type { MapLiveSource } from './state.js';

export const MAP_PATH = '/map';
/** Frames per second at most, per operator. */
const DEFAULT_TICK_MS = 500;
/**
 * A snapshot walks every citizen on the processor's event loop (embedded mode); with 100k sockets
 * that is a noticeable pause, so the map spends at most ~1/MAX_DUTY of the time on it.
 */
const MAX_DUTY = 20;
/** After an established connection, the next frame goes out this soon. */
const SOON_MS = 50;

export interface OperationsMapOptions {
  auth: OperatorAuthOptions;
  directory: ProcessorDirectory;
  counts: () => Promise<Map<string, NodeCounts>>;
  live?: MapLiveSource;
  /** MAP_MIN_CELL_COUNT: citizen cells with fewer citizens are never shown. */
  minCellCount: number;
  /** MAP_TILES_URL / MAP_TILES_ATTRIBUTION: the base layer (unset: offline US outlines). */
  tiles?: MapTiles;
  logger: Logger;
  now?: () => number;
  tickMs?: number;
}

export class OperationsMap {
  private readonly feed: Feed;
  private readonly recent: EstablishedConnectionEvent[] = [];
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private lastTickAt = -Infinity;
  private lastTickMs = 0;
  private soonTimer: NodeJS.Timeout | null = null;
  private busy = false;
  private readonly logger: Logger;
  private readonly page: string;
  private readonly csp: string;

  constructor(private readonly o: OperationsMapOptions) {
    this.logger = o.logger.child({ component: 'map' });
    this.feed = new Feed({ auth: o.auth, logger: this.logger, mode: () => (o.live ? 'embedded' : 'orchestrator') });
    this.page = mapPage(o.tiles ?? {});
    this.csp = mapCsp(o.tiles ?? {});
    this.schedule(o.tickMs ?? DEFAULT_TICK_MS);
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      const t0 = performance.now();
      void this.tick().finally(() => this.schedule(Math.max(this.o.tickMs ?? DEFAULT_TICK_MS, (performance.now() - t0) * MAX_DUTY)));
    }, ms);
    this.timer.unref();
  }

  /** Wraps the established-connections stream: the map sees each event once it is durable. */
  observeStream(stream: ConnectionStream): ConnectionStream {
    return {
      append: async (event) => {
        await stream.append(event);
        this.connectionEstablished(event);
      },
      ...(stream.abandon ? { abandon: (id: string) => stream.abandon!(id) } : {}),
      close: () => stream.close(),
    };
  }

  connectionEstablished(event: EstablishedConnectionEvent): void {
    if (this.recent.some((e) => e.id === event.id)) return;
    this.recent.unshift(event);
    this.recent.length = Math.min(this.recent.length, RECENT_CONNECTIONS);
    this.soon();
  }

  /** Adds GET /map, its assets and the feed's upgrade handler (call before app.ready()). */
  register(app: FastifyInstance): void {
    app.get(MAP_PATH, { schema: { hide: true } }, async (req, reply) => {
      const sub = await verifyOperator(tokenOf(req.headers.authorization, req.query), this.o.auth);
      if (!sub) {
        return reply
          .code(401)
          .type('text/plain; charset=utf-8')
          .send('The operations map needs an operator token: /map?token=<JWT with role "operator">\n(mint one: beacon token --role operator --sub ops-1)\n');
      }
      // The page holds no data; the token goes to the feed from the page's own URL.
      return reply
        .header('cache-control', 'no-store')
        .header('referrer-policy', 'no-referrer')
        .header('content-security-policy', this.csp)
        .type('text/html; charset=utf-8')
        .send(this.page);
    });
    registerAssets(app);
    this.feed.attach(app.server);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.soonTimer) clearTimeout(this.soonTimer);
    this.feed.close();
  }

  private soon(): void {
    if (this.soonTimer) return;
    // A burst of connections still costs at most one snapshot per MAX_DUTY × its duration.
    const wait = Math.max(SOON_MS, this.lastTickAt + this.lastTickMs * MAX_DUTY - performance.now());
    this.soonTimer = setTimeout(() => {
      this.soonTimer = null;
      void this.tick();
    }, wait);
    this.soonTimer.unref();
  }

  private async tick(): Promise<void> {
    if (this.busy || this.feed.watching === 0) return;
    this.busy = true;
    const t0 = performance.now();
    try {
      let counts = new Map<string, NodeCounts>();
      try {
        counts = await this.o.counts();
      } catch (e) {
        this.logger.warn({ err: e }, 'socket counts unavailable for the map');
      }
      const world: MapWorld = buildWorld({
        now: (this.o.now ?? Date.now)(),
        directory: this.o.directory,
        counts,
        live: this.o.live,
        connections: this.recent,
        minCellCount: this.o.minCellCount,
      });
      this.feed.broadcast((c) => frameFor(world, c.view!, this.o.directory));
    } catch (e) {
      this.logger.error({ err: e }, 'map tick failed');
    } finally {
      this.lastTickAt = t0;
      this.lastTickMs = performance.now() - t0;
      this.busy = false;
    }
  }
}
