// Connection requests (SPEC §1 step 5, `POST /v1/connections`) in Redis, so any orchestrator can
// answer `GET /v1/connections/:id` and take the officer's answer. The decision is one Lua script:
// pending → accepted/declined/expired happens once, and exactly one caller learns it won, so two
// orchestrators (or an answer racing the expiry timer) can never both decide.
import { newPendingRequest, type FinalStatus, type NewRequest, type RequestStore, type StoredRequest, type TransitionResult } from '../../coordination/stores.js';
import type { RedisConnection } from './connect.js';
import { checkId, checkNumber, DEFAULT_PREFIX, redisKeys, type RedisKeys } from './keys.js';
import { LuaScript } from './lua.js';

// The shapes are the orchestrator's (src/coordination/stores.ts); this is their Redis implementation.
export type { FinalStatus, NewRequest, RequestStore, StoredRequest, TransitionResult };

// KEYS: request.  ARGV: retention ms, field/value pairs. 0 when the id exists.
const CREATE = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`);

// KEYS: request.  ARGV: to, now, retention ms. Returns {changed, HGETALL} or false when absent.
const TRANSITION = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local changed = 0
if redis.call('HGET', KEYS[1], 'status') == 'pending' then
  local to = ARGV[1]
  local now = tonumber(ARGV[2])
  if to ~= 'expired' and now > tonumber(redis.call('HGET', KEYS[1], 'expiresAt')) then to = 'expired' end
  redis.call('HSET', KEYS[1], 'status', to, 'at', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  changed = 1
end
return {changed, redis.call('HGETALL', KEYS[1])}`);

const FINAL = new Set<string>(['accepted', 'declined', 'expired']);
const STATUSES = new Set<string>(['pending', 'accepted', 'declined', 'expired']);

export class RedisRequestStore implements RequestStore {
  private readonly keys: RedisKeys;
  private readonly retentionMs: number;

  constructor(
    private readonly conn: RedisConnection,
    /** How long a request stays readable after it was created or decided (default 1 hour). */
    options: { prefix?: string; retentionMs?: number } = {},
  ) {
    this.keys = redisKeys(options.prefix ?? DEFAULT_PREFIX);
    this.retentionMs = options.retentionMs ?? 3600_000;
  }

  async create(req: NewRequest, now: number, ttlMs: number): Promise<StoredRequest | undefined> {
    if (typeof req !== 'object' || req === null) throw new TypeError('request must be an object');
    checkId('request.id', req.id);
    checkId('request.officerId', req.officerId);
    checkId('request.citizenId', req.citizenId);
    if (req.zip !== undefined && (typeof req.zip !== 'string' || req.zip.length > 16)) throw new TypeError('request.zip must be a short string');
    checkNumber('now', now);
    if (!(checkNumber('ttlMs', ttlMs) > 0)) throw new RangeError('ttlMs must be positive');
    const rec = newPendingRequest(req, now, ttlMs);
    const pairs = Object.entries(rec).flatMap(([k, v]) => [k, String(v)]);
    const ok = await this.conn.eval<number>(CREATE, [this.keys.request(req.id)], [ttlMs + this.retentionMs, ...pairs]);
    return ok === 1 ? rec : undefined;
  }

  async get(id: string, now: number): Promise<StoredRequest | undefined> {
    checkId('request id', id);
    const k = this.keys.request(id);
    const rec = parseRequest(await this.conn.send<string[]>(['HGETALL', k], k, true));
    if (rec && rec.status === 'pending' && now > rec.expiresAt) return { ...rec, status: 'expired', at: rec.expiresAt };
    return rec;
  }

  async transition(id: string, to: FinalStatus, now: number): Promise<TransitionResult> {
    checkId('request id', id);
    if (!FINAL.has(to)) throw new TypeError('to must be accepted, declined or expired');
    checkNumber('now', now);
    const r = await this.conn.eval<[number, string[]] | null>(TRANSITION, [this.keys.request(id)], [to, now, this.retentionMs]);
    if (!r) return { changed: false };
    return { changed: r[0] === 1, record: parseRequest(r[1]) };
  }
}

function parseRequest(flat: unknown): StoredRequest | undefined {
  if (!Array.isArray(flat) || flat.length === 0) return undefined;
  const h: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) h[String(flat[i])] = String(flat[i + 1]);
  if (!h.id || !STATUSES.has(h.status)) return undefined;
  return {
    id: h.id,
    officerId: h.officerId ?? '',
    citizenId: h.citizenId ?? '',
    status: h.status as StoredRequest['status'],
    at: Number(h.at),
    createdAt: Number(h.createdAt),
    expiresAt: Number(h.expiresAt),
    zip: h.zip ?? '',
  };
}
