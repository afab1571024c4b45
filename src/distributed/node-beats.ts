// Node liveness for officer replication. Every processor publishes a small sealed beat on one
// channel five times per `ttlMs` (once a second by default) and listens to everyone's. A remote officer stays as long as its node
// beats, so an officer that does not move costs nothing between its slow refreshes, while the
// officers of a node killed with -9 (or cut off from Redis) vanish elsewhere within `ttlMs`.
// Before this, each officer was republished every 2 s to stay alive: 100k parked officers meant
// 50k messages a second through Redis for no change at all.
//
// A beat names the node's epoch (the version it started with): when a node restarts under the
// same id, what its previous run published is dropped at the first beat of the new one.
import type { RedisConnection } from '../adapters/redis/index.js';
import { isRefused, type ReplicationWire, type Refused } from './wire.js';

export interface NodeBeatsOptions {
  conn: RedisConnection;
  sub: RedisConnection;
  wire: ReplicationWire;
  nodeId: string;
  /** This run's epoch: the first replication version of the node. */
  epoch: number;
  /** A node not heard for this long is gone (ms). Beats go out five times per period. */
  ttlMs: number;
  /** A node restarted (a newer epoch): drop what its earlier run published. */
  onEpoch: (node: string, epoch: number) => void;
  /** A beat that could not be opened (wrong key, malformed). */
  onRefused: (r: Refused) => void;
  /** Counts each command sent. */
  onCommand: () => void;
}

interface Heard {
  /** Monotonic ms of the last beat (or of the first mention, see `touch`). */
  at: number;
  epoch: number;
}

const noop = () => {};

export class NodeBeats {
  readonly channel: string;
  private readonly heard = new Map<string, Heard>();
  private timer?: NodeJS.Timeout;
  /** Monotonic ms since the beat subscription has been confirmed; Infinity while it is not. */
  private listeningSince = Infinity;
  private subscribing = false;
  private readonly listener = (raw: string) => this.onBeat(raw);

  constructor(private readonly o: NodeBeatsOptions) {
    this.channel = `${o.wire.prefix}:nodes:${o.wire.tag}`;
  }

  start(): void {
    this.subscribe();
    this.beat();
    this.timer = setInterval(() => this.beat(), Math.max(10, this.o.ttlMs / 5));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.o.sub.unsubscribe(this.channel, this.listener).catch(noop);
  }

  /** Whether `node` beat within the last `ttlMs`. */
  alive(node: string, mono: number): boolean {
    const h = this.heard.get(node);
    return h !== undefined && mono - h.at <= this.o.ttlMs;
  }

  /** The epoch `node` last beat with (0: none heard). */
  epochOf(node: string): number {
    return this.heard.get(node)?.epoch ?? 0;
  }

  /**
   * Listening for a whole `ttlMs`: every live node has beaten since, so one not heard is gone. Until
   * then a node seen first in data gets the benefit of the doubt (`touch`).
   */
  settled(mono: number): boolean {
    return mono - this.listeningSince >= this.o.ttlMs;
  }

  /** Data from a node not heard yet: alive for one `ttlMs`, unless it beats by then. */
  touch(node: string, mono: number): void {
    if (!this.heard.has(node)) this.heard.set(node, { at: mono, epoch: 0 });
  }

  /** Re-subscribes after a lost subscription; forgets nodes silent for long. */
  maintain(mono: number): void {
    if (!this.o.sub.isSubscribed(this.channel, this.listener)) {
      this.listeningSince = Infinity;
      this.subscribe();
    }
    for (const [node, h] of this.heard) if (mono - h.at > 10 * this.o.ttlMs) this.heard.delete(node);
  }

  private subscribe(): void {
    if (this.subscribing || !this.o.sub.isReady) return;
    this.subscribing = true;
    this.o.sub.subscribe(this.channel, this.listener).then(
      () => {
        this.subscribing = false;
        this.listeningSince = performance.now();
      },
      () => {
        this.subscribing = false; // offline: maintain() retries
      },
    );
  }

  private beat(): void {
    if (!this.o.conn.isReady) return;
    const sealed = this.o.wire.sealBatch(this.channel, { n: this.o.nodeId, v: this.o.epoch, u: [], r: [] });
    this.o.onCommand();
    this.o.conn.publish(this.channel, sealed).catch(noop);
  }

  private onBeat(raw: string): void {
    if (this.o.wire.isOwn(raw)) return;
    const b = this.o.wire.openBatch(this.channel, raw);
    if (isRefused(b)) {
      this.o.onRefused(b);
      return;
    }
    if (b.n === this.o.nodeId) return;
    const mono = performance.now();
    let h = this.heard.get(b.n);
    if (!h) this.heard.set(b.n, (h = { at: mono, epoch: 0 }));
    // An older run still beating under the same id (two nodes with one NODE_ID) neither keeps the
    // newer run alive nor takes its epoch back.
    if (b.v < h.epoch) return;
    h.at = mono;
    if (b.v > h.epoch) {
      h.epoch = b.v;
      this.o.onEpoch(b.n, b.v);
    }
  }
}
