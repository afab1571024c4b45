// Cross-node exact nearest (issue #5): every processor publishes its local available officers by
// POSITION cell (cells.ts) and listens to the cells its citizens' search circles touch, feeding
// what it hears into its live index as remote officers (Processor.replica). Officers within the
// search radius of a citizen are always in a touched cell, so the local nearest is exact.
//
// * Publishing: local changes are batched and flushed every `flushMs` (one message per cell per
//   flush, chunked), with a per-cell snapshot HASH in Redis written alongside (HSET/HDEL), read by a
//   node when it starts listening to a cell. An officer not published for `refreshMs` (20 s) is
//   republished with the next flush (and its snapshot entry re-stamped): a slow refresh that
//   repairs a lost message. Officers that move are not republished on top of their moves.
// * Liveness (node-beats.ts): each node beats once a second on one channel. A remote officer
//   stays while its node beats and is refreshed within `officerTtlMs`; the officers of a node
//   that stops beating (killed, cut off from Redis) are removed within `remoteTtlMs` (5 s).
// * Backpressure: a flush sends at most what fits under `maxInflight` commands awaiting replies;
//   the rest keeps coalescing per officer, so an overloaded node sends fewer, fresher updates.
// * Own messages: Redis echoes a node's batches back to it on the cells it listens to; they are
//   recognised by their envelope header (Sealer.sealedHere) and dropped without being opened.
// * Expiry: snapshot entries older than `officerTtlMs`, or of a node that no longer beats, are
//   ignored; a re-read snapshot also removes what the cell no longer holds.
// * Ordering: each batch carries the sender's version (µs wall clock, strictly increasing per
//   node); older data never overwrites newer (snapshot read racing a live message, or cluster
//   channels on different shards). A removal only applies to the entry the sender itself put in
//   that cell, so an officer that moved to another node or cell is not removed by a stale message.
// * Redis outage: publishing is skipped (nothing queues), remote entries expire, local sockets
//   keep being served from local officers; when Redis is back the next refresh republishes and
//   every listened cell's snapshot is read again.
// * At rest: messages and snapshot values are sealed, snapshot key names hashed (wire.ts, src/auth/seal.ts). Data
//   sealed under another REPLICATION_KEY is dropped, counted (`wrongKey`) and logged, at most
//   once a minute: the nodes then miss each other's officers until their keys agree.
import { CommandTimeoutError, type RedisConnection } from '../adapters/redis/index.js';
import type { Logger } from '../log.js';
import type { ReplicaSeam } from '../processor/api.js';
import type { PublicProfile } from '../protocol/index.js';
import { CellGrid, sameBox, type CellBox } from './cells.js';
import type { Sealer } from '../auth/index.js';
import { NodeBeats } from './node-beats.js';
import { isRefused, ReplicationWire, snapshotField, UPSERTS_PER_MESSAGE, type CellBatch, type Refused, type Upsert } from './wire.js';

export interface ReplicatorOptions {
  /** Commands and publishing. */
  conn: RedisConnection;
  /** Dedicated subscriber connection (owned by the replicator, closed with it). */
  sub: RedisConnection;
  seam: ReplicaSeam;
  /** REPLICATION_KEY's sealer: the same key on every node. */
  sealer: Sealer;
  nodeId: string;
  searchRadiusM: number;
  prefix?: string;
  /** Batching period of local changes (default 25 ms). */
  flushMs?: number;
  /** A local officer not published for this long is republished (default 20,000 ms). */
  refreshMs?: number;
  /** A node not heard (node-beats.ts) for this long loses its officers here (default 5,000 ms). */
  remoteTtlMs?: number;
  /** A remote officer neither moved nor refreshed for this long is removed (default 3 × refreshMs). */
  officerTtlMs?: number;
  /** A cell no local citizen needs any more is still listened to this long (default 10,000 ms). */
  lingerMs?: number;
  /**
   * Replication commands awaiting Redis' reply above which a flush waits for the next tick
   * (default 2,000): the changes keep coalescing per officer, so a slow Redis or a lagging event
   * loop gets fewer, fresher updates instead of a queue that times out.
   */
  maxInflight?: number;
  logger?: Logger;
}

