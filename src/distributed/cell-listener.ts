// The listening side of officer replication: the cells this node's citizens need. A citizen
// listens to every cell its search circle touches (cells.ts); a cell is subscribed while some
// citizen needs it (and `lingerMs` after), its snapshot read once the subscription is confirmed
// (again after a reconnect), and what it hears goes to the replica.
//
// * Own messages: Redis echoes a node's batches back to it on the cells it listens to; they are
//   recognised by their envelope header (Sealer.sealedHere) and dropped without being opened.
// * Bounded like publishing: a burst of new citizens (a reconnect storm over sparse cells: 10k+
//   new cells per node) subscribes at most MAX_SUBSCRIBING at once and reads snapshots within the
//   command budget; maintain() picks up the rest.
// * Data sealed under another REPLICATION_KEY is dropped, counted (`wrongKey`) and logged, at most
//   once a minute: the nodes then miss each other's officers until their keys agree.
import type { RedisConnection } from '../adapters/redis/index.js';
import type { Logger } from '../log.js';
import type { Sealer } from '../auth/index.js';
import { sameBox, type CellBox, type CellGrid } from './cells.js';
import type { NodeBeats } from './node-beats.js';
import type { RemoteReplica } from './replica.js';
import type { ReplicatorStats } from './replication-stats.js';
import { isRefused, type Refused, type ReplicationWire } from './wire.js';

export interface CellListenerOptions {
  conn: RedisConnection;
  sub: RedisConnection;
  grid: CellGrid;
  wire: ReplicationWire;
  sealer: Sealer;
  nodeId: string;
  beats: NodeBeats;
  replica: RemoteReplica;
  stats: ReplicatorStats;
  searchRadiusM: number;
  officerTtlMs: number;
  lingerMs: number;
  maxInflight: number;
  logger?: Logger;
}

interface CellSub {
  cell: string;
  channel: string;
  listener: (raw: string) => void;
  inflight: boolean;
  /** Read the snapshot once the subscription is confirmed (new, or after a reconnect). */
  needSnapshot: boolean;
  /** Monotonic ms since no local citizen needs it; null while needed. */
  idleSince: number | null;
}

/** Cell subscriptions in flight at once (the client refuses commands past 10,000 queued). */
const MAX_SUBSCRIBING = 500;
/** At most one wrong-key log line per this period. */
const WRONG_KEY_LOG_MS = 60_000;
const noop = () => {};

export class CellListener {
  private readonly citizens = new Map<string, { box: CellBox; cells: string[] }>();
  private readonly refs = new Map<string, number>();
  private readonly subs = new Map<string, CellSub>();
  /** Cell subscriptions awaiting Redis' confirmation. */
  private subscribing = 0;
  private closed = false;
  private wrongKeyLoggedAt = -Infinity;
  private wrongKeySinceLog = 0;

  constructor(private readonly o: CellListenerOptions) {}

  isListening(cell: string): boolean {
    return this.subs.has(cell);
  }

  /** A local citizen moved (`pos` null: gone): listen to the cells its search circle touches. */
  citizen(id: string, pos: { lat: number; lng: number } | null): void {
    const prev = this.citizens.get(id);
    if (pos === null) {
      if (!prev) return;
      this.citizens.delete(id);
      for (const c of prev.cells) this.release(c);
      return;
    }
    const box = this.o.grid.boxOf(pos.lat, pos.lng, this.o.searchRadiusM);
    if (sameBox(prev?.box, box)) return;
    const cells = this.o.grid.cellsOf(box);
    this.citizens.set(id, { box, cells });
    for (const c of cells) this.acquire(c);
    if (prev) for (const c of prev.cells) this.release(c);
  }

  /** The subscriber connection came back: every cell's snapshot is read again. */
  resync(): void {
    for (const s of this.subs.values()) s.needSnapshot = true;
  }

  /** Idle cells, failed subscriptions and snapshot re-reads. */
  maintain(mono: number): void {
    const { sub, stats } = this.o;
    for (const s of [...this.subs.values()]) {
      if (s.idleSince !== null && mono - s.idleSince > this.o.lingerMs) {
        this.subs.delete(s.cell);
        sub.unsubscribe(s.channel, s.listener).catch(noop);
        this.o.replica.dropCell(s.cell);
        continue;
      }
      if (!sub.isReady) continue;
      if (!s.inflight && !sub.isSubscribed(s.channel, s.listener)) {
        s.needSnapshot = true;
        this.subscribe(s);
      } else if (s.needSnapshot && !s.inflight && stats.inflight < this.o.maxInflight) {
        void this.readSnapshot(s);
      }
    }
    stats.cells = this.subs.size;
  }

  close(): void {
    this.closed = true;
    this.subs.clear();
  }

