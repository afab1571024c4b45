// In-memory twins of the Redis stores (src/adapters/redis/): embedded mode and tests. Same
// semantics, so the orchestrator's logic cannot tell them apart: a record is removed only by its
// own socket, a request is decided exactly once, a late answer reads as expired.
import type {
  AcceptLease,
  CreateResult,
  FinalStatus,
  NewRequest,
  NodeStats,
  PutResult,
  RequestStore,
  SocketRecord,
  SocketRecordStore,
  StoredRequest,
  TransitionResult,
} from '../../coordination/index.js';
import { isPendingAt, newPendingRequest, REPLACED_REMEMBERED } from '../../coordination/index.js';
import type { Role } from '../../protocol/index.js';

export class MemorySocketRecords implements SocketRecordStore {
  private readonly records = new Map<string, SocketRecord>();
  /** Per record key, the sockets it replaced (node, at), newest first: as the Redis PUT's `gone`. */
  private readonly gone = new Map<string, [string, number][]>();
  private readonly stats = new Map<string, { stats: NodeStats; receivedAt: number }>();

  constructor(
    private readonly options: {
      /** A node's stats are dropped this long after its last report (default 15 s, like Redis). */
      statsTtlMs?: number;
      now?: () => number;
    } = {},
  ) {}

  async put(record: SocketRecord): Promise<PutResult> {
    const key = `${record.role}:${record.profileId}`;
    const prev = this.records.get(key);
    const gone = this.gone.get(key) ?? [];
    if (prev && prev.node === record.node && prev.at === record.at) {
      this.records.set(key, { ...record });
      return {};
    }
    if (gone.some(([node, at]) => node === record.node && at === record.at)) return { superseded: true };
    this.records.set(key, { ...record });
    if (!prev) return {};
    this.gone.set(key, [[prev.node, prev.at] as [string, number], ...gone].slice(0, REPLACED_REMEMBERED));
    return { replaced: prev };
  }

  async remove(record: SocketRecord): Promise<boolean> {
    const key = `${record.role}:${record.profileId}`;
    const cur = this.records.get(key);
    // A newer socket of the same profile (on this or another node) keeps its record.
    if (!cur || cur.node !== record.node || cur.at !== record.at) return false;
    this.records.delete(key);
    this.gone.delete(key);
    return true;
  }

  async setAvailable(record: SocketRecord, available: boolean): Promise<boolean> {
    const cur = this.records.get(`${record.role}:${record.profileId}`);
    if (!cur || cur.node !== record.node || cur.at !== record.at) return false;
    cur.available = available;
    return true;
  }

  async get(role: Role, profileId: string): Promise<SocketRecord | undefined> {
    return this.records.get(`${role}:${profileId}`);
  }

  async putStats(stats: NodeStats): Promise<void> {
    this.stats.set(stats.node, { stats: { ...stats }, receivedAt: this.now() });
  }

  async countsByNode(): Promise<Map<string, NodeStats>> {
    const ttl = this.options.statsTtlMs ?? 15_000;
    const now = this.now();
    const out = new Map<string, NodeStats>();
    for (const [node, s] of this.stats) {
      if (now - s.receivedAt > ttl) this.stats.delete(node);
      else out.set(node, s.stats);
    }
    return out;
  }

