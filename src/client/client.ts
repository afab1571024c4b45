// BeaconClient: one officer or citizen device. Asks the orchestrator for a socket, opens it with
// the single-use ticket, turns frames into typed events, and when the socket drops asks the
// orchestrator again (a dead node's devices land on a live one) with jittered exponential backoff.
// It does not come back after `bye: replaced` (another device took over), `window_expired` (the
// officer's shift window is over) or `abuse`: those are surfaced for the app to decide.
// Several orchestrator URLs: a call that gets no answer or a 5xx moves the client to the next one,
// so a dead orchestrator costs one failed call, and the reconnect loop's next attempt goes elsewhere.
import { haversine } from '../geo/distance.js';
import {
  decodeServerFrame,
  encodeMessage,
  isId,
  isLat,
  isLng,
  MAX_ID_LENGTH,
  type ByeReason,
  type ClientMessage,
  type ConnectionAccepted,
  type ConnectionRecord,
  type Encoding,
  type HelloMessage,
  type LocMessage,
  type Role,
  type ServerMessage,
  type SocketAssignment,
} from '../protocol/index.js';
import { backoffDelay, checkBackoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { TypedEmitter } from './emitter.js';
import { assign, BeaconHttpError, getConnection, requestConnection, ticketUrl, type HttpOptions } from './http.js';
import { defaultTransport } from './default-transport.js';
import type { Transport, TransportFactory } from './transport.js';
import {
  ClientClosedError,
  ConnectError,
  FINAL_BYE_REASONS,
  FINAL_CLOSE_CODES,
  type ClientEvents,
  type ClientOptions,
  type ClientState,
  type OpenEvent,
} from './client-types.js';

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class BeaconClient extends TypedEmitter<ClientEvents> {
  readonly role: Role;
  readonly encoding: Encoding;
  state: ClientState = 'idle';
  /** Last position given to `connect`/`sendLocation`; used for the next assignment. */
  position?: { lat: number; lng: number };
  hello?: HelloMessage;
  assignment?: SocketAssignment;
  framesIn = 0;
  framesOut = 0;

  private readonly baseUrls: readonly string[];
  private urlIndex = 0;
  private readonly backoff: BackoffOptions | null;
  private readonly threshold: number;
  private transport?: Transport;
  private transportFactory?: TransportFactory;
  private lastSent?: { lat: number; lng: number };
  private available?: boolean;
  private lastBye?: ByeReason;
  private heartbeat?: ReturnType<typeof setInterval>;
  private generation = 0;
  private stopped = false;
  private wake?: () => void;

  constructor(private readonly opts: ClientOptions) {
    super((err) => this.emit('error', err));
    if (opts.role !== 'officer' && opts.role !== 'citizen') throw new RangeError('role must be officer or citizen');
    this.role = opts.role;
    this.encoding = opts.encoding ?? 'json';
    if (this.encoding !== 'json' && this.encoding !== 'msgpack') throw new RangeError('encoding must be json or msgpack');
    this.threshold = opts.moveThresholdM ?? 10;
    if (!(this.threshold >= 0)) throw new RangeError('moveThresholdM must be a number >= 0');
    this.backoff = opts.reconnect === false ? null : { ...DEFAULT_BACKOFF, ...opts.reconnect };
    if (this.backoff) checkBackoff(this.backoff);
    this.baseUrls = typeof opts.baseUrl === 'string' ? [opts.baseUrl] : [...opts.baseUrl];
    if (this.baseUrls.length === 0 || !this.baseUrls.every((u) => typeof u === 'string' && u.length > 0)) {
      throw new RangeError('baseUrl must be a URL or a non-empty list of URLs');
    }
  }

  /** The orchestrator URL the next HTTP call goes to. */
  get baseUrl(): string {
    return this.baseUrls[this.urlIndex];
  }

  /** Asks the orchestrator for a socket near the last known position (does not open it). */
  async assign(lat?: number, lng?: number): Promise<SocketAssignment> {
    if (lat !== undefined || lng !== undefined) this.setPosition(lat as number, lng as number);
    if (!this.position) throw new RangeError('no position yet: pass lat and lng');
    const at = this.position;
    return this.http((h) => assign(h, this.role, at.lat, at.lng, this.opts.zip));
  }

  /** Assigns and opens the socket; resolves on `hello`. Retries with backoff when allowed. */
  async connect(lat?: number, lng?: number): Promise<HelloMessage> {
    if (this.state === 'connecting' || this.state === 'open' || this.state === 'reconnecting') throw new Error(`already ${this.state}`);
    if (lat !== undefined || lng !== undefined) this.setPosition(lat as number, lng as number);
    if (!this.position) throw new RangeError('no position yet: pass lat and lng');
    this.stopped = false;
    this.state = 'connecting';
    try {
      return await this.establish(false);
    } catch (err) {
      this.state = 'closed';
      throw err;
    }
  }

  /** Closes the socket for good (no reconnect). */
  close(): void {
    this.stopped = true;
    this.wake?.();
    this.stopHeartbeat();
    if (this.transport) this.transport.close(1000, 'client closed');
    else this.state = 'closed';
  }

  /**
   * Reports a position. Returns false when nothing was sent: not open, or moved less than the
   * threshold since the last position sent (`force` sends anyway). Throws on invalid coordinates.
   */
  sendLocation(lat: number, lng: number, extra: { acc?: number; ts?: number; force?: boolean } = {}): boolean {
    this.setPosition(lat, lng);
    if (extra.acc !== undefined && !(typeof extra.acc === 'number' && extra.acc >= 0 && extra.acc < 1e7)) throw new RangeError('acc must be metres >= 0');
    if (extra.ts !== undefined && !(typeof extra.ts === 'number' && Number.isFinite(extra.ts) && extra.ts >= 0))
      throw new RangeError('ts must be ms since the epoch');
    if (this.state !== 'open') return false;
    const last = this.lastSent;
    if (!extra.force && last && this.threshold > 0 && haversine(last.lat, last.lng, lat, lng) < this.threshold) return false;
    const msg: LocMessage = { t: 'loc', lat, lng };
    if (extra.acc !== undefined) msg.acc = extra.acc;
    if (extra.ts !== undefined) msg.ts = extra.ts;
    if (!this.send(msg)) return false;
    this.lastSent = { lat, lng };
    return true;
  }

  /** Officer: leave (`false`) or re-enter (`true`) the index; the socket stays open. */
  setAvailable(on: boolean): boolean {
    this.requireRole('officer', 'setAvailable');
    if (typeof on !== 'boolean') throw new TypeError('on must be a boolean');
    this.available = on;
    return this.send({ t: 'avail', on });
  }

  /** Officer: answer a `req`. */
  respond(id: string, accept: boolean): boolean {
    this.requireRole('officer', 'respond');
    if (!isId(id)) throw new RangeError(`id must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
    if (typeof accept !== 'boolean') throw new TypeError('accept must be a boolean');
    return this.send({ t: 'resp', id, accept });
  }

  ping(): boolean {
    return this.send({ t: 'ping' });
  }

  /** Citizen: ask to connect with an officer (HTTP). */
  requestConnection(officerId: string): Promise<ConnectionAccepted> {
    this.requireRole('citizen', 'requestConnection');
    return this.http((h) => requestConnection(h, officerId));
  }

  getConnection(id: string): Promise<ConnectionRecord> {
    return this.http((h) => getConnection(h, id));
  }

  /** Bytes queued on the socket, not yet written (0 when closed). */
  get bufferedAmount(): number {
    return this.transport?.bufferedAmount ?? 0;
  }

  // ------------------------------------------------------------------ internals

  /** One HTTP call on the current orchestrator; no answer or a 5xx moves to the next URL. */
  private async http<T>(call: (h: HttpOptions) => Promise<T>): Promise<T> {
    const i = this.urlIndex;
    try {
      return await call({ baseUrl: this.baseUrls[i], token: this.opts.token, fetch: this.opts.fetch });
    } catch (err) {
      // Only the call that saw the failure moves on: two concurrent failures skip one URL, not two.
      if (err instanceof BeaconHttpError && (err.status === 0 || err.status >= 500) && this.urlIndex === i) {
        this.urlIndex = (i + 1) % this.baseUrls.length;
      }
      throw err;
    }
  }

  private setPosition(lat: number, lng: number): void {
    if (!isLat(lat) || !isLng(lng)) throw new RangeError('lat must be a number in [-90, 90] and lng in [-180, 180]');
    this.position = { lat, lng };
  }

  private requireRole(role: Role, what: string): void {
    if (this.role !== role) throw new Error(`${what} is for ${role}s only`);
  }

  private send(msg: ClientMessage): boolean {
    if (this.state !== 'open' || !this.transport) return false;
    this.transport.send(encodeMessage(msg, this.encoding));
    this.framesOut++;
    return true;
  }

  /** Assign + open until `hello`; at most `maxAttempts` backoff waits in all. */
  private async establish(isReconnect: boolean): Promise<HelloMessage> {
    let waits = 0;
    let lastErr: unknown;
    if (isReconnect) await this.wait(waits++, undefined);
    for (;;) {
      try {
        return await this.attempt(isReconnect);
      } catch (err) {
        lastErr = err;
        if (this.stopped) throw new ClientClosedError();
        if (!this.backoff || !isRetryable(err) || waits >= this.backoff.maxAttempts) throw lastErr;
      }
      await this.wait(waits++, lastErr);
    }
  }

  private async wait(n: number, error: unknown): Promise<void> {
    const b = this.backoff as BackoffOptions;
    const delayMs = backoffDelay(n, b, this.opts.random);
    this.state = 'reconnecting';
    this.emit('reconnecting', { attempt: n + 1, delayMs, error });
    const stop = new Promise<void>((r) => (this.wake = r));
    await Promise.race([(this.opts.delay ?? sleep)(delayMs), stop]);
    this.wake = undefined;
    if (this.stopped) throw new ClientClosedError();
  }

  private async attempt(isReconnect: boolean): Promise<HelloMessage> {
    const t0 = now();
    const a = await this.assign();
    const assignMs = now() - t0;
    if (this.stopped) throw new ClientClosedError();
    this.assignment = a;
    const factory = (this.transportFactory ??= this.opts.transport ?? (await defaultTransport()));
    const url = withEncoding(ticketUrl(a), this.encoding);
    const gen = ++this.generation;
    const t1 = now();
    return new Promise<HelloMessage>((resolve, reject) => {
      let settled = false;
      let refused: number | undefined;
      let lastError: Error | undefined;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        this.generation++; // ignore whatever this socket does from now on
        transport.close(1000, 'hello timeout');
        if (this.transport === transport) this.transport = undefined;
        reject(new ConnectError('no hello from the server in time'));
      }, this.opts.helloTimeoutMs ?? 10_000);
      const transport = factory(url, {
        open: () => {},
        message: (data, binary) => {
          if (gen !== this.generation) return;
          const msg = decodeServerFrame(data, binary);
          if (!msg) return;
          this.framesIn++;
          if (!settled && msg.t === 'hello') {
            settled = true;
            clearTimeout(timer);
            this.onHello(msg, { url: a.url, node: a.node, zip: a.zip, assignMs, connectMs: now() - t1, reconnect: isReconnect });
            resolve(msg);
            return;
          }
          this.dispatch(msg);
        },
        error: (err) => {
          if (err.status !== undefined) refused = err.status;
          lastError = err;
        },
        close: (code, reason) => {
          if (gen !== this.generation) return;
          if (this.transport === transport) this.transport = undefined;
          if (!settled) {
            settled = true;
            clearTimeout(timer);
            const why =
              refused !== undefined ? `upgrade refused with HTTP ${refused}` : `closed before hello (${code}${lastError ? `: ${lastError.message}` : ''})`;
            reject(new ConnectError(why, refused, code));
            return;
          }
          this.onDropped(code, reason);
        },
      });
      this.transport = transport;
    });
  }

  private onHello(msg: HelloMessage, ev: OpenEvent): void {
    this.hello = msg;
    this.lastSent = undefined;
    this.lastBye = undefined;
    this.state = 'open';
    this.startHeartbeat();
    this.emit('open', ev);
    this.emit('hello', msg);
    if (ev.reconnect && (this.opts.resendOnReconnect ?? true)) {
      if (this.role === 'officer' && this.available === false) this.send({ t: 'avail', on: false });
      if (this.position) this.sendLocation(this.position.lat, this.position.lng, { force: true });
    }
  }

  private dispatch(msg: ServerMessage): void {
    if (msg.t === 'bye') this.lastBye = msg.reason;
    this.emit(msg.t, msg as never);
    // A citizen socket is bound to where it was assigned: moved out of its area, the client asks
    // for a socket where it is now (the reconnect path assigns at the last position).
    if (msg.t === 'err' && msg.code === 'out_of_area' && this.role === 'citizen' && this.backoff && this.transport) {
      this.transport.close(1000, 'relocating');
    }
  }

  private onDropped(code: number, reason: string): void {
    this.stopHeartbeat();
    const bye = this.lastBye;
    this.lastBye = undefined;
    const final = this.stopped || !this.backoff || (bye !== undefined && FINAL_BYE_REASONS.has(bye)) || FINAL_CLOSE_CODES.has(code);
    this.state = final ? 'closed' : 'reconnecting';
    this.emit('close', { code, reason, bye, willReconnect: !final });
    if (final) return;
    this.establish(true).catch((err) => {
      this.state = 'closed';
      if (!(err instanceof ClientClosedError)) this.emit('error', err);
    });
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    const every = this.opts.heartbeatMs ?? 30_000;
    if (every <= 0) return;
    this.heartbeat = setInterval(() => this.ping(), every);
    (this.heartbeat as { unref?: () => void }).unref?.();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}

/** `&enc=msgpack` asks the processor for `hello` in MessagePack too (it answers in the encoding
 * of the last frame anyway; this only covers the first frame). Harmless to servers that ignore it. */
function withEncoding(url: string, encoding: Encoding): string {
  if (encoding !== 'msgpack') return url;
  const u = new URL(url);
  u.searchParams.set('enc', 'msgpack');
  return u.toString();
}

function isRetryable(err: unknown): boolean {
  if (err instanceof BeaconHttpError) return err.retryable;
  return err instanceof ConnectError;
}