  /** Counts what could not be used; a wrong key is also logged (rate-limited, nothing of the payload). */
  refused(r: Refused): void {
    if (r.why === 'malformed') {
      this.o.stats.malformed++;
      return;
    }
    this.o.stats.wrongKey++;
    this.wrongKeySinceLog++;
    const now = performance.now();
    if (now - this.wrongKeyLoggedAt < WRONG_KEY_LOG_MS) return;
    this.o.logger?.error(
      { keyId: this.o.sealer.keyId, theirKeyId: r.keyId, dropped: this.wrongKeySinceLog },
      'replication data sealed under another REPLICATION_KEY dropped: every processor must share the same REPLICATION_KEY (officers on nodes with another key are missing from nearest results here)',
    );
    this.wrongKeyLoggedAt = now;
    this.wrongKeySinceLog = 0;
  }

  private acquire(cell: string): void {
    this.refs.set(cell, (this.refs.get(cell) ?? 0) + 1);
    const s = this.subs.get(cell);
    if (s) {
      s.idleSince = null;
      return;
    }
    const sub: CellSub = {
      cell,
      channel: this.o.wire.channel(cell),
      listener: (raw) => this.onMessage(cell, sub.channel, raw),
      inflight: false,
      needSnapshot: true,
      idleSince: null,
    };
    this.subs.set(cell, sub);
    this.o.stats.cells = this.subs.size;
    this.subscribe(sub);
  }

  private release(cell: string): void {
    const n = (this.refs.get(cell) ?? 0) - 1;
    if (n > 0) {
      this.refs.set(cell, n);
      return;
    }
    this.refs.delete(cell);
    const s = this.subs.get(cell);
    if (s) s.idleSince = performance.now();
  }

  /** Subscribes to a cell, then reads its snapshot, both within their budgets (else maintain() retries). */
  private subscribe(s: CellSub): void {
    if (s.inflight || this.closed || this.subscribing >= MAX_SUBSCRIBING) return;
    s.inflight = true;
    this.subscribing++;
    this.o.sub.subscribe(s.channel, s.listener).then(
      () => {
        this.subscribing--;
        s.inflight = false;
        if (this.subs.get(s.cell) === s && this.o.stats.inflight < this.o.maxInflight) void this.readSnapshot(s);
      },
      () => {
        this.subscribing--;
        s.inflight = false; // offline: maintain() retries
      },
    );
  }

  private async readSnapshot(s: CellSub): Promise<void> {
    const { stats, wire, beats, officerTtlMs } = this.o;
    s.needSnapshot = false;
    const key = wire.snapshotKey(s.cell);
    const sentAt = performance.now();
    let raw: unknown;
    stats.commands++;
    stats.inflight++;
    try {
      raw = await this.o.conn.send(['HGETALL', key], key, true);
    } catch {
      s.needSnapshot = true; // retried by maintain()
      return;
    } finally {
      stats.inflight--;
    }
    if (this.subs.get(s.cell) !== s) return;
    stats.snapshotsRead++;
    const nowWall = Date.now();
    const mono = performance.now();
    const stale: string[] = [];
    const held = new Set<string>();
    for (const [field, value] of flatPairs(raw)) {
      const e = wire.openSnapshotEntry(key, field, value);
      if (isRefused(e)) {
        this.refused(e);
        continue;
      }
      const age = nowWall - e.version / 1000;
      if (age > officerTtlMs) {
        if (age > officerTtlMs * 3) stale.push(field);
        continue;
      }
      // A node heard from long enough ago to know it is gone: its entries are left to expire.
      if (!beats.alive(e.node, mono) && beats.settled(mono)) continue;
      held.add(e.upsert[0]);
      this.o.replica.upsert(s.cell, e.node, e.version, e.upsert, mono - Math.max(0, age));
    }
    this.o.replica.reconcile(s.cell, held, sentAt);
    // Entries of nodes that died long ago: best-effort cleanup by whoever reads them.
    if (stale.length > 0) {
      stats.commands++;
      this.o.conn.send(['HDEL', key, ...stale], key).catch(noop);
    }
  }

  private onMessage(cell: string, channel: string, raw: string): void {
    const { stats, wire } = this.o;
    stats.received++;
    stats.receivedBytes += typeof raw === 'string' ? raw.length : 0;
    if (wire.isOwn(raw)) {
      stats.receivedOwn++;
      return;
    }
    const b = wire.openBatch(channel, raw);
    if (isRefused(b)) {
      this.refused(b);
      return;
    }
    if (b.n === this.o.nodeId) return;
    stats.receivedUpserts += b.u.length;
    const mono = performance.now();
    for (const id of b.r) this.o.replica.remove(cell, b.n, b.v, id);
    for (const u of b.u) this.o.replica.upsert(cell, b.n, b.v, u, mono);
  }
}

/** HGETALL reply as [field, value] pairs, whichever shape the client returned (flat array, object, Map). */
function flatPairs(raw: unknown): [string, string][] {
  const out: [string, string][] = [];
  if (Array.isArray(raw)) {
    for (let i = 0; i + 1 < raw.length; i += 2) out.push([String(raw[i]), String(raw[i + 1])]);
  } else if (raw instanceof Map) {
    for (const [k, v] of raw) out.push([String(k), String(v)]);
  } else if (raw && typeof raw === 'object') {
    for (const [k, v] of Object.entries(raw)) out.push([k, String(v)]);
  }
  return out;
}
