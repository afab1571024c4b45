// Busy-socket records (SPEC §1 step 1: "records the busy connection (socket url, profile id)") and
// free/busy counts per node, in Redis so every orchestrator shares them.
//
// Layout (see keys.ts): one JSON record per (role, profile) under its own hash tag, so records
// spread over a cluster; a SET per node listing the records it owns, and a SET of such nodes, so
// the records of a node that died can be found and removed (`reapDeadNodes`). The per-node SET is
// written before the record, so a record never exists without its index entry.
import { REPLACED_REMEMBERED, type NodeStats, type PutResult, type SocketRecord, type SocketRecordStore } from '../../coordination/index.js';
import type { Role } from '../../protocol/index.js';
import type { RedisConnection } from './connect.js';
import { checkId, checkNumber, DEFAULT_PREFIX, redisKeys, type RedisKeys } from './keys.js';
import { LuaScript } from './lua.js';

export type { SocketRecordStore };

// KEYS: record.  ARGV: json, node, at, how many replaced sockets to remember.
// Returns {outcome, previous json or false}: 'new' (no record), 'same' (this socket's own record,
// rewritten: every orchestrator records each open), 'replaced' (another socket's record, now
// remembered in \`gone\`), 'stale' (this socket is in \`gone\`: it was replaced already; nothing written).
const PUT = new LuaScript(`
local prev = redis.call('GET', KEYS[1])
local rec = cjson.decode(ARGV[1])
local at = tonumber(ARGV[3])
local outcome = 'new'
if prev then
  local ok, r = pcall(cjson.decode, prev)
  if ok and type(r) == 'table' then
    local gone = type(r.gone) == 'table' and r.gone or {}
    if r.node == ARGV[2] and r.at == at then
      outcome = 'same'
      if #gone > 0 then rec.gone = gone end
    else
      for _, g in ipairs(gone) do
        if type(g) == 'table' and g[1] == ARGV[2] and g[2] == at then return {'stale', prev} end
      end
      outcome = 'replaced'
      local kept = {{r.node, r.at}}
      for i = 1, math.min(#gone, tonumber(ARGV[4]) - 1) do kept[#kept + 1] = gone[i] end
      rec.gone = kept
    end
  end
end
redis.call('SET', KEYS[1], cjson.encode(rec))
return {outcome, prev or false}`);

// KEYS: record.  ARGV: node, at ('' = any). 1 removed; 0 absent or another node's; -1 a newer
// socket of the same node holds it (its index entry must stay).
const REMOVE = new LuaScript(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local ok, r = pcall(cjson.decode, v)
if not ok or type(r) ~= 'table' or r.node ~= ARGV[1] then return 0 end
if ARGV[2] ~= '' and r.at ~= tonumber(ARGV[2]) then return -1 end
redis.call('DEL', KEYS[1])
return 1`);

// KEYS: record.  ARGV: node, at, available ('1'/'0'). 1 set; 0 absent or another socket's.
const SET_AVAILABLE = new LuaScript(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local ok, r = pcall(cjson.decode, v)
if not ok or type(r) ~= 'table' or r.node ~= ARGV[1] or r.at ~= tonumber(ARGV[2]) then return 0 end
r.available = ARGV[3] == '1'
redis.call('SET', KEYS[1], cjson.encode(r))
return 1`);

// KEYS: stats hash, stats index.  ARGV: node, ttl ms, then field/value pairs.
const PUT_STATS = new LuaScript(`
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
return 1`);

// KEYS: stats index.  ARGV: stats key prefix. Returns {node, {field, value, ...}, ...}.
const ALL_STATS = new LuaScript(`
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local h = redis.call('HGETALL', ARGV[1] .. id)
  if #h == 0 then redis.call('SREM', KEYS[1], id) else out[#out + 1] = id; out[#out + 1] = h end
end
return out`);

const STAT_FIELDS = ['officers', 'citizens', 'busy', 'free', 'at'] as const;
const ROLES = new Set<string>(['officer', 'citizen']);

export class RedisSocketRecords implements SocketRecordStore {
  private readonly keys: RedisKeys;
  private readonly statsTtlMs: number;

  constructor(
    private readonly conn: RedisConnection,
    options: { prefix?: string; statsTtlMs?: number } = {},
  ) {
    this.keys = redisKeys(options.prefix ?? DEFAULT_PREFIX);
    this.statsTtlMs = options.statsTtlMs ?? 15_000;
  }

  async put(record: SocketRecord): Promise<PutResult> {
    checkRecord(record);
    const member = `${record.role}:${record.profileId}`;
    const stored: SocketRecord = {
      node: record.node,
      url: record.url,
      role: record.role,
      profileId: record.profileId,
      zip: record.zip,
      at: record.at,
    };
    if (record.available !== undefined) stored.available = record.available === true;
    // Sent together (one round trip, pipelined); on a single connection they are written in this
    // order, so the index entries precede the record.
    const nodeSet = this.keys.nodeSockets(record.node);
    const [, , reply] = await Promise.all([
      this.conn.send(['SADD', this.keys.socketNodes, record.node], this.keys.socketNodes),
      this.conn.send(['SADD', nodeSet, member], nodeSet),
      this.conn.eval<[string, unknown]>(
        PUT,
        [this.keys.socket(record.role, record.profileId)],
        [JSON.stringify(stored), record.node, String(record.at), String(REPLACED_REMEMBERED)],
      ),
    ]);
    const [outcome, prevRaw] = reply;
    if (outcome === 'stale') {
      // Not written: the node's index entry added above belongs to no record of this node now.
      if (parseRecord(prevRaw)?.node !== record.node) await this.conn.send(['SREM', nodeSet, member], nodeSet).catch(() => {});
      return { superseded: true };
    }
    if (outcome !== 'replaced') return {};
    const prev = parseRecord(prevRaw);
    if (prev && prev.node !== record.node) {
      // The profile moved to another node: the old node's index entry is stale now.
      const old = this.keys.nodeSockets(prev.node);
      await this.conn.send(['SREM', old, member], old).catch(() => {});
    }
    return prev ? { replaced: prev } : {};
  }

