// The coordination Bus over Redis pub/sub (sharded pub/sub on a cluster), JSON payloads.
// Publishing goes through the shared command connection; receiving through a dedicated
// subscriber connection (a connection in subscribe mode cannot send ordinary commands).
//
// Pub/sub is at-most-once: a message published while Redis is unreachable is dropped and
// counted, never queued (a queue would grow without bound during an outage and replay stale
// positions afterwards). Whatever must survive an outage is re-announced by its owner.
import { MAX_BUS_PAYLOAD_BYTES, parseBusPayload, type Bus, type BusHandler, type BusMessage } from '../../coordination/index.js';
import type { Logger } from '../../log.js';
import type { MessageListener, RedisConnection } from './connect.js';

export interface RedisBusStats {
  published: number;
  /** Not sent: Redis unreachable, queue full, payload too large or not serialisable. */
  dropped: number;
  received: number;
  /** Received but not a bus message (bad JSON, unknown type, too large): dropped. */
  malformed: number;
  /** Handlers that threw (caught, logged). */
  handlerErrors: number;
}

export interface RedisBusOptions {
  logger?: Logger;
  /** Dedicated subscriber connection; by default a duplicate of `pub`, owned and closed by the bus. */
  sub?: RedisConnection;
  /** How often subscriptions are checked and re-issued when missing (default 250 ms). */
  resubscribeMs?: number;
}

interface Subscription {
  handlers: Set<BusHandler>;
  listener: MessageListener;
  inflight: boolean;
  /** When the in-flight SUBSCRIBE was sent: one stuck longer than 5 s is sent again. */
  since: number;
}

export class RedisBus implements Bus {
  private readonly sub: RedisConnection;
  private readonly ownsSub: boolean;
  private readonly subs = new Map<string, Subscription>();
  private readonly timer: NodeJS.Timeout;
  private readonly log?: Logger;
  private closed = false;
  readonly stats: RedisBusStats = { published: 0, dropped: 0, received: 0, malformed: 0, handlerErrors: 0 };

  constructor(
    private readonly pub: RedisConnection,
    options: RedisBusOptions = {},
  ) {
    this.log = options.logger;
    this.ownsSub = !options.sub;
    this.sub = options.sub ?? pub.duplicate(`${pub.name}-sub`);
    this.sub.start();
    pub.start();
    // Self-healing subscriptions: node-redis resubscribes after a reconnect, but a SUBSCRIBE that
    // was in flight when the connection dropped is lost. Checking beats trusting every edge case.
    this.timer = setInterval(() => this.ensureAll(), options.resubscribeMs ?? 250);
    this.timer.unref();
  }

  /** Both connections up and every subscription confirmed. */
  get isReady(): boolean {
    if (!this.pub.isReady || !this.sub.isReady) return false;
    for (const [channel, s] of this.subs) if (!this.sub.isSubscribed(channel, s.listener)) return false;
    return true;
  }

  publish(channel: string, msg: BusMessage): void {
    if (this.closed || !this.pub.isReady) {
      this.stats.dropped++;
      return;
    }
    let payload: string;
    try {
      payload = JSON.stringify(msg);
    } catch {
      this.stats.dropped++;
      return;
    }
    if (payload.length > MAX_BUS_PAYLOAD_BYTES) {
      this.stats.dropped++;
      return;
    }
    this.pub.publish(channel, payload).then(
      () => this.stats.published++,
      () => this.stats.dropped++,
    );
  }

  subscribe(channel: string, handler: BusHandler): () => void {
    if (this.closed) return () => {};
    let s = this.subs.get(channel);
    if (!s) {
      const handlers = new Set<BusHandler>();
      s = { handlers, listener: (raw) => this.deliver(handlers, raw), inflight: false, since: 0 };
      this.subs.set(channel, s);
      this.ensure(channel, s);
    }
    s.handlers.add(handler);
    const sub = s;
    return () => {
      sub.handlers.delete(handler);
      if (sub.handlers.size > 0 || this.subs.get(channel) !== sub) return;
      this.subs.delete(channel);
      this.sub.unsubscribe(channel, sub.listener).catch(() => {
        // offline: the server dropped the subscription with the connection anyway
      });
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    const subs = [...this.subs];
    this.subs.clear();
    if (this.ownsSub) {
      await this.sub.close();
    } else {
      await Promise.all(subs.map(([channel, s]) => this.sub.unsubscribe(channel, s.listener).catch(() => {})));
    }
  }

  private deliver(handlers: Set<BusHandler>, raw: string): void {
    const msg = parseBusPayload(raw);
    if (!msg) {
      this.stats.malformed++;
      return;
    }
    this.stats.received++;
    for (const h of handlers) {
      // A throwing handler must not reach node-redis: it would reset the reply decoder.
      try {
        h(msg);
      } catch (e) {
        this.stats.handlerErrors++;
        this.log?.error({ err: e, type: msg.type }, 'bus handler threw');
      }
    }
  }

  private ensureAll(): void {
    if (!this.sub.isReady) return;
    for (const [channel, s] of this.subs) {
      const stuck = s.inflight && Date.now() - s.since > 5000;
      if ((!s.inflight || stuck) && !this.sub.isSubscribed(channel, s.listener)) this.ensure(channel, s);
    }
  }

  private ensure(channel: string, s: Subscription): void {
    s.inflight = true;
    s.since = Date.now();
    this.sub.subscribe(channel, s.listener).then(
      () => {
        s.inflight = false;
        // Unsubscribed while the SUBSCRIBE was in flight: undo it.
        if (this.subs.get(channel) !== s) this.sub.unsubscribe(channel, s.listener).catch(() => {});
      },
      () => {
        s.inflight = false; // retried by ensureAll once the subscriber is back
      },
    );
  }
}