export interface ReplicatorStats {
  /** Local officer changes reported by the live index (each `loc`, `avail` change or leave). */
  localUpdates: number;
  /** Cell messages published, their sealed bytes, and the officer positions they carried. */
  published: number;
  publishedBytes: number;
  publishedUpserts: number;
  /** Redis commands sent for replication (PUBLISH, HSET, HDEL, PEXPIRE, HGETALL). */
  commands: number;
  /** Replication commands that failed (each HSET, HDEL or PUBLISH; a whole flush while Redis is not ready counts its cells), in all and by cause. */
  publishFailed: number;
  publishFailedOffline: number;
  publishFailedTimeout: number;
  publishFailedQueueFull: number;
  publishFailedOther: number;
  /** Flushes put off because `maxInflight` commands were awaiting replies (backpressure). */
  flushesDeferred: number;
  /** Replication commands awaiting Redis' reply, and local officers with changes not yet sent (gauges). */
  inflight: number;
  backlog: number;
  /** Cell messages delivered here (own echoes included) and their bytes. */
  received: number;
  receivedBytes: number;
  /** Own messages echoed back by Redis, dropped unopened. */
  receivedOwn: number;
  /** Officer positions in the other nodes' messages received here. */
  receivedUpserts: number;
  malformed: number;
  /** Messages and snapshot entries sealed under another REPLICATION_KEY. */
  wrongKey: number;
  snapshotsRead: number;
  remoteOfficers: number;
  cells: number;
  expired: number;
}

interface Published {
  cell: string;
  lat: number;
  lng: number;
  profile: PublicProfile;
  /** Monotonic ms of the last publish. */
  at: number;
}

interface RemoteEntry {
  node: string;
  cell: string;
  v: number;
  /** Monotonic ms of the last refresh (or the snapshot entry's age). */
  seen: number;
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

const MAINTAIN_MS = 250;
/** At most one wrong-key log line per this period. */
const WRONG_KEY_LOG_MS = 60_000;
const HSET_PAIRS_PER_COMMAND = 500;
/** Commands one cell of a flush usually costs (HSET, PUBLISH, now and then PEXPIRE or HDEL): the backpressure budget's unit. */
const COMMANDS_PER_CELL = 3;
/** Cell subscriptions in flight at once (the client refuses commands past 10,000 queued). */
const MAX_SUBSCRIBING = 500;
/** At most one failed-publish log line per this period. */
const FAIL_LOG_MS = 60_000;
const noop = () => {};

export class OfficerReplicator {
  readonly grid: CellGrid;
  readonly stats: ReplicatorStats = {
    localUpdates: 0,
    published: 0,
    publishedBytes: 0,
    publishedUpserts: 0,
    commands: 0,
    publishFailed: 0,
    publishFailedOffline: 0,
    publishFailedTimeout: 0,
    publishFailedQueueFull: 0,
    publishFailedOther: 0,
    flushesDeferred: 0,
    inflight: 0,
    backlog: 0,
    received: 0,
    receivedBytes: 0,
    receivedOwn: 0,
    receivedUpserts: 0,
    malformed: 0,
    wrongKey: 0,
    snapshotsRead: 0,
    remoteOfficers: 0,
    cells: 0,
    expired: 0,
  };
  private readonly wire: ReplicationWire;
  private readonly beats: NodeBeats;
  private readonly o: Required<Omit<ReplicatorOptions, 'logger'>> & { logger?: Logger };
  /** Local officers as last published, in publish order (the longest unpublished first). */
  private readonly published = new Map<string, Published>();
  /** Snapshot key → monotonic ms of its last PEXPIRE. */
  private readonly expiresSent = new Map<string, number>();
  private pending = new Map<string, { pos: { lat: number; lng: number } | null; profile: PublicProfile }>();
  private readonly citizens = new Map<string, { box: CellBox; cells: string[] }>();
  private readonly refs = new Map<string, number>();
  private readonly subs = new Map<string, CellSub>();
  private readonly remote = new Map<string, RemoteEntry>();
  private readonly byCell = new Map<string, Set<string>>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly offs: (() => void)[] = [];
  private lastVersion = 0;
  /** Cell subscriptions awaiting Redis' confirmation. */
  private subscribing = 0;
  private closed = false;
  private wrongKeyLoggedAt = -Infinity;
  private failLoggedAt = -Infinity;
  private wrongKeySinceLog = 0;

