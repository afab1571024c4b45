// The other nodes' officers as this node holds them: one entry per remote officer (its node,
// cell and version), fed into the live index through the processor's seam.
//
// * Ordering: versions are per-node, strictly increasing µs wall-clock stamps; older data never
//   overwrites newer, and a removal only applies to the entry its sender put in that cell, so an
//   officer that moved to another node or cell is not removed by a stale message.
// * The local socket wins: an officer with a socket here is never replicated over it.
// * Expiry: an entry goes when its node stops beating (node-beats.ts), when it was neither moved
//   nor refreshed for `officerTtlMs`, when its node restarted (an older epoch), or when a re-read
//   snapshot of its cell no longer holds it.
import type { ReplicaSeam } from '../processor/api.js';
import type { NodeBeats } from './node-beats.js';
import type { ReplicatorStats } from './replication-stats.js';
import type { Upsert } from './wire.js';

interface RemoteEntry {
  node: string;
  cell: string;
  v: number;
  /** Monotonic ms of the last refresh (or the snapshot entry's age). */
  seen: number;
}

export interface RemoteReplicaOptions {
  nodeId: string;
  seam: ReplicaSeam;
  beats: NodeBeats;
  stats: ReplicatorStats;
  officerTtlMs: number;
  /** Whether this node listens to `cell` (data for other cells is ignored). */
  listening: (cell: string) => boolean;
}

export class RemoteReplica {
  private readonly remote = new Map<string, RemoteEntry>();
  private readonly byCell = new Map<string, Set<string>>();

  constructor(private readonly o: RemoteReplicaOptions) {}

  get size(): number {
    return this.remote.size;
  }

  upsert(cell: string, node: string, v: number, u: Upsert, seen: number): void {
    const id = u[0];
    const { seam, beats } = this.o;
    if (node === this.o.nodeId || seam.isLocalOfficer(id) || !this.o.listening(cell)) return;
    if (v < beats.epochOf(node)) return; // published by an earlier run of that node
    beats.touch(node, performance.now());
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
      this.o.stats.remoteOfficers = this.remote.size;
    }
    let set = this.byCell.get(cell);
    if (!set) this.byCell.set(cell, (set = new Set()));
    set.add(id);
    seam.applyRemoteOfficer(id, { lat: u[1], lng: u[2] }, u[3]);
  }

  remove(cell: string, node: string, v: number, id: string): void {
    const e = this.remote.get(id);
    if (!e || e.node !== node || e.cell !== cell || v < e.v) return;
    this.drop(id, e);
  }

  /**
   * `id` now has a socket here: forget its replica without touching the index (the entry there is
   * the local officer's now), so its expiry can never remove the local officer.
   */
  becameLocal(id: string): void {
    const e = this.remote.get(id);
    if (e) this.forget(id, e);
  }

  /** `node` restarted: what its earlier runs published is gone. */
  dropOlderThan(node: string, epoch: number): void {
    for (const [id, e] of this.remote) if (e.node === node && e.v < epoch) this.drop(id, e);
  }

  /** Nobody here listens to `cell` any more: what we know of it would go stale unseen. */
  dropCell(cell: string): void {
    for (const id of [...(this.byCell.get(cell) ?? [])]) {
      const e = this.remote.get(id);
      if (e) this.drop(id, e);
    }
  }

  /**
   * After a snapshot read of `cell` sent at `sentAt`: officers held in the cell from before it
   * and missing from it had their removal missed (a lost message, a subscription that dropped).
   */
  reconcile(cell: string, held: Set<string>, sentAt: number): void {
    for (const id of [...(this.byCell.get(cell) ?? [])]) {
      const e = this.remote.get(id);
      if (e && !held.has(id) && e.seen < sentAt) this.drop(id, e);
    }
  }

  /** Removes the entries of silent nodes and those not refreshed within `officerTtlMs`. */
  expire(mono: number): void {
    const deadline = mono - this.o.officerTtlMs;
    for (const [id, e] of this.remote) {
      if (e.seen < deadline || !this.o.beats.alive(e.node, mono)) {
        this.drop(id, e);
        this.o.stats.expired++;
      }
    }
  }

  /** Removes a remote officer from the replica and the index. */
  private drop(id: string, e: RemoteEntry): void {
    this.forget(id, e);
    this.o.seam.applyRemoteOfficer(id, null, {});
  }

  /** Removes a remote officer from the replica only. */
  private forget(id: string, e: RemoteEntry): void {
    this.remote.delete(id);
    this.o.stats.remoteOfficers = this.remote.size;
    const set = this.byCell.get(e.cell);
    set?.delete(id);
    if (set?.size === 0) this.byCell.delete(e.cell);
  }
}
