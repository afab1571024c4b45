// The orchestrator's view of live processors, read from the registry every
// `refreshMs`, and zip-shard ownership by rendezvous hashing over the live node ids.
// ownerOf() is synchronous and hot (every socket assignment): it reads the cached live set.
import type { NodeInfo, ProcessorDirectory } from '../../coordination/index.js';
import type { Logger } from '../../log.js';
import type { RedisConnection } from './connect.js';
import { DEFAULT_PREFIX, redisKeys, type RedisKeys } from './keys.js';
import { LuaScript } from './lua.js';
import type { ProcessorAnnouncement } from './registry.js';
import { rendezvousOwner } from '../../coordination/index.js';

// KEYS: index.  ARGV: node key prefix. Returns the live announcements and prunes expired ids from
// the index. The node keys share the index's hash tag, so this is legal on a cluster.
const LIVE = new LuaScript(`
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local v = redis.call('GET', ARGV[1] .. id)
  if v then out[#out + 1] = v else redis.call('SREM', KEYS[1], id) end
end
return out`);

/** Most zips ever cached before the cache is dropped (US ZCTAs: ~33,000). */
const OWNER_CACHE_MAX = 100_000;

export class RedisDirectory implements ProcessorDirectory {
  private readonly keys: RedisKeys;
  private readonly refreshMs: number;
  private readonly log?: Logger;
  private live: ProcessorAnnouncement[] = [];
  private liveKey = '';
  private readonly owners = new Map<string, NodeInfo | undefined>();
  private readonly listeners = new Set<(nodes: ProcessorAnnouncement[]) => void>();
  private timer?: NodeJS.Timeout;
  private lastOk = 0;
  private refreshing?: Promise<boolean>;

  constructor(
    private readonly conn: RedisConnection,
    options: { refreshMs?: number; prefix?: string; logger?: Logger } = {},
  ) {
    this.keys = redisKeys(options.prefix ?? DEFAULT_PREFIX);
    this.refreshMs = options.refreshMs ?? 1000;
    this.log = options.logger;
  }

  start(): void {
    if (this.timer) return;
    this.conn.start();
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
    void this.refresh();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * True when the live set was read successfully within the last three refresh periods. While
   * Redis is unreachable the last known set is kept (processors keep serving) but this goes false.
   */
  get isReady(): boolean {
    return Date.now() - this.lastOk <= 3 * this.refreshMs;
  }

  ownerOf(zip: string): NodeInfo | undefined {
    if (this.owners.has(zip)) return this.owners.get(zip);
    const owner = rendezvousOwner(zip, this.live);
    const info = owner ? { id: owner.id, url: owner.url, epoch: owner.startedAt } : undefined;
    if (this.owners.size >= OWNER_CACHE_MAX) this.owners.clear();
    this.owners.set(zip, info);
    return info;
  }

  nodes(): NodeInfo[] {
    return this.live.map((n) => ({ id: n.id, url: n.url, epoch: n.startedAt }));
  }

  /** Live announcements including `startedAt` (a changed startedAt means the node restarted). */
  announcements(): readonly ProcessorAnnouncement[] {
    return this.live;
  }

  /** Called with the new live set whenever membership (or a node's url/startedAt) changes. */
  onChange(fn: (nodes: ProcessorAnnouncement[]) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Reads the live set now; resolves false (never rejects) when Redis is unreachable. */
  refresh(): Promise<boolean> {
    this.refreshing ??= this.doRefresh().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async doRefresh(): Promise<boolean> {
    let raw: unknown;
    try {
      raw = await this.conn.eval(LIVE, [this.keys.nodeIndex], [this.keys.nodePrefix]);
    } catch {
      return false;
    }
    this.lastOk = Date.now();
    const next: ProcessorAnnouncement[] = [];
    for (const v of Array.isArray(raw) ? raw : []) {
      const a = parseAnnouncement(v);
      if (a) next.push(a);
      else this.log?.warn('ignoring a malformed processor announcement');
    }
    next.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const key = next.map((n) => `${n.id}\u0000${n.url}\u0000${n.startedAt}`).join('\u0001');
    if (key === this.liveKey) return true;
    this.live = next;
    this.liveKey = key;
    this.owners.clear();
    this.log?.info({ nodes: next.map((n) => n.id) }, 'processor membership changed');
    for (const fn of this.listeners) {
      try {
        fn(next);
      } catch (e) {
        this.log?.error({ err: e }, 'directory listener threw');
      }
    }
    return true;
  }
}

function parseAnnouncement(v: unknown): ProcessorAnnouncement | undefined {
  if (typeof v !== 'string') return undefined;
  try {
    const a = JSON.parse(v) as Partial<ProcessorAnnouncement>;
    if (typeof a.id === 'string' && a.id && typeof a.url === 'string' && typeof a.startedAt === 'number') {
      return { id: a.id, url: a.url, startedAt: a.startedAt };
    }
  } catch {
    // fall through
  }
  return undefined;
}