  /** Open sockets recorded, by role (metrics). */
  count(role: Role): number {
    let n = 0;
    for (const r of this.records.values()) if (r.role === role) n++;
    return n;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

/**
 * Requests live until `retentionMs` after they were decided (or would have expired), then are
 * forgotten: memory is bounded by the request rate (itself rate-limited per citizen). Every call
 * runs to completion without awaiting, so each is atomic like the Redis scripts.
 */
export class MemoryRequestStore implements RequestStore {
  private readonly requests = new Map<string, StoredRequest>();
  /** Pending requests by officer, then citizen → request id: the pair rule and the officer cap. */
  private readonly byOfficer = new Map<string, Map<string, string>>();
  /** Requests not decided yet (pending, accepting): what due() looks at. */
  private readonly open = new Set<string>();
  private readonly retentionMs: number;

  constructor(options: { retentionMs?: number } = {}) {
    this.retentionMs = options.retentionMs ?? 3600_000;
  }

  async create(req: NewRequest, now: number, ttlMs: number, maxPerOfficer: number): Promise<CreateResult | undefined> {
    this.purge(now);
    if (this.requests.has(req.id)) return undefined;
    let table = this.byOfficer.get(req.officerId);
    if (table) {
      for (const [citizen, id] of table) {
        const rec = this.requests.get(id);
        if (!rec || !isPendingAt(rec, now)) table.delete(citizen);
      }
      const mine = table.get(req.citizenId);
      if (mine) return { outcome: 'existing', record: { ...this.requests.get(mine)! } };
      if (table.size >= maxPerOfficer) return { outcome: 'officer_busy' };
    } else {
      this.byOfficer.set(req.officerId, (table = new Map()));
    }
    const rec = newPendingRequest(req, now, ttlMs);
    this.requests.set(req.id, rec);
    table.set(req.citizenId, req.id);
    this.open.add(req.id);
    return { outcome: 'created', record: { ...rec } };
  }

  async get(id: string, now: number): Promise<StoredRequest | undefined> {
    const rec = this.requests.get(id);
    if (!rec) return undefined;
    if (rec.status === 'pending' && now > rec.expiresAt) return { ...rec, status: 'expired', at: rec.expiresAt };
    return { ...rec };
  }

  async transition(id: string, to: 'declined' | 'expired', now: number): Promise<TransitionResult> {
    const rec = this.requests.get(id);
    if (!rec) return { changed: false };
    if (rec.status !== 'pending') return { changed: false, record: { ...rec } };
    this.settle(rec, to !== 'expired' && now > rec.expiresAt ? 'expired' : to, now);
    return { changed: true, record: { ...rec } };
  }

  async beginAccept(id: string, now: number, lease: AcceptLease): Promise<TransitionResult> {
    const rec = this.requests.get(id);
    if (!rec) return { changed: false };
    if (rec.status !== 'pending') return { changed: false, record: { ...rec } };
    if (now > rec.expiresAt) {
      this.settle(rec, 'expired', now);
      return { changed: true, record: { ...rec } };
    }
    this.unlist(rec);
    Object.assign(rec, { status: 'accepting', answeredAt: now, owner: lease.owner, leaseUntil: now + lease.leaseMs, deadline: now + lease.windowMs });
    return { changed: true, record: { ...rec } };
  }

  async claim(id: string, owner: string, now: number, leaseMs: number): Promise<TransitionResult> {
    const rec = this.requests.get(id);
    if (!rec) return { changed: false };
    if (rec.status !== 'accepting' || (rec.owner !== owner && (rec.leaseUntil ?? 0) >= now)) return { changed: false, record: { ...rec } };
    rec.owner = owner;
    rec.leaseUntil = now + leaseMs;
    return { changed: true, record: { ...rec } };
  }

  async finish(id: string, owner: string, to: 'accepted' | 'failed', now: number): Promise<TransitionResult> {
    const rec = this.requests.get(id);
    if (!rec) return { changed: false };
    if (rec.status !== 'accepting' || rec.owner !== owner) return { changed: false, record: { ...rec } };
    this.settle(rec, to, to === 'accepted' ? (rec.answeredAt ?? now) : now);
    return { changed: true, record: { ...rec } };
  }

  async due(now: number, limit: number): Promise<string[]> {
    const out: string[] = [];
    for (const id of this.open) {
      const rec = this.requests.get(id);
      if (!rec) {
        this.open.delete(id);
        continue;
      }
      const at = rec.status === 'pending' ? rec.expiresAt : (rec.leaseUntil ?? 0);
      if (at < now) out.push(id);
      if (out.length >= limit) break;
    }
    return out;
  }

  get size(): number {
    return this.requests.size;
  }

  /** A final status: off the officer's table and the open set, to the back of the purge order. */
  private settle(rec: StoredRequest, status: FinalStatus, at: number): void {
    this.unlist(rec);
    this.open.delete(rec.id);
    rec.status = status;
    rec.at = at;
    // Keep insertion order == purge order: a decided request moves to the back.
    this.requests.delete(rec.id);
    this.requests.set(rec.id, rec);
  }

  /** Off the officer's pending table (it was answered or is over). */
  private unlist(rec: StoredRequest): void {
    const table = this.byOfficer.get(rec.officerId);
    if (table?.get(rec.citizenId) !== rec.id) return;
    table.delete(rec.citizenId);
    if (table.size === 0) this.byOfficer.delete(rec.officerId);
  }

  /** Drops requests past retention. Map order is (roughly) by last change, so it stops early. */
  private purge(now: number): void {
    for (const [id, rec] of this.requests) {
      const last = rec.status === 'pending' ? rec.expiresAt : rec.status === 'accepting' ? Math.max(rec.deadline ?? 0, rec.leaseUntil ?? 0) : rec.at;
      if (now - last <= this.retentionMs) break;
      this.requests.delete(id);
      this.open.delete(id);
      this.unlist(rec);
    }
  }
}
