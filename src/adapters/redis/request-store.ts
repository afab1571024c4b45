// Connection requests (SPEC §1 step 5, `POST /v1/connections`) in Redis, so any orchestrator can
// answer `GET /v1/connections/:id`, take the officer's answer, or finish what a dead one started.
//
// Every change of a request is one Lua script on its hash, so exactly one caller learns it changed
// it (two orchestrators, or an answer racing the expiry timer, can never both decide). Two indexes
// live in other slots (a Redis Cluster cannot put them in one script with the hash), so they are
// kept in an order that a crash can only leave stale, never wrong:
// * the officer's table (pair rule + cap): written after the request hash exists, removed after
//   the request left `pending`; a stale entry (its request no longer pending) is dropped by the
//   next create that meets it;
// * the open set (ZSET, what due() reads): added before the request is announced, its score fixed
//   lazily by due() (which reads the hash), removed once the hash says final.
import {
  isPendingAt,
  newPendingRequest,
  type AcceptLease,
  type CreateResult,
  type FinalStatus,
  type NewRequest,
  type RequestStore,
  type StoredRequest,
  type TransitionResult,
} from '../../coordination/stores.js';
import type { RedisConnection } from './connect.js';
import { checkId, checkNumber, DEFAULT_PREFIX, redisKeys, type RedisKeys } from './keys.js';
import { LuaScript } from './lua.js';

// The shapes are the orchestrator's (src/coordination/stores.ts); this is their Redis implementation.
export type { CreateResult, FinalStatus, NewRequest, RequestStore, StoredRequest, TransitionResult };

// KEYS: request.  ARGV: retention ms, field/value pairs. 0 when the id exists.
const CREATE = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`);

// KEYS: officer table.  ARGV: now, citizen id, request id, expiresAt, max, key ttl ms.
// {0} reserved, {1, existing id} the pair has one, {2} the officer is full. Entries past their
// expiry are dropped first; the caller verifies an existing entry against the request hash.
const RESERVE = new LuaScript(`
local now = tonumber(ARGV[1])
local all = redis.call('HGETALL', KEYS[1])
local n = 0
local mine = false
for i = 1, #all, 2 do
  local v = all[i + 1]
  local sep = string.find(v, '|', 1, true)
  if not sep or tonumber(string.sub(v, sep + 1)) < now then
    redis.call('HDEL', KEYS[1], all[i])
  else
    n = n + 1
    if all[i] == ARGV[2] then mine = string.sub(v, 1, sep - 1) end
  end
end
if mine then return {1, mine} end
if n >= tonumber(ARGV[5]) then return {2} end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3] .. '|' .. ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return {0}`);

// KEYS: officer table.  ARGV: citizen id, request id. Drops the pair's entry if it is this request's.
const RELEASE = new LuaScript(`
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v and string.sub(v, 1, #ARGV[2] + 1) == ARGV[2] .. '|' then redis.call('HDEL', KEYS[1], ARGV[1]) return 1 end
return 0`);

// KEYS: request.  ARGV: to (declined|expired), now, retention ms. {changed, HGETALL} or false when absent.
const DECIDE = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local changed = 0
if redis.call('HGET', KEYS[1], 'status') == 'pending' then
  local to = ARGV[1]
  if to ~= 'expired' and tonumber(ARGV[2]) > tonumber(redis.call('HGET', KEYS[1], 'expiresAt')) then to = 'expired' end
  redis.call('HSET', KEYS[1], 'status', to, 'at', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  changed = 1
end
return {changed, redis.call('HGETALL', KEYS[1])}`);

// KEYS: request.  ARGV: now, owner, leaseUntil, deadline, retention ms (expired), retention ms (accepting).
const BEGIN_ACCEPT = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local changed = 0
if redis.call('HGET', KEYS[1], 'status') == 'pending' then
  if tonumber(ARGV[1]) > tonumber(redis.call('HGET', KEYS[1], 'expiresAt')) then
    redis.call('HSET', KEYS[1], 'status', 'expired', 'at', ARGV[1])
    redis.call('PEXPIRE', KEYS[1], ARGV[5])
  else
    redis.call('HSET', KEYS[1], 'status', 'accepting', 'answeredAt', ARGV[1], 'owner', ARGV[2], 'leaseUntil', ARGV[3], 'deadline', ARGV[4])
    redis.call('PEXPIRE', KEYS[1], ARGV[6])
  end
  changed = 1
