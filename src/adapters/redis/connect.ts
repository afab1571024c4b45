// node-redis v5 connections for distributed mode, one small wrapper over a single Redis and a
// Redis Cluster so the adapters never branch on which one they talk to.
//
// Outage policy (SPEC §4, issue #5 "Redis outage: nothing crashes"):
// * reconnect forever with bounded, jittered backoff; `connect()` never rejects;
// * every client has an error listener (an unhandled 'error' event would kill the process);
// * commands fail fast while disconnected (`disableOfflineQueue`) instead of piling up in memory,
//   and the in-flight queue is bounded (`commandsQueueMaxLength`) and timed out (CommandDeadlines:
//   one sweep timer and one shared AbortSignal per slice of time, not node-redis' per-command
//   `timeout`, whose AbortSignal.timeout costs ~30 µs of CPU per command, 2-3× the command itself);
// * `isReady` says whether commands can go through right now, for readiness probes.
//
// TLS: a rediss:// URL turns it on (node-redis); `tls` adds the CA to verify the server against
// (instead of the system CAs) and a client certificate for servers with tls-auth-clients.
import { setMaxListeners } from 'node:events';
import { createClient, createCluster, ErrorReply, type RedisClientType, type RedisClusterType } from 'redis';
import { StoreUnavailableError } from '../../coordination/unavailable.js';
import type { Logger } from '../../log.js';
import type { RedisTls } from '../../tls.js';
import { LuaScript } from './lua.js';

export interface RedisConnectOptions {
  /** redis:// or rediss:// URL. With `cluster`, the URL of any one cluster node (the rest are discovered). */
  url: string;
  /** Redis Cluster instead of a single Redis (REDIS_CLUSTER=1). */
  cluster?: boolean;
  /** Shows up in CLIENT LIST and in logs. */
  name?: string;
  logger?: Logger;
  /** Commands in flight or waiting to be written before new ones are refused (default 10,000). */
  maxQueue?: number;
  /** A command without a reply after this long is rejected (default 5,000 ms; 0: never). */
  commandTimeoutMs?: number;
  /** Upper bound of the reconnect backoff (default 2,000 ms). */
  maxBackoffMs?: number;
  /** With a rediss:// URL: CA (PEM) to verify the server against, client certificate and key (REDIS_TLS_*). */
  tls?: RedisTls;
}

type SingleClient = RedisClientType;
type ClusterClient = RedisClusterType;

/** Bounded exponential backoff with jitter; never gives up (returning a number means "retry in"). */
export function backoff(maxMs: number): (retries: number) => number {
  return (retries) => Math.min(50 * 2 ** Math.min(retries, 10), maxMs) + Math.floor(Math.random() * 100);
}

export type MessageListener = (message: string) => void;

/**
 * One logical connection: a single-Redis client or a cluster client. Publish/subscribe use
 * classic pub/sub on a single Redis and sharded pub/sub (SPUBLISH/SSUBSCRIBE) on a cluster, where
 * classic PUBLISH would be broadcast to every node of the cluster.
 */
export class RedisConnection {
  readonly cluster: boolean;
  readonly name: string;
  private readonly single?: SingleClient;
  private readonly clusterClient?: ClusterClient;
  private readonly commandTimeoutMs: number;
  private readonly deadlines: CommandDeadlines;
  private readonly log?: Logger;
  private closed = false;
  private started = false;
  private wasReady = false;
  private readonly readyListeners = new Set<(ready: boolean) => void>();
  private pollTimer?: NodeJS.Timeout;
  private lastErrorLog = 0;

  constructor(readonly options: RedisConnectOptions) {
    this.cluster = options.cluster ?? false;
    // CLIENT SETNAME refuses spaces and the like; a bad name would fail every handshake.
    this.name = (options.name ?? 'beacon').replace(/[^\w.:-]/g, '_').slice(0, 64);
    this.log = options.logger;
    this.commandTimeoutMs = options.commandTimeoutMs ?? 5000;
    this.deadlines = new CommandDeadlines(this.commandTimeoutMs);
    const secure = new URL(options.url).protocol === 'rediss:';
    // tls.connect options ride along in `socket`; node-redis sets `tls: true` itself from rediss://.
    const tlsOptions = secure && options.tls ? { ...options.tls } : {};
    const common = {
      disableOfflineQueue: true,
      commandsQueueMaxLength: options.maxQueue ?? 10_000,
      socket: { reconnectStrategy: backoff(options.maxBackoffMs ?? 2000), connectTimeout: 3000, ...tlsOptions },
    };
    if (this.cluster) {
      // Nodes discovered from the root node get `defaults`, not the root URL: carry its
      // credentials and TLS over to them.
      const u = new URL(options.url);
      const auth = {
        ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
        ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
      };
      const socket = secure ? { ...common.socket, tls: true as const } : common.socket;
      this.clusterClient = createCluster({
        rootNodes: [{ url: options.url }],
        defaults: { ...common, ...auth, socket, name: this.name },
      }) as unknown as ClusterClient;
      this.clusterClient.on('error', (e: Error) => this.onError(e));
      this.clusterClient.on('node-error', (e: Error) => this.onError(e));
    } else {
      this.single = createClient({ url: options.url, name: this.name, ...common }) as unknown as SingleClient;
      this.single.on('error', (e: Error) => {
        this.onError(e);
        this.pollReady();
      });
      // Readiness listeners hear a single client at once; a cluster is polled (pollTimer).
      this.single.on('ready', () => this.pollReady());
    }
  }