  async remove(record: SocketRecord): Promise<boolean> {
    checkRecord(record);
    const r = await this.conn.eval<number>(REMOVE, [this.keys.socket(record.role, record.profileId)], [record.node, String(record.at)]);
    if (r !== -1) {
      const nodeSet = this.keys.nodeSockets(record.node);
      await this.conn.send(['SREM', nodeSet, `${record.role}:${record.profileId}`], nodeSet).catch(() => {});
    }
    return r === 1;
  }

  async setAvailable(record: SocketRecord, available: boolean): Promise<boolean> {
    checkRecord(record);
    const k = this.keys.socket(record.role, record.profileId);
    return (await this.conn.eval<number>(SET_AVAILABLE, [k], [record.node, String(record.at), available ? '1' : '0'])) === 1;
  }

  async get(role: Role, profileId: string): Promise<SocketRecord | undefined> {
    if (!ROLES.has(role)) throw new TypeError('role must be officer or citizen');
    checkId('profileId', profileId);
    const k = this.keys.socket(role, profileId);
    return parseRecord(await this.conn.send(['GET', k], k, true));
  }

  /**
   * Removes every record of `nodeId` (and its index): for a node that died, or a processor
   * restarting with the same id before it accepts sockets. Safe to run concurrently with
   * itself and with `put` on other nodes: each record is deleted only if it still names this node.
   * Resolves the number of records removed.
   */
  async clearNode(nodeId: string): Promise<number> {
    checkId('node id', nodeId);
    const nodeSet = this.keys.nodeSockets(nodeId);
    let removed = 0;
    let cursor = '0';
    do {
      const [next, members] = await this.conn.send<[string, string[]]>(['SSCAN', nodeSet, cursor, 'COUNT', '500'], nodeSet, true);
      cursor = next;
      const results = await Promise.all(
        members.map((m) => {
          const i = m.indexOf(':');
          return this.conn.eval<number>(REMOVE, [this.keys.socket(m.slice(0, i), m.slice(i + 1))], [nodeId, '']);
        }),
      );
      for (const r of results) if (r === 1) removed++;
    } while (cursor !== '0');
    await this.conn.send(['DEL', nodeSet], nodeSet);
    await this.conn.send(['SREM', this.keys.socketNodes, nodeId], this.keys.socketNodes);
    return removed;
  }

  /**
   * Clears the records of every node that has records but no live registry announcement (its
   * heartbeat expired). Liveness is checked in Redis at reap time, not in a local directory view,
   * so a node that has just started is never reaped by an orchestrator that has not seen it yet.
   * Any orchestrator may run this periodically; concurrent runs are harmless.
   */
  async reapDeadNodes(): Promise<string[]> {
    const nodes = await this.conn.send<string[]>(['SMEMBERS', this.keys.socketNodes], this.keys.socketNodes, true);
    const dead: string[] = [];
    for (const id of nodes) {
      const alive = await this.conn.send<number>(['EXISTS', this.keys.node(id)], this.keys.node(id), true);
      if (alive) continue;
      await this.clearNode(id);
      dead.push(id);
    }
    return dead;
  }

  /** Stores a node's latest stats (from `node.stats`); they expire after statsTtlMs without a new report. */
  async putStats(stats: NodeStats): Promise<void> {
    checkId('stats.node', stats.node);
    checkId('stats.url', stats.url);
    const pairs: string[] = ['url', stats.url];
    for (const f of STAT_FIELDS) pairs.push(f, String(checkNumber(`stats.${f}`, stats[f])));
    await this.conn.eval(PUT_STATS, [this.keys.stats(stats.node), this.keys.statsIndex], [stats.node, this.statsTtlMs, ...pairs]);
  }

  async countsByNode(): Promise<Map<string, NodeStats>> {
    const raw = await this.conn.eval<unknown[]>(ALL_STATS, [this.keys.statsIndex], [this.keys.statsPrefix]);
    const out = new Map<string, NodeStats>();
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const node = String(raw[i]);
      const flat = raw[i + 1] as string[];
      const h: Record<string, string> = {};
      for (let j = 0; j + 1 < flat.length; j += 2) h[flat[j]] = flat[j + 1];
      out.set(node, {
        node,
        url: h.url ?? '',
        officers: Number(h.officers) || 0,
        citizens: Number(h.citizens) || 0,
        busy: Number(h.busy) || 0,
        free: Number(h.free) || 0,
        at: Number(h.at) || 0,
      });
    }
    return out;
  }
}

function checkRecord(r: SocketRecord): void {
  if (typeof r !== 'object' || r === null) throw new TypeError('record must be an object');
  if (!ROLES.has(r.role)) throw new TypeError('record.role must be officer or citizen');
  checkId('record.node', r.node);
  checkId('record.profileId', r.profileId);
  checkId('record.url', r.url);
  if (typeof r.zip !== 'string' || r.zip.length > 16) throw new TypeError('record.zip must be a short string');
  checkNumber('record.at', r.at);
}

function parseRecord(v: unknown): SocketRecord | undefined {
  if (typeof v !== 'string') return undefined;
  try {
    const r = JSON.parse(v) as SocketRecord & { gone?: unknown };
    if (typeof r !== 'object' || r === null || typeof r.node !== 'string') return undefined;
    // `gone` is the store's own bookkeeping (PUT), not part of the record.
    delete r.gone;
    return r;
  } catch {
    return undefined;
  }
}