  constructor(opts: ReplicatorOptions) {
    // `undefined` options mean "default" (a plain spread would let them override the defaults).
    const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as ReplicatorOptions;
    const refreshMs = given.refreshMs ?? 20_000;
    this.o = { prefix: 'beacon', flushMs: 25, refreshMs, remoteTtlMs: 5000, officerTtlMs: 3 * refreshMs, lingerMs: 10_000, maxInflight: 2000, ...given };
    this.grid = new CellGrid(opts.searchRadiusM);
    this.wire = new ReplicationWire(opts.sealer, this.o.prefix, this.grid.tag);
    this.beats = new NodeBeats({
      conn: opts.conn,
      sub: opts.sub,
      wire: this.wire,
      nodeId: opts.nodeId,
      epoch: this.nextVersion(),
      ttlMs: this.o.remoteTtlMs,
      onEpoch: (node, epoch) => this.onEpoch(node, epoch),
      onRefused: (r) => this.refused(r),
      onCommand: () => this.stats.commands++,
    });
  }

  start(): void {
    const { seam, conn, sub } = this.o;
    conn.start();
    sub.start();
    this.offs.push(
      seam.observe({
        officer: (id, pos, profile) => this.onLocalOfficer(id, pos, profile),
        citizen: (id, pos) => this.onCitizen(id, pos),
      }),
    );
    this.offs.push(
      conn.onReadyChange((ready) => {
        if (!ready) return;
        this.expiresSent.clear(); // a restarted Redis may have lost the keys and their TTLs
        this.refresh();
      }),
      sub.onReadyChange((ready) => {
        if (ready) for (const s of this.subs.values()) s.needSnapshot = true;
      }),
    );
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(() => {
        try {
          fn();
        } catch (e) {
          this.o.logger?.error({ err: e }, 'replication timer failed');
        }
      }, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.o.flushMs, () => this.flush());
    every(MAINTAIN_MS, () => this.maintain());
    this.beats.start();
  }

  /** Publishes pending changes now, then removes this node's officers from the replica (graceful stop). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.flush(true);
    // Tell the others at once rather than letting the entries expire.
    const batches = new Map<string, { u: Upsert[]; r: string[] }>();
    for (const [id, p] of this.published) batchOf(batches, p.cell).r.push(id);
    this.published.clear();
    this.send(batches);
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    for (const off of this.offs) off();
    this.beats.stop();
    this.subs.clear();
    await this.o.sub.close();
  }

  /** Ids of the remote officers currently replicated here (tests, metrics). */
  remoteIds(): string[] {
    return [...this.remote.keys()];
  }

  // ---- publishing ----------------------------------------------------------------------------

  private onLocalOfficer(id: string, pos: { lat: number; lng: number } | null, profile: PublicProfile): void {
    // The live index entry of `id` is now the local officer's: forget any remote replica of it
    // (without touching the index), so its expiry can never remove the local officer.
    const e = this.remote.get(id);
    if (e) this.forget(id, e);
    this.stats.localUpdates++;
    this.pending.set(id, { pos, profile });
  }