end
return {changed, redis.call('HGETALL', KEYS[1])}`);

// KEYS: request.  ARGV: owner, now, leaseUntil. Takes a lapsed lease, or renews the owner's.
const CLAIM = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local changed = 0
if redis.call('HGET', KEYS[1], 'status') == 'accepting' then
  local owner = redis.call('HGET', KEYS[1], 'owner')
  if owner == ARGV[1] or tonumber(redis.call('HGET', KEYS[1], 'leaseUntil')) < tonumber(ARGV[2]) then
    redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'leaseUntil', ARGV[3])
    changed = 1
  end
end
return {changed, redis.call('HGETALL', KEYS[1])}`);

// KEYS: request.  ARGV: owner, to (accepted|failed), now, retention ms.
const FINISH = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local changed = 0
if redis.call('HGET', KEYS[1], 'status') == 'accepting' and redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then
  local at = ARGV[3]
  if ARGV[2] == 'accepted' then at = redis.call('HGET', KEYS[1], 'answeredAt') end
  redis.call('HSET', KEYS[1], 'status', ARGV[2], 'at', at)
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  changed = 1
end
return {changed, redis.call('HGETALL', KEYS[1])}`);

const STATUSES = new Set<string>(['pending', 'accepting', 'accepted', 'declined', 'expired', 'failed']);

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

  async create(req: NewRequest, now: number, ttlMs: number, maxPerOfficer: number): Promise<CreateResult | undefined> {
    if (typeof req !== 'object' || req === null) throw new TypeError('request must be an object');
    checkId('request.id', req.id);
    checkId('request.officerId', req.officerId);
    checkId('request.citizenId', req.citizenId);
    if (req.zip !== undefined && (typeof req.zip !== 'string' || req.zip.length > 16)) throw new TypeError('request.zip must be a short string');
    checkNumber('now', now);
    if (!(checkNumber('ttlMs', ttlMs) > 0)) throw new RangeError('ttlMs must be positive');
    if (!(checkNumber('maxPerOfficer', maxPerOfficer) > 0)) throw new RangeError('maxPerOfficer must be positive');
    const rec = newPendingRequest(req, now, ttlMs);
    const key = this.keys.request(req.id);
    const table = this.keys.officerRequests(req.officerId);
    // The hash first: an entry in the officer's table always has its request to check against.
    const pairs = Object.entries(rec).flatMap(([k, v]) => [k, String(v)]);
    if ((await this.conn.eval<number>(CREATE, [key], [ttlMs + this.retentionMs, ...pairs])) !== 1) return undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const r = await this.conn.eval<[number, string?]>(RESERVE, [table], [now, req.citizenId, req.id, rec.expiresAt, maxPerOfficer, ttlMs + 60_000]);
      if (r[0] === 0) {
        await this.index(['ZADD', this.keys.openRequests, String(rec.expiresAt), req.id]);
        return { outcome: 'created', record: rec };
      }
      if (r[0] === 2) {
        await this.conn.send(['DEL', key], key);
        return { outcome: 'officer_busy' };
      }
      const existing = await this.get(r[1]!, now);
      if (existing && isPendingAt(existing, now) && existing.citizenId === req.citizenId && existing.officerId === req.officerId) {
        await this.conn.send(['DEL', key], key);
        return { outcome: 'existing', record: existing };
      }
      // A stale entry (its request was answered or is gone and the release was lost): drop, retry.
      await this.conn.eval(RELEASE, [table], [req.citizenId, r[1]!]);
    }
    await this.conn.send(['DEL', key], key);
    throw new Error(`the pending table of officer ${req.officerId} keeps changing; retry`);
  }

  async get(id: string, now: number): Promise<StoredRequest | undefined> {
    checkId('request id', id);
    const k = this.keys.request(id);
    const rec = parseRequest(await this.conn.send<string[]>(['HGETALL', k], k, true));
    if (rec && rec.status === 'pending' && now > rec.expiresAt) return { ...rec, status: 'expired', at: rec.expiresAt };
    return rec;
  }

  async transition(id: string, to: 'declined' | 'expired', now: number): Promise<TransitionResult> {
    checkId('request id', id);
    if (to !== 'declined' && to !== 'expired') throw new TypeError('to must be declined or expired');
    checkNumber('now', now);
    return this.after(await this.conn.eval<[number, string[]] | null>(DECIDE, [this.keys.request(id)], [to, now, this.retentionMs]));
  }

  async beginAccept(id: string, now: number, lease: AcceptLease): Promise<TransitionResult> {
    checkId('request id', id);
    checkNumber('now', now);
    checkId('owner', lease.owner);
    checkNumber('leaseMs', lease.leaseMs);
    checkNumber('windowMs', lease.windowMs);
    const deadline = now + lease.windowMs;
    const r = await this.conn.eval<[number, string[]] | null>(
      BEGIN_ACCEPT,
      [this.keys.request(id)],
      [now, lease.owner, now + lease.leaseMs, deadline, this.retentionMs, Math.max(lease.windowMs, lease.leaseMs) + this.retentionMs],
    );
    return this.after(r);
  }

  async claim(id: string, owner: string, now: number, leaseMs: number): Promise<TransitionResult> {
    checkId('request id', id);
    checkId('owner', owner);
    checkNumber('now', now);
    checkNumber('leaseMs', leaseMs);
    return this.after(await this.conn.eval<[number, string[]] | null>(CLAIM, [this.keys.request(id)], [owner, now, now + leaseMs]));
  }

  async finish(id: string, owner: string, to: 'accepted' | 'failed', now: number): Promise<TransitionResult> {
    checkId('request id', id);
    checkId('owner', owner);
    if (to !== 'accepted' && to !== 'failed') throw new TypeError('to must be accepted or failed');
    checkNumber('now', now);
    return this.after(await this.conn.eval<[number, string[]] | null>(FINISH, [this.keys.request(id)], [owner, to, now, this.retentionMs]));
  }

  async due(now: number, limit: number): Promise<string[]> {
    checkNumber('now', now);
    const open = this.keys.openRequests;
    const ids = await this.conn.send<string[]>(['ZRANGEBYSCORE', open, '-inf', String(now), 'LIMIT', '0', String(limit)], open, true);
    const out: string[] = [];
    for (const id of ids) {
      const k = this.keys.request(id);
      const rec = parseRequest(await this.conn.send<string[]>(['HGETALL', k], k, true));
      if (!rec || (rec.status !== 'pending' && rec.status !== 'accepting')) {
        await this.conn.send(['ZREM', open, id], open);
        continue;
      }
      // The score is only a hint (written outside the request's script): the hash decides.
      const at = rec.status === 'pending' ? rec.expiresAt : (rec.leaseUntil ?? 0);
      if (at < now) out.push(id);
      else await this.conn.send(['ZADD', open, String(at), id], open);
    }
    return out;
  }

  /**
   * Keeps the indexes in step with a change: off the officer's table once not pending, off the open
   * set once final. Best effort: the change itself is done, and its caller must learn that it won
   * (to announce it); a stale index entry is repaired by create() and due().
   */
  private async after(r: [number, string[]] | null): Promise<TransitionResult> {
    if (!r) return { changed: false };
    const record = parseRequest(r[1]);
    if (r[0] === 1 && record && record.status !== 'pending') {
      await this.conn.eval(RELEASE, [this.keys.officerRequests(record.officerId)], [record.citizenId, record.id]).catch(() => {});
      const open = this.keys.openRequests;
      await this.index(record.status === 'accepting' ? ['ZADD', open, String(record.leaseUntil ?? 0), record.id] : ['ZREM', open, record.id]);
    }
    return { changed: r[0] === 1, record };
  }

  /** One write to the open set, best effort (see above). */
  private async index(cmd: string[]): Promise<void> {
    await this.conn.send(cmd, this.keys.openRequests).catch(() => {});
  }
}

function parseRequest(flat: unknown): StoredRequest | undefined {
  if (!Array.isArray(flat) || flat.length === 0) return undefined;
  const h: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) h[String(flat[i])] = String(flat[i + 1]);
  if (!h.id || !STATUSES.has(h.status)) return undefined;
  const rec: StoredRequest = {
    id: h.id,
    officerId: h.officerId ?? '',
    citizenId: h.citizenId ?? '',
    status: h.status as StoredRequest['status'],
    at: Number(h.at),
    createdAt: Number(h.createdAt),
    expiresAt: Number(h.expiresAt),
    zip: h.zip ?? '',
  };
  if (h.answeredAt !== undefined) rec.answeredAt = Number(h.answeredAt);
  if (h.owner !== undefined) rec.owner = h.owner;
  if (h.leaseUntil !== undefined) rec.leaseUntil = Number(h.leaseUntil);
  if (h.deadline !== undefined) rec.deadline = Number(h.deadline);
  return rec;
}