  /** True when commands can be sent now (on a cluster: every master is connected). */
  get isReady(): boolean {
    if (this.closed) return false;
    if (this.single) return this.single.isReady;
    const c = this.clusterClient!;
    if (!c.isOpen || c.masters.length === 0) return false;
    return c.masters.every((m) => m.client !== undefined && (m.client as unknown as SingleClient).isReady);
  }

  /**
   * Starts connecting in the background and keeps reconnecting; never rejects. A cluster whose
   * root node is unreachable at start is retried here (node-redis gives up on the first discovery).
   */
  start(): this {
    if (this.started) return this;
    this.started = true;
    this.pollTimer = setInterval(() => this.pollReady(), 100);
    this.pollTimer.unref();
    if (this.single) {
      this.single.connect().catch((e: Error) => this.onError(e));
    } else {
      const attempt = (retries: number): void => {
        if (this.closed) return;
        this.clusterClient!.connect().catch((e: Error) => {
          this.onError(e);
          const t = setTimeout(() => attempt(retries + 1), backoff(this.options.maxBackoffMs ?? 2000)(retries));
          t.unref();
        });
      };
      attempt(0);
    }
    return this;
  }

  /** Resolves once ready (or rejects after `timeoutMs`): for start-up and tests, not for the hot path. */
  async ready(timeoutMs = 10_000): Promise<void> {
    this.start();
    const deadline = Date.now() + timeoutMs;
    while (!this.isReady) {
      if (this.closed) throw new Error(`redis connection ${this.name} is closed`);
      if (Date.now() > deadline) throw new Error(`redis connection ${this.name} not ready after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Called with `true` each time the connection becomes ready and `false` when it is lost. */
  onReadyChange(fn: (ready: boolean) => void): () => void {
    this.readyListeners.add(fn);
    return () => this.readyListeners.delete(fn);
  }

  /**
   * Sends one command. `firstKey` routes it to the key's slot on a cluster (ignored otherwise).
   * Rejects at once while disconnected, with StoreUnavailableError for anything but an error
   * reply of the server (offline, closed, timed out, socket lost): callers answer "retry later".
   */
  send<T = unknown>(args: string[], firstKey?: string, readonly = false): Promise<T> {
    const opts = { abortSignal: this.deadlines.signal() };
    const p = (this.single ? this.single.sendCommand(args, opts) : this.clusterClient!.sendCommand(firstKey, readonly, args, opts)) as Promise<T>;
    return this.deadlines.watch(p).catch((e: unknown) => {
      if (e instanceof ErrorReply) throw e;
      throw new StoreUnavailableError(`redis ${this.name} unavailable: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
        retryAfterS: Math.max(1, Math.ceil((this.options.maxBackoffMs ?? 2000) / 1000)),
      });
    });
  }

  /** Runs a Lua script by SHA, loading it on NOSCRIPT. All keys must share one slot on a cluster. */
  async eval<T = unknown>(script: LuaScript, keys: string[], args: (string | number)[]): Promise<T> {
    const tail = [String(keys.length), ...keys, ...args.map(String)];
    try {
      return await this.send<T>(['EVALSHA', script.sha, ...tail], keys[0]);
    } catch (e) {
      if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
      return this.send<T>(['EVAL', script.source, ...tail], keys[0]);
    }
  }

  publish(channel: string, payload: string): Promise<unknown> {
    return this.send([this.cluster ? 'SPUBLISH' : 'PUBLISH', channel, payload], channel);
  }

  /**
   * Subscribes `listener` to `channel` (SSUBSCRIBE on a cluster). node-redis resubscribes by
   * itself after a reconnect; a subscribe that failed while offline is the caller's to retry.
   */
  async subscribe(channel: string, listener: MessageListener): Promise<void> {
    if (this.single) await this.single.subscribe(channel, listener);
    else await this.clusterClient!.sSubscribe(channel, listener);
  }

  async unsubscribe(channel: string, listener: MessageListener): Promise<void> {
    if (this.single) await this.single.unsubscribe(channel, listener);
    else await this.clusterClient!.sUnsubscribe(channel, listener);
  }

  /** Whether `channel` currently has a confirmed subscription with `listener` on this connection. */
  isSubscribed(channel: string, listener: MessageListener): boolean {
    if (this.single)
      return (
        this.single
          .getPubSubListeners('CHANNELS' as never)
          .get(channel)
          ?.strings.has(listener as never) ?? false
      );
    // Sharded listeners live on one client per master; ask the one serving the channel's slot.
    const c = this.clusterClient!;
    for (const m of c.masters) {
      const l = (m.pubSub?.client as unknown as SingleClient | undefined)?.getPubSubListeners('SHARDED' as never).get(channel);
      if (l?.strings.has(listener as never)) return true;
    }
    return false;
  }

  /** A new, independent connection with the same options (e.g. a dedicated subscriber). */
  duplicate(name = `${this.name}-dup`): RedisConnection {
    return new RedisConnection({ ...this.options, name });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pollTimer);
    this.deadlines.stop();
    this.pollReady();
    const c = this.single ?? this.clusterClient!;
    // close() waits for pending replies, which never come while Redis is down: destroy then.
    try {
      if (c.isOpen && this.wasReady) await Promise.race([c.close(), new Promise((r) => setTimeout(r, 1000))]);
    } catch {
      // already closing
    }
    try {
      if (c.isOpen) c.destroy();
    } catch {
      // already destroyed
    }
  }

  private pollReady(): void {
    const ready = this.isReady;
    if (ready === this.wasReady) return;
    this.wasReady = ready;
    if (ready) this.log?.info({ redis: this.name }, 'redis ready');
    else if (!this.closed) this.log?.warn({ redis: this.name }, 'redis connection lost; reconnecting');
    for (const fn of this.readyListeners) {
      try {
        fn(ready);
      } catch (e) {
        this.log?.error({ err: e }, 'redis ready listener threw');
      }
    }
  }

  private onError(e: Error): void {
    // During an outage node-redis reports every failed reconnect attempt: log at most once a second.
    const now = Date.now();
    if (now - this.lastErrorLog < 1000) return;
    this.lastErrorLog = now;
    this.log?.warn({ redis: this.name, err: e.message }, 'redis error');
  }
}