  /**
   * Sends the batched local changes, and the heartbeats that are due. Backpressure (unless
   * `force`d): a flush sends at most the cells that fit under `maxInflight` commands awaiting
   * replies; the other changes stay pending, oldest first, and keep coalescing per officer.
   */
  flush(force = false): void {
    const stats = this.stats;
    const pending = this.pending;
    stats.backlog = pending.size;
    const maxCells = force ? Infinity : Math.floor((this.o.maxInflight - stats.inflight) / COMMANDS_PER_CELL);
    if (maxCells <= 0) {
      stats.flushesDeferred++;
      return;
    }
    const now = performance.now();
    const batches = new Map<string, { u: Upsert[]; r: string[] }>();
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
      const cell = this.grid.cellOf(lat, lng);
      if (prev && prev.cell === cell && prev.lat === lat && prev.lng === lng && prev.profile === ch.profile) continue;
      if (prev && prev.cell !== cell) batchOf(batches, prev.cell).r.push(id);
      // Deleted first so that the entry moves to the end: `published` stays in publish order.
      this.published.delete(id);
      this.published.set(id, { cell, lat, lng, profile: ch.profile, at: now });
      batchOf(batches, cell).u.push([id, lat, lng, ch.profile]);
    }
    if (!this.closed && batches.size < maxCells) this.heartbeats(batches, now, maxCells);
    this.send(batches);
  }

  /** Adds the officers not published for `refreshMs`: they head `published`, the scan stops at the first fresh one. */
  private heartbeats(batches: Map<string, { u: Upsert[]; r: string[] }>, now: number, maxCells: number): void {
    const due = now - this.o.refreshMs;
    for (const [id, p] of this.published) {
      if (p.at > due || batches.size >= maxCells) break; // entries moved to the end below are fresh: the loop ends there at the latest
      this.published.delete(id);
      p.at = now;
      this.published.set(id, p);
      batchOf(batches, p.cell).u.push([id, p.lat, p.lng, p.profile]);
    }
  }

  /** Republishes every local officer at once: re-fills snapshots and remote entries after a Redis restart. */
  refresh(): void {
    if (this.closed || this.published.size === 0) return;
    const now = performance.now();
    const batches = new Map<string, { u: Upsert[]; r: string[] }>();
    for (const [id, p] of this.published) {
      p.at = now;
      batchOf(batches, p.cell).u.push([id, p.lat, p.lng, p.profile]);
    }
    this.send(batches);
  }

  /** Counts a failed replication command by cause, and says why at most once a minute. */
  private failed(e: unknown): void {
    const s = this.stats;
    s.publishFailed++;
    const cause = e instanceof Error && e.cause instanceof Error ? e.cause : e;
    if (cause instanceof CommandTimeoutError) s.publishFailedTimeout++;
    else if (cause instanceof Error && cause.message === 'The queue is full') s.publishFailedQueueFull++;
    else if (!this.o.conn.isReady) s.publishFailedOffline++;
    else s.publishFailedOther++;
    const now = performance.now();
    if (now - this.failLoggedAt < FAIL_LOG_MS) return;
    this.failLoggedAt = now;
    this.o.logger?.warn({ err: cause instanceof Error ? cause.message : String(cause), failed: s.publishFailed }, 'replication command failed: officers here may be missing or stale on other nodes');
  }

  private nextVersion(): number {
    this.lastVersion = Math.max(Date.now() * 1000, this.lastVersion + 1);
    return this.lastVersion;
  }

