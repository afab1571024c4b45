// The publishing side of officer replication: this node's officer changes, batched per position
// cell every flush, written to the cell's snapshot HASH and published on its channel (wire.ts).
//
// * Coalescing: `pending` holds each officer's latest change only; a flush takes them oldest
//   first. An officer not published for `refreshMs` rides along with a flush (the slow refresh
//   that repairs a lost message; liveness itself is node-beats.ts).
// * Backpressure: a flush sends at most the cells that fit under `maxInflight` commands awaiting
//   replies; the rest stays pending and keeps coalescing, so an overloaded node sends fewer,
//   fresher updates instead of a queue that times out.
// * Failures are counted by cause and logged at most once a minute; nothing is queued for later
//   (the next change or refresh supersedes it).
import { CommandTimeoutError, type RedisConnection } from '../adapters/redis/index.js';
import type { Logger } from '../log.js';
import type { PublicProfile } from '../protocol/index.js';
import type { CellGrid } from './cells.js';
import type { ReplicatorStats } from './replication-stats.js';
import { snapshotField, UPSERTS_PER_MESSAGE, type CellBatch, type ReplicationWire, type Upsert } from './wire.js';

export interface PublisherOptions {
  conn: RedisConnection;
  nodeId: string;
  grid: CellGrid;
  wire: ReplicationWire;
  stats: ReplicatorStats;
  refreshMs: number;
  officerTtlMs: number;
  maxInflight: number;
  logger?: Logger;
}

type Pos = { lat: number; lng: number };
type Batches = Map<string, { u: Upsert[]; r: string[] }>;

interface Published {
  cell: string;
  lat: number;
  lng: number;
  profile: PublicProfile;
  /** Monotonic ms of the last publish (-Infinity: due at once). */
  at: number;
}

const HSET_PAIRS_PER_COMMAND = 500;
/** Commands one cell of a flush usually costs (HSET, PUBLISH, now and then PEXPIRE or HDEL): the backpressure budget's unit. */
const COMMANDS_PER_CELL = 3;
/** At most one failed-publish log line per this period. */
const FAIL_LOG_MS = 60_000;

export class CellPublisher {
  /** Local officers as last published, in publish order (the longest unpublished first). */
  private readonly published = new Map<string, Published>();
  /** Snapshot key → monotonic ms of its last PEXPIRE. */
  private readonly expiresSent = new Map<string, number>();
  private readonly pending = new Map<string, { pos: Pos | null; profile: PublicProfile }>();
  private lastVersion = 0;
  private failLoggedAt = -Infinity;
  private stopped = false;

  constructor(private readonly o: PublisherOptions) {}

  /** A local officer changed (`pos` null: gone or off duty); sent with the next flush. */
  change(id: string, pos: Pos | null, profile: PublicProfile): void {
    this.o.stats.localUpdates++;
    this.pending.set(id, { pos, profile });
  }

  /** Versions: µs wall clock, strictly increasing on this node. */
  nextVersion(): number {
    this.lastVersion = Math.max(Date.now() * 1000, this.lastVersion + 1);
    return this.lastVersion;
  }

  /**
   * Sends the batched local changes, and the refreshes that are due. Backpressure (unless
   * `force`d): at most the cells that fit under `maxInflight` commands awaiting replies.
   */
  flush(force = false): void {
    const { stats, grid } = this.o;
    const pending = this.pending;
    stats.backlog = pending.size;
    const maxCells = force ? Infinity : Math.floor((this.o.maxInflight - stats.inflight) / COMMANDS_PER_CELL);
    if (maxCells <= 0) {
      stats.flushesDeferred++;
      return;
    }
    const now = performance.now();
    const batches: Batches = new Map();
    for (const [id, ch] of pending) {
      if (batches.size >= maxCells) {
        stats.flushesDeferred++;
        break;
      }
      pending.delete(id); // deleting the current entry while iterating a Map is safe
      const prev = this.published.get(id);
      if (ch.pos === null) {
        if (prev) {
          batchOf(batches, prev.cell).r.push(id);
          this.published.delete(id);
        }
        continue;
      }
      const { lat, lng } = ch.pos;
      const cell = grid.cellOf(lat, lng);
      if (prev && prev.cell === cell && prev.lat === lat && prev.lng === lng && prev.profile === ch.profile) continue;
      if (prev && prev.cell !== cell) batchOf(batches, prev.cell).r.push(id);
      // Deleted first so that the entry moves to the end: `published` stays in publish order.
      this.published.delete(id);
      this.published.set(id, { cell, lat, lng, profile: ch.profile, at: now });
      batchOf(batches, cell).u.push([id, lat, lng, ch.profile]);
    }
    if (!this.stopped && batches.size < maxCells) this.refreshDue(batches, now, maxCells);
    this.send(batches);
  }

  /**
   * Every local officer is due for a refresh (after Redis came back, possibly empty): they go
   * out with the next flushes, within the backpressure budget, rather than all in one burst.
   */
  refreshAll(): void {
    this.expiresSent.clear(); // a restarted Redis may have lost the keys and their TTLs
    for (const p of this.published.values()) p.at = -Infinity;
  }

