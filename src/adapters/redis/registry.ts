// Processor registry: each processor announces `{id, url, startedAt}` under a key with a PX TTL
// and refreshes it on a heartbeat. A processor that dies stops refreshing and its key expires:
// Redis's own TTL is the failure detector, no home-made membership protocol.
//
// The heartbeat is the announcement itself (SET … PX + SADD), so after a Redis outage or restart
// (empty dataset) the next beat re-announces the node with no special path.
import type { NodeInfo } from '../../coordination/index.js';
import type { Logger } from '../../log.js';
import type { RedisConnection } from './connect.js';
import { checkId, DEFAULT_PREFIX, redisKeys, type RedisKeys } from './keys.js';
import { LuaScript } from './lua.js';

export interface ProcessorAnnouncement {
  id: string;
  url: string;
  /** When the processor started, ms since the epoch (tells a restarted node with the same id apart; its NodeInfo.epoch). */
  startedAt: number;
}

export interface RegistryTiming {
  /** Lifetime of an announcement; a node silent this long is dead (default 5,000 ms). */
  ttlMs?: number;
  /** Heartbeat period; keep it well under ttlMs (default 1,000 ms). */
  heartbeatMs?: number;
}

// KEYS: node key, index.  ARGV: id, json, ttl ms.
const ANNOUNCE = new LuaScript(`
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[1])
return 1`);

// KEYS: node key, index.  ARGV: id, startedAt. Only removes its own announcement, not a successor's.
const LEAVE = new LuaScript(`
local v = redis.call('GET', KEYS[1])
local ok, a = pcall(cjson.decode, v or '')
if ok and type(a) == 'table' and a.startedAt == tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[2], ARGV[1])
  return 1
end
return 0`);

/** The processor side: announce, heartbeat, leave. */
export class RedisProcessorRegistry {
  readonly self: ProcessorAnnouncement;
  private readonly keys: RedisKeys;
  private readonly ttlMs: number;
  private readonly heartbeatMs: number;
  private readonly log?: Logger;
  private timer?: NodeJS.Timeout;
  private offReady?: () => void;
  private beating = false;
  /** Heartbeats that failed (Redis unreachable); the node keeps serving meanwhile. */
  failures = 0;

  constructor(
    private readonly conn: RedisConnection,
    self: Omit<NodeInfo, 'epoch'> & { startedAt?: number },
    options: RegistryTiming & { prefix?: string; logger?: Logger } = {},
  ) {
    checkId('node id', self.id);
    checkId('node url', self.url);
    this.self = { id: self.id, url: self.url, startedAt: self.startedAt ?? Date.now() };
    this.keys = redisKeys(options.prefix ?? DEFAULT_PREFIX);
    this.ttlMs = options.ttlMs ?? 5000;
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    if (this.heartbeatMs >= this.ttlMs) throw new RangeError('heartbeatMs must be shorter than ttlMs');
    this.log = options.logger;
  }

  /** Announces now and on every heartbeat, and again as soon as Redis comes back after an outage. */
  start(): void {
    if (this.timer) return;
    this.conn.start();
    this.timer = setInterval(() => void this.heartbeat(), this.heartbeatMs);
    this.timer.unref();
    this.offReady = this.conn.onReadyChange((ready) => {
      if (ready) void this.heartbeat();
    });
    void this.heartbeat();
  }

  /** One announcement; resolves false (never rejects) when Redis is unreachable. */
  async heartbeat(): Promise<boolean> {
    if (this.beating) return false; // the previous one is still in flight
    this.beating = true;
    try {
      await this.conn.eval(ANNOUNCE, [this.keys.node(this.self.id), this.keys.nodeIndex], [this.self.id, JSON.stringify(this.self), this.ttlMs]);
      return true;
    } catch (e) {
      if (this.failures++ % 10 === 0) this.log?.warn({ err: (e as Error).message }, 'registry heartbeat failed');
      return false;
    } finally {
      this.beating = false;
    }
  }

  /** Stops the heartbeat and removes the announcement (graceful shutdown: others see it gone at once). */
  async leave(): Promise<void> {
    this.stop();
    try {
      await this.conn.eval(LEAVE, [this.keys.node(this.self.id), this.keys.nodeIndex], [this.self.id, this.self.startedAt]);
    } catch {
      // unreachable: the TTL removes it
    }
  }

  /** Stops the heartbeat without removing the announcement (it expires after ttlMs): simulates death. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.offReady?.();
  }
}