  private send(batches: Map<string, { u: Upsert[]; r: string[] }>): void {
    const { conn, nodeId, refreshMs, officerTtlMs } = this.o;
    const wire = this.wire;
    if (batches.size === 0) return;
    if (!conn.isReady) {
      this.stats.publishFailed += batches.size;
      this.stats.publishFailedOffline += batches.size;
      return;
    }
    const v = this.nextVersion();
    const now = performance.now();
    const stats = this.stats;
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

  // ---- listening -----------------------------------------------------------------------------

  private onCitizen(id: string, pos: { lat: number; lng: number } | null): void {
    const prev = this.citizens.get(id);
    if (pos === null) {
      if (!prev) return;
      this.citizens.delete(id);
      for (const c of prev.cells) this.release(c);
      return;
    }
    const box = this.grid.boxOf(pos.lat, pos.lng, this.o.searchRadiusM);
    if (sameBox(prev?.box, box)) return;
    const cells = this.grid.cellsOf(box);
    this.citizens.set(id, { box, cells });
    for (const c of cells) this.acquire(c);
    if (prev) for (const c of prev.cells) this.release(c);
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
      channel: this.wire.channel(cell),
      listener: (raw) => this.onMessage(cell, sub.channel, raw),
      inflight: false,
      needSnapshot: true,
      idleSince: null,
    };
    this.subs.set(cell, sub);
    this.stats.cells = this.subs.size;
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

  /**
   * Subscribes to a cell, then reads its snapshot. Both are bounded like publishing: a burst of new
   * citizens (a reconnect storm over sparse cells: 10k+ new cells per node) waits for maintain()
   * instead of overflowing the connections' command queues.
   */
  private subscribe(s: CellSub): void {
    if (s.inflight || this.closed || this.subscribing >= MAX_SUBSCRIBING) return;
    s.inflight = true;
    this.subscribing++;
    this.o.sub.subscribe(s.channel, s.listener).then(
      () => {
        this.subscribing--;
        s.inflight = false;
        if (this.subs.get(s.cell) === s && this.stats.inflight < this.o.maxInflight) void this.readSnapshot(s);
      },
      () => {
        this.subscribing--;
        s.inflight = false; // offline: maintain() retries
      },
    );
  }

  private async readSnapshot(s: CellSub): Promise<void> {
    s.needSnapshot = false;
    const key = this.wire.snapshotKey(s.cell);
    const sentAt = performance.now();
    let raw: unknown;
    this.stats.commands++;
    this.stats.inflight++;
    try {
      raw = await this.o.conn.send(['HGETALL', key], key, true);
    } catch {
      s.needSnapshot = true; // retried by maintain()
      return;
    } finally {
      this.stats.inflight--;
    }
    if (this.subs.get(s.cell) !== s) return;
    this.stats.snapshotsRead++;
    const pairs = flatPairs(raw);
    const nowWall = Date.now();
    const mono = performance.now();
    const stale: string[] = [];
    const held = new Set<string>();
    const { officerTtlMs } = this.o;
    for (const [field, value] of pairs) {
      const e = this.wire.openSnapshotEntry(key, field, value);
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
      if (!this.beats.alive(e.node, mono) && this.beats.settled(mono)) continue;
      held.add(e.upsert[0]);
      this.applyUpsert(s.cell, e.node, e.version, e.upsert, mono - Math.max(0, age));
    }
    // Officers this node holds in the cell from before the read, no longer in it: their removal
    // was missed (a lost message, a subscription that dropped).
    for (const id of [...(this.byCell.get(s.cell) ?? [])]) {
      const e = this.remote.get(id);
      if (e && !held.has(id) && e.seen < sentAt) this.drop(id, e);
    }
    // Entries of nodes that died long ago: best-effort cleanup by whoever reads them.
    if (stale.length > 0) {
      this.stats.commands++;
      this.o.conn.send(['HDEL', key, ...stale], key).catch(noop);
    }
  }

  private onMessage(cell: string, channel: string, raw: string): void {
    this.stats.received++;
    this.stats.receivedBytes += typeof raw === 'string' ? raw.length : 0;
    if (this.wire.isOwn(raw)) {
      this.stats.receivedOwn++;
      return;
    }
    const b = this.wire.openBatch(channel, raw);
    if (isRefused(b)) {
      this.refused(b);
      return;
    }
    if (b.n === this.o.nodeId) return;
    this.stats.receivedUpserts += b.u.length;
    const mono = performance.now();
    for (const id of b.r) this.applyRemove(cell, b.n, b.v, id);
    for (const u of b.u) this.applyUpsert(cell, b.n, b.v, u, mono);
  }

  /** Counts what could not be used; a wrong key is also logged (rate-limited, nothing of the payload). */
  private refused(r: Refused): void {
    if (r.why === 'malformed') {
      this.stats.malformed++;
      return;
    }
    this.stats.wrongKey++;
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

  private applyUpsert(cell: string, node: string, v: number, u: Upsert, seen: number): void {
    const id = u[0];
    if (node === this.o.nodeId || this.o.seam.isLocalOfficer(id) || !this.subs.has(cell)) return;
    if (v < this.beats.epochOf(node)) return; // published by an earlier run of that node
    this.beats.touch(node, performance.now());
    const e = this.remote.get(id);
    if (e) {
      if (v < e.v) return;
      if (e.cell !== cell) this.byCell.get(e.cell)?.delete(id);
      e.node = node;
      e.cell = cell;
      e.v = v;
      e.seen = Math.max(e.seen, seen);
    } else {
      this.remote.set(id, { node, cell, v, seen });
      this.stats.remoteOfficers = this.remote.size;
    }
    let set = this.byCell.get(cell);
    if (!set) this.byCell.set(cell, (set = new Set()));
    set.add(id);
    this.o.seam.applyRemoteOfficer(id, { lat: u[1], lng: u[2] }, u[3]);
  }

  private applyRemove(cell: string, node: string, v: number, id: string): void {
    const e = this.remote.get(id);
    if (!e || e.node !== node || e.cell !== cell || v < e.v) return;
    this.drop(id, e);
  }

  /** `node` restarted: what its earlier runs published is gone. */
  private onEpoch(node: string, epoch: number): void {
    for (const [id, e] of this.remote) if (e.node === node && e.v < epoch) this.drop(id, e);
  }

  /** Removes a remote officer from the replica and the index. */
  private drop(id: string, e: RemoteEntry): void {
    this.forget(id, e);
    this.o.seam.applyRemoteOfficer(id, null, {});
  }

  /** Removes a remote officer from the replica only. */
  private forget(id: string, e: RemoteEntry): void {
    this.remote.delete(id);
    this.stats.remoteOfficers = this.remote.size;
    const set = this.byCell.get(e.cell);
    set?.delete(id);
    if (set?.size === 0) this.byCell.delete(e.cell);
  }

  /** Expiry, idle cells, failed subscriptions and snapshot re-reads. */
  private maintain(): void {
    if (this.closed) return;
    const mono = performance.now();
    const deadline = mono - this.o.officerTtlMs;
    this.beats.maintain(mono);
    for (const [key, at] of this.expiresSent) if (mono - at >= this.o.refreshMs) this.expiresSent.delete(key);
    for (const [id, e] of this.remote) {
      if (e.seen < deadline || !this.beats.alive(e.node, mono)) {
        this.drop(id, e);
        this.stats.expired++;
      }
    }
    for (const s of [...this.subs.values()]) {
      if (s.idleSince !== null && mono - s.idleSince > this.o.lingerMs) {
        this.subs.delete(s.cell);
        this.o.sub.unsubscribe(s.channel, s.listener).catch(noop);
        // Nobody here listens to this cell any more: what we know of it would go stale unseen.
        for (const id of [...(this.byCell.get(s.cell) ?? [])]) {
          const e = this.remote.get(id);
          if (e) this.drop(id, e);
        }
        continue;
      }
      if (!this.o.sub.isReady) continue;
      if (!s.inflight && !this.o.sub.isSubscribed(s.channel, s.listener)) {
        s.needSnapshot = true;
        this.subscribe(s);
      } else if (s.needSnapshot && !s.inflight && this.stats.inflight < this.o.maxInflight) {
        void this.readSnapshot(s);
      }
    }
    this.stats.cells = this.subs.size;
  }
}

function batchOf(batches: Map<string, { u: Upsert[]; r: string[] }>, cell: string): { u: Upsert[]; r: string[] } {
  let b = batches.get(cell);
  if (!b) batches.set(cell, (b = { u: [], r: [] }));
  return b;
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