/** A command that got no reply within the connection's command timeout. */
export class CommandTimeoutError extends Error {
  constructor(ms: number) {
    super(`no reply within ${ms} ms`);
    this.name = 'CommandTimeoutError';
  }
}

interface Watched {
  at: number;
  settled: boolean;
  reject: (e: Error) => void;
}

/** Commands sent within one slice of time share an abort signal, fired `ms` after the slice ends. */
interface Slice {
  controller: AbortController;
  endsAt: number;
}

/**
 * Deadlines of every command of a connection, checked by one timer: a command still unanswered
 * `ms` after it was sent is rejected (its late reply, if any, is ignored). Commands are watched in
 * send order, so the overdue ones are always at the head of the queue. A command still waiting to
 * be written by then is also taken out of node-redis' queue (the slice's shared abort signal:
 * node-redis drops the listener once the command is written), so nothing stale piles up behind a
 * stalled Redis.
 */
class CommandDeadlines {
  private queue: Watched[] = [];
  private head = 0;
  private timer?: NodeJS.Timeout;
  private slices: Slice[] = [];
  private readonly sliceMs: number;

  constructor(private readonly ms: number) {
    this.sliceMs = Math.max(10, Math.min(1000, ms / 4));
  }

  /** The abort signal of the current slice (undefined when commands never time out). */
  signal(): AbortSignal | undefined {
    if (this.ms <= 0) return undefined;
    const now = performance.now();
    let s = this.slices[this.slices.length - 1];
    if (!s || now >= s.endsAt) {
      s = { controller: new AbortController(), endsAt: now + this.sliceMs };
      setMaxListeners(0, s.controller.signal); // one listener per command not yet written: by design
      this.slices.push(s);
    }
    return s.controller.signal;
  }

  watch<T>(p: Promise<T>): Promise<T> {
    if (this.ms <= 0) return p;
    return new Promise<T>((resolve, reject) => {
      const w: Watched = { at: performance.now(), settled: false, reject };
      this.queue.push(w);
      if (!this.timer) {
        // The sweep runs in the check phase, after the poll phase has read the replies waiting on
        // the socket: after an event loop stall longer than the timeout (GC, CPU starvation), a
        // reply that came back in time would otherwise be declared overdue before it is read.
        this.timer = setInterval(() => setImmediate(this.sweepNow), this.sliceMs);
        this.timer.unref();
      }
      p.then(
        (v) => {
          if (w.settled) return;
          w.settled = true;
          resolve(v);
        },
        (e: unknown) => {
          if (w.settled) return;
          w.settled = true;
          reject(e);
        },
      );
    });
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private readonly sweepNow = (): void => this.sweep();

  private sweep(): void {
    const cutoff = performance.now() - this.ms;
    while (this.slices.length > 0 && this.slices[0].endsAt <= cutoff) this.slices.shift()!.controller.abort();
    const q = this.queue;
    while (this.head < q.length) {
      const w = q[this.head];
      if (!w.settled) {
        if (w.at > cutoff) break;
        w.settled = true;
        w.reject(new CommandTimeoutError(this.ms));
      }
      this.head++;
    }
    if (this.head === q.length) {
      this.queue = [];
      this.head = 0;
      this.stop(); // restarted by the next command: an idle connection keeps no timer
    } else if (this.head > 1024 && this.head * 2 > q.length) {
      this.queue = q.slice(this.head);
      this.head = 0;
    }
  }
}

/** Creates and starts a connection (never throws on an unreachable Redis; see `isReady`). */
export function connectRedis(options: RedisConnectOptions): RedisConnection {
  return new RedisConnection(options).start();
}