  /** Graceful stop: sends what is pending, then removes every local officer from the others' replicas. */
  stop(): void {
    this.flush(true);
    this.stopped = true;
    const batches: Batches = new Map();
    for (const [id, p] of this.published) batchOf(batches, p.cell).r.push(id);
    this.published.clear();
    this.send(batches);
  }

  /** Forgets PEXPIREs old enough to be renewed (bounded memory). */
  maintain(mono: number): void {
    for (const [key, at] of this.expiresSent) if (mono - at >= this.o.refreshMs) this.expiresSent.delete(key);
  }

  /** Adds the officers not published for `refreshMs`: they head `published`, the scan stops at the first fresh one. */
  private refreshDue(batches: Batches, now: number, maxCells: number): void {
    const due = now - this.o.refreshMs;
    for (const [id, p] of this.published) {
      if (p.at > due || batches.size >= maxCells) break; // entries moved to the end below are fresh: the loop ends there at the latest
      this.published.delete(id);
      p.at = now;
      this.published.set(id, p);
      batchOf(batches, p.cell).u.push([id, p.lat, p.lng, p.profile]);
    }
  }

  private send(batches: Batches): void {
    const { conn, nodeId, refreshMs, officerTtlMs, wire, stats } = this.o;
    if (batches.size === 0) return;
    if (!conn.isReady) {
      stats.publishFailed += batches.size;
      stats.publishFailedOffline += batches.size;
      return;
    }
    const v = this.nextVersion();
    const now = performance.now();
    // Every command goes through `track`: it counts the command in flight until its reply.
    const settled = () => stats.inflight--;
    const fail = (e: unknown) => {
      stats.inflight--;
      this.failed(e);
    };
    const track = (p: Promise<unknown>) => {
      stats.commands++;
      stats.inflight++;
      return p;
    };
    for (const [cell, b] of batches) {
      const key = wire.snapshotKey(cell);
      // Snapshot first, then the message: a node that reads the snapshot after hearing the
      // message sees the same or newer data (and versions settle any reordering on a cluster).
      for (let k = 0; k < b.u.length; k += HSET_PAIRS_PER_COMMAND) {
        const args = ['HSET', key];
        for (const u of b.u.slice(k, k + HSET_PAIRS_PER_COMMAND)) {
          const field = snapshotField(nodeId, u[0]);
          args.push(field, wire.sealSnapshotValue(key, field, u[1], u[2], u[3], v));
        }
        track(conn.send(args, key)).then(settled, fail);
      }
      if (b.r.length > 0) {
        track(conn.send(['HDEL', key, ...b.r.map((id) => snapshotField(nodeId, id))], key)).then(settled, fail);
      }
      // A cell whose every publisher died disappears by itself (TTL officerTtlMs + refreshMs). HSET
      // keeps the TTL, so it is renewed once per refreshMs; after an HDEL (which may have emptied
      // and so deleted the key, and the next HSET recreate it without TTL) at once.
      const expiredAt = this.expiresSent.get(key);
      if (b.r.length > 0 || expiredAt === undefined || now - expiredAt >= refreshMs) {
        this.expiresSent.set(key, now);
        track(conn.send(['PEXPIRE', key, String(officerTtlMs + refreshMs)], key)).then(settled, settled);
      }
      const channel = wire.channel(cell);
      const chunks = Math.max(1, Math.ceil(b.u.length / UPSERTS_PER_MESSAGE));
      for (let k = 0; k < chunks; k++) {
        const msg: CellBatch = { n: nodeId, v, u: b.u.slice(k * UPSERTS_PER_MESSAGE, (k + 1) * UPSERTS_PER_MESSAGE), r: k === 0 ? b.r : [] };
        const sealed = wire.sealBatch(channel, msg);
        const bytes = sealed.length;
        const upserts = msg.u.length;
        track(conn.publish(channel, sealed)).then(() => {
          stats.inflight--;
          stats.published++;
          stats.publishedBytes += bytes;
          stats.publishedUpserts += upserts;
        }, fail);
      }
    }
  }

  /** Counts a failed replication command by cause, and says why at most once a minute. */
  private failed(e: unknown): void {
    const s = this.o.stats;
    s.publishFailed++;
    const cause = e instanceof Error && e.cause instanceof Error ? e.cause : e;
    if (cause instanceof CommandTimeoutError) s.publishFailedTimeout++;
    else if (cause instanceof Error && cause.message === 'The queue is full') s.publishFailedQueueFull++;
    else if (!this.o.conn.isReady) s.publishFailedOffline++;
    else s.publishFailedOther++;
    const now = performance.now();
    if (now - this.failLoggedAt < FAIL_LOG_MS) return;
    this.failLoggedAt = now;
    this.o.logger?.warn(
      { err: cause instanceof Error ? cause.message : String(cause), failed: s.publishFailed },
      'replication command failed: officers here may be missing or stale on other nodes',
    );
  }
}

function batchOf(batches: Batches, cell: string): { u: Upsert[]; r: string[] } {
  let b = batches.get(cell);
  if (!b) batches.set(cell, (b = { u: [], r: [] }));
  return b;
}
