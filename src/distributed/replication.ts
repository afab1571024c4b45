// Cross-node exact nearest (issue #5): every processor publishes its local available officers by
// POSITION cell (cells.ts) and listens to the cells its citizens' search circles touch, feeding
// what it hears into its live index as remote officers (Processor.replica). Officers within the
// search radius of a citizen are always in a touched cell, so the local nearest is exact.
//
// OfficerReplicator wires four parts to the processor's seam and to Redis: CellPublisher
// (publisher.ts: this node's officers out), CellListener (cell-listener.ts: the cells its
// citizens need, in), RemoteReplica (replica.ts: the other nodes' officers held here) and
// NodeBeats (node-beats.ts: which nodes are alive).
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
// * Redis outage: publishing is skipped (nothing queues), remote entries expire (no beats are
//   heard), local sockets keep being served from local officers; when Redis is back every local
//   officer is republished (within the backpressure budget) and every listened cell's snapshot
//   is read again.
// * At rest: messages and snapshot values are sealed, snapshot key names hashed (wire.ts, src/auth/seal.ts). Data
//   sealed under another REPLICATION_KEY is dropped, counted (`wrongKey`) and logged, at most
//   once a minute: the nodes then miss each other's officers until their keys agree.
import type { RedisConnection } from '../adapters/redis/index.js';
import type { Sealer } from '../auth/index.js';
import type { Logger } from '../log.js';
import type { ReplicaSeam } from '../processor/api.js';
import { CellGrid } from './cells.js';
import { CellListener } from './cell-listener.js';
import { NodeBeats } from './node-beats.js';
import { CellPublisher } from './publisher.js';
import { RemoteReplica } from './replica.js';
import { newReplicatorStats, type ReplicatorStats } from './replication-stats.js';
import { ReplicationWire } from './wire.js';

export type { ReplicatorStats } from './replication-stats.js';

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

const MAINTAIN_MS = 250;

export class OfficerReplicator {
  readonly grid: CellGrid;
  readonly stats: ReplicatorStats = newReplicatorStats();
  private readonly o: Required<Omit<ReplicatorOptions, 'logger'>> & { logger?: Logger };
  private readonly beats: NodeBeats;
  private readonly publisher: CellPublisher;
  private readonly listener: CellListener;
  private readonly replica: RemoteReplica;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly offs: (() => void)[] = [];
  private closed = false;

  constructor(opts: ReplicatorOptions) {
    // `undefined` options mean "default" (a plain spread would let them override the defaults).
    const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as ReplicatorOptions;
    const refreshMs = given.refreshMs ?? 20_000;
    const o = { prefix: 'beacon', flushMs: 25, refreshMs, remoteTtlMs: 5000, officerTtlMs: 3 * refreshMs, lingerMs: 10_000, maxInflight: 2000, ...given };
    this.o = o;
    const stats = this.stats;
    const grid = (this.grid = new CellGrid(o.searchRadiusM));
    const wire = new ReplicationWire(o.sealer, o.prefix, grid.tag);
    this.publisher = new CellPublisher({ ...o, grid, wire, stats });
    // The arrows below reach parts built after them; none is called before start().
    this.beats = new NodeBeats({
      ...o,
      wire,
      epoch: this.publisher.nextVersion(),
      ttlMs: o.remoteTtlMs,
      onEpoch: (node, epoch) => this.replica.dropOlderThan(node, epoch),
      onRefused: (r) => this.listener.refused(r),
      onCommand: () => stats.commands++,
    });
    this.replica = new RemoteReplica({ ...o, beats: this.beats, stats, listening: (cell) => this.listener.isListening(cell) });
    this.listener = new CellListener({ ...o, grid, wire, stats, beats: this.beats, replica: this.replica });
  }

  start(): void {
    const { seam, conn, sub } = this.o;
    conn.start();
    sub.start();
    this.offs.push(
      seam.observe({
        officer: (id, pos, profile) => {
          this.replica.becameLocal(id);
          this.publisher.change(id, pos, profile);
        },
        citizen: (id, pos) => this.listener.citizen(id, pos),
      }),
      conn.onReadyChange((ready) => {
        if (ready) this.publisher.refreshAll();
      }),
      sub.onReadyChange((ready) => {
        if (ready) this.listener.resync();
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
    every(this.o.flushMs, () => this.publisher.flush());
    every(MAINTAIN_MS, () => this.maintain());
    this.beats.start();
  }

  /** Publishes pending changes now, then removes this node's officers from the replica (graceful stop). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.publisher.stop();
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    for (const off of this.offs) off();
    this.beats.stop();
    this.listener.close();
    await this.o.sub.close();
  }

  private maintain(): void {
    if (this.closed) return;
    const mono = performance.now();
    this.beats.maintain(mono);
    this.publisher.maintain(mono);
    this.replica.expire(mono);
    this.listener.maintain(mono);
  }
}
