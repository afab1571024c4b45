// The established-connections stream (SPEC §1 step 5) as a Redis Stream, written exactly once per
// event id even when an orchestrator or a node retries.
//
// Exactly once: one Lua script checks a dedupe key `…:seen:<event id>` and, only if it is absent,
// XADDs the entry and sets the key (holding the entry id) with a long PX TTL. A script runs
// atomically, and the stream and the dedupe keys share the `{<prefix>:established}` hash tag, so
// on a cluster they live in one slot on one master. Any number of concurrent retries of the same
// id produce one entry; a retry after the dedupe TTL (7 days by default) would add a second one.
//
// Durability: the reply comes after Redis applied the write. With AOF and `appendfsync always`
// Redis fsyncs before replying; with the recommended `appendfsync everysec` at most ~1 s of
// writes can be lost in a power failure of the Redis host. `waitReplicas` adds a WAIT for replicas.
//
// How a downstream service (rewards, reporting, ...) reads it, with a consumer group:
//
//   XGROUP CREATE beacon:{beacon:established} rewards $ MKSTREAM
//       once per service; `$` = only new events, `0` = replay from the start (BUSYGROUP = exists)
//   XREADGROUP GROUP rewards worker-1 COUNT 100 BLOCK 5000 STREAMS beacon:{beacon:established} >
//       new entries for this consumer; fields: v, id, officerId, citizenId, at, zip
//   XACK beacon:{beacon:established} rewards <entry id> ...
//       after the entry is processed (idempotently, by the event `id`: delivery is at-least-once)
//   XAUTOCLAIM beacon:{beacon:established} rewards worker-1 60000 0-0 COUNT 100
//       takes over entries another consumer read but did not ack within 60 s (it crashed);
//       XPENDING shows them; a worker restarting reads its own pending ones with ID 0 instead of >.
//
// The stream is not trimmed unless `maxLen` is set (approximate MAXLEN ~): consumers decide
// retention, e.g. XTRIM … MINID once every group has acked.
import type { ConnectionStream } from '../../coordination/index.js';
import type { EstablishedConnectionEvent } from '../../protocol/index.js';
import type { RedisConnection } from './connect.js';
import { checkId, checkNumber, DEFAULT_PREFIX, redisKeys, type RedisKeys } from './keys.js';
import { LuaScript } from './lua.js';

/** Version of the entry layout, written as field `v`. */
export const STREAM_ENTRY_VERSION = '1';

// KEYS: stream, seen.  ARGV: dedupe ttl ms, maxlen ('0' = none), field/value pairs.
const APPEND = new LuaScript(`
local prev = redis.call('GET', KEYS[2])
if prev == 'abandoned' then return redis.error_reply('ABANDONED this event was given up; it is not appended') end
if prev then return {0, prev} end
local id
if ARGV[2] ~= '0' then
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))
else
  id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
end
redis.call('SET', KEYS[2], id, 'PX', ARGV[1])
return {1, id}`);

// KEYS: seen.  ARGV: dedupe ttl ms. The entry id when the event is in the stream, else marks it
// abandoned (so no later append of it can land) and returns 'abandoned'.
const ABANDON = new LuaScript(`
local prev = redis.call('GET', KEYS[1])
if prev then return prev end
redis.call('SET', KEYS[1], 'abandoned', 'PX', ARGV[1])
return 'abandoned'`);

export interface AppendResult {
  /** Stream entry id (`<ms>-<seq>`) of the event, whether written now or by an earlier attempt. */
  entryId: string;
  /** True when an earlier attempt had already written it. */
  duplicate: boolean;
}

export interface RedisConnectionStreamOptions {
  prefix?: string;
  /** How long an event id is remembered for deduplication (default 7 days). */
  dedupeTtlMs?: number;
  /** Approximate cap of the stream length; 0 (default) never trims. */
  maxLen?: number;
  /** Replicas that must acknowledge each append (WAIT); 0 (default) for none. */
  waitReplicas?: number;
  waitTimeoutMs?: number;
}

export class RedisConnectionStream implements ConnectionStream {
  readonly keys: RedisKeys;
  private readonly dedupeTtlMs: number;
  private readonly maxLen: number;
  private readonly waitReplicas: number;
  private readonly waitTimeoutMs: number;

  constructor(
    private readonly conn: RedisConnection,
    options: RedisConnectionStreamOptions = {},
  ) {
    this.keys = redisKeys(options.prefix ?? DEFAULT_PREFIX);
    this.dedupeTtlMs = options.dedupeTtlMs ?? 7 * 24 * 3600_000;
    this.maxLen = options.maxLen ?? 0;
    this.waitReplicas = options.waitReplicas ?? 0;
    this.waitTimeoutMs = options.waitTimeoutMs ?? 1000;
  }

  /** The stream key downstream services read. */
  get streamKey(): string {
    return this.keys.stream;
  }

  /** Rejects when Redis is unreachable: the caller keeps the event and retries (dedupe makes that safe). */
  async append(event: EstablishedConnectionEvent): Promise<void> {
    await this.appendWithResult(event);
  }

  async appendWithResult(event: EstablishedConnectionEvent): Promise<AppendResult> {
    checkEvent(event);
    const fields = [
      'v',
      STREAM_ENTRY_VERSION,
      'id',
      event.id,
      'officerId',
      event.officerId,
      'citizenId',
      event.citizenId,
      'at',
      String(event.at),
      'zip',
      event.zip,
    ];
    const [added, entryId] = await this.conn.eval<[number, string]>(
      APPEND,
      [this.keys.stream, this.keys.seen(event.id)],
      [this.dedupeTtlMs, this.maxLen, ...fields],
    );
    if (this.waitReplicas > 0) {
      await this.conn.send(['WAIT', String(this.waitReplicas), String(this.waitTimeoutMs)], this.keys.stream);
    }
    return { entryId, duplicate: added === 0 };
  }

  /**
   * Gives an event up: true when it is in the stream after all (an earlier append landed, perhaps
   * after its caller had stopped waiting), false when it is not and never will be (the id is marked
   * in the dedupe key, in the stream's slot, so a late or retried append of it is refused).
   */
  async abandon(eventId: string): Promise<boolean> {
    checkId('event id', eventId);
    const r = await this.conn.eval<string>(ABANDON, [this.keys.seen(eventId)], [this.dedupeTtlMs]);
    return r !== 'abandoned';
  }

  async close(): Promise<void> {
    // The connection is shared and owned by the caller.
  }
}

/** Parses the field/value map of one stream entry (for consumers and tests); undefined if malformed. */
export function parseEstablishedEntry(fields: Record<string, string>): EstablishedConnectionEvent | undefined {
  const at = Number(fields.at);
  if (!fields.id || !fields.officerId || !fields.citizenId || typeof fields.zip !== 'string' || !Number.isFinite(at)) return undefined;
  return { id: fields.id, officerId: fields.officerId, citizenId: fields.citizenId, at, zip: fields.zip };
}

function checkEvent(e: EstablishedConnectionEvent): void {
  if (typeof e !== 'object' || e === null) throw new TypeError('event must be an object');
  checkId('event.id', e.id);
  checkId('event.officerId', e.officerId);
  checkId('event.citizenId', e.citizenId);
  checkNumber('event.at', e.at);
  if (typeof e.zip !== 'string' || e.zip.length > 16) throw new TypeError('event.zip must be a short string');
}
