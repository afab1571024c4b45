// Connection requests (SPEC §1 step 5): a citizen asks over HTTP, the request is relayed to the
// officer's node (`conn.req`), the officer's answer comes back on the bus (`conn.resp`), and both
// parties are told the outcome (`conn.update`).
//
// A decision is acknowledged only once durable: an accept moves the request to `accepting` (the
// parties still read `pending`), the event is appended to the established-connections stream,
// retried with backoff while the stream refuses it, and only then is the request `accepted` and
// announced. If the stream does not take it within the accept window (REQUEST_TTL_MS after the
// answer), the request is `failed` and both parties are told so.
//
// Safe with several orchestrators sharing Redis stores: every one of them sees each `conn.resp`,
// but the store changes a request once and only the caller whose call changed it announces. The
// orchestrator driving an append holds a lease on it; every orchestrator sweeps the store each
// second and finishes what a dead one left: accepting requests whose lease ran out (re-append,
// idempotent by id) and pending ones past their expiry that nobody expired.
import { hostname } from 'node:os';
import {
  nodeChannel,
  publicRecord,
  type Bus,
  type ConnectionStream,
  type RequestStore,
  type SocketRecordStore,
  type StoredRequest,
} from '../coordination/index.js';
import { MAX_PENDING_PER_OFFICER, type ConnectionRecord, type EstablishedConnectionEvent } from '../protocol/index.js';
import type { Logger } from '../log.js';
import type { DeviceIdentity } from './device-auth.js';
import { HttpError } from './errors.js';
import { randomId } from './ids.js';
import type { OrchestratorMetrics } from './metrics.js';
import type { RateLimiter } from './rate-limit.js';

export interface ConnectionServiceOptions {
  bus: Bus;
  records: SocketRecordStore;
  requests: RequestStore;
  stream: ConnectionStream;
  limiter: RateLimiter;
  requestTtlMs: number;
  logger: Logger;
  metrics: OrchestratorMetrics;
  now: () => number;
  /** How long after the officer's answer the append is retried before the request fails (default requestTtlMs). */
  acceptWindowMs?: number;
  /** Lease an orchestrator holds on a request whose append it drives (default 5 s; renewed at each retry). */
  leaseMs?: number;
  /** How often the store is swept for orphaned requests (default 1 s; 0: never). */
  sweepMs?: number;
  /** This orchestrator's id as a lease owner (default host:pid:random). */
  owner?: string;
}

/** Append retries: 50 ms, doubling, at most this far apart. */
const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 2000;
const DEFAULT_LEASE_MS = 5000;
const SWEEP_BATCH = 100;

export class ConnectionService {
  /** Requests this orchestrator created and still times: id → expiry timer and officer's node. */
  private readonly local = new Map<string, { timer: NodeJS.Timeout; officerNode: string }>();
  /** Accepting requests whose append this orchestrator is driving now. */
  private readonly driving = new Set<string>();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly owner: string;
  private readonly leaseMs: number;
  private readonly windowMs: number;
  private readonly sweepTimer?: NodeJS.Timeout;
  private sweeping = false;
  private closed = false;
  /** Wakes the retry sleeps at close(). */
  private readonly sleepers = new Set<() => void>();

  constructor(private readonly o: ConnectionServiceOptions) {
    this.owner = o.owner ?? `${hostname()}:${process.pid}:${randomId().slice(0, 8)}`;
    this.leaseMs = o.leaseMs ?? DEFAULT_LEASE_MS;
    this.windowMs = o.acceptWindowMs ?? o.requestTtlMs;
    const every = o.sweepMs ?? 1000;
    if (every > 0) {
      this.sweepTimer = setInterval(() => this.track(this.sweep()), every);
      this.sweepTimer.unref();
    }
  }

  /** `POST /v1/connections`. A repeat for a pair with a pending request answers that request. */
  async request(citizen: DeviceIdentity, officerId: string): Promise<{ id: string; status: 'pending' }> {
    const { o } = this;
    const now = o.now();
    // Counted before the availability check: probing who is online costs quota too.
    if (!o.limiter.take(citizen.sub, now)) {
      o.metrics.connRequests.inc({ outcome: 'rate_limited' });
      throw new HttpError('rate_limited');
    }
    const officer = await o.records.get('officer', officerId);
    // One answer for "no socket" and "not available": a citizen learns only that it cannot ask now.
    if (!officer || officer.available === false) {
      o.metrics.connRequests.inc({ outcome: 'officer_unavailable' });
      throw new HttpError('officer_unavailable');
    }
    const id = randomId();
    const r = await o.requests.create({ id, officerId, citizenId: citizen.sub, zip: officer.zip }, now, o.requestTtlMs, MAX_PENDING_PER_OFFICER);
    if (!r) throw new Error('request id collision'); // 96 random bits: never in practice
    if (r.outcome === 'officer_busy') {
      o.metrics.connRequests.inc({ outcome: 'officer_busy' });
      throw new HttpError('officer_busy');
    }
    if (r.outcome === 'existing') {
      o.metrics.connRequests.inc({ outcome: 'existing' });
      return { id: r.record.id, status: 'pending' };
    }
    const rec = r.record;
    o.bus.publish(nodeChannel(officer.node), {
      type: 'conn.req',
      requestId: id,
      officerId,
      citizen: { id: citizen.sub, profile: citizen.profile },
      expiresAt: rec.expiresAt,
    });
    // The store reads a pending request past expiresAt as expired; the timer tells the parties.
    const timer = setTimeout(() => this.track(this.expire(id)), Math.max(0, rec.expiresAt - now) + 5);
    timer.unref();
    this.local.set(id, { timer, officerNode: officer.node });
    o.metrics.connRequests.inc({ outcome: 'created' });
    return { id, status: 'pending' };
  }

  /** `GET /v1/connections/:id`: only the two parties may read it; to anyone else it does not exist. */
  async get(id: string, who: DeviceIdentity): Promise<ConnectionRecord> {
    const rec = await this.o.requests.get(id, this.o.now());
    const party = rec && ((who.role === 'citizen' && who.sub === rec.citizenId) || (who.role === 'officer' && who.sub === rec.officerId));
    if (!rec || !party) throw new HttpError('not_found', 'no such connection request');
    return publicRecord(rec);
  }

  /** A `conn.resp` from a processor: the officer answered. */
  onResponse(requestId: string, officerId: string, accept: boolean): void {
    this.track(this.respond(requestId, officerId, accept));
  }

  private async respond(requestId: string, officerId: string, accept: boolean): Promise<void> {
    const { o } = this;
    const cur = await o.requests.get(requestId, o.now());
    // Only the officer it was sent to may answer, and only once.
    if (!cur || cur.officerId !== officerId || cur.status !== 'pending') return;
    if (!accept) {
      const t = await o.requests.transition(requestId, 'declined', o.now());
      if (t.changed && t.record) await this.announce(t.record);
      return;
    }
    const t = await o.requests.beginAccept(requestId, o.now(), { owner: this.owner, leaseMs: this.leaseMs, windowMs: this.windowMs });
    if (!t.changed || !t.record) return;
    if (t.record.status === 'expired')
      await this.announce(t.record); // answered too late
    else await this.drive(t.record);
  }

  private async expire(id: string): Promise<void> {
    const t = await this.o.requests.transition(id, 'expired', this.o.now());
    if (t.changed && t.record) await this.announce(t.record);
    else this.forget(id);
  }

  /**
   * We hold the lease of this accepting request: append until the stream takes the event (then
   * accepted) or the window is over (then failed). Stops without a word if the lease is lost
   * (another orchestrator took over) or at close() (the lease runs out; another one takes over).
   */
  private async drive(rec: StoredRequest): Promise<void> {
    const { o } = this;
    if (this.driving.has(rec.id)) return;
    this.driving.add(rec.id);
    o.metrics.accepting.set(this.driving.size);
    const event: EstablishedConnectionEvent = { id: rec.id, officerId: rec.officerId, citizenId: rec.citizenId, at: rec.answeredAt ?? rec.at, zip: rec.zip };
    const deadline = rec.deadline ?? o.now() + this.windowMs;
    let wait = RETRY_FIRST_MS;
    try {
      for (let attempt = 0; !this.closed; attempt++) {
        try {
          const outcome = await this.tryAppend(event, deadline);
          if (outcome) {
            const t = await o.requests.finish(rec.id, this.owner, outcome, o.now());
            if (t.changed && t.record) await this.announce(t.record);
            return;
          }
        } catch (e) {
          // The store itself failed (Redis down): same as a refused append, keep trying.
          o.logger.warn({ err: e, request: rec.id, attempt }, 'connection request store unreachable while finishing an accept; retrying');
        }
        await this.sleep(wait);
        wait = Math.min(wait * 2, RETRY_MAX_MS);
        if (this.closed) return;
        try {
          const t = await o.requests.claim(rec.id, this.owner, o.now(), this.leaseMs);
          if (!t.changed) return; // another orchestrator holds it now, or it is decided
        } catch {
          // Unreachable store: keep the event and try again; the store decides who holds it later.
        }
      }
    } finally {
      this.driving.delete(rec.id);
      o.metrics.accepting.set(this.driving.size);
    }
  }

  /** One attempt: 'accepted' when the event is in the stream, 'failed' when given up, undefined to retry. */
  private async tryAppend(event: EstablishedConnectionEvent, deadline: number): Promise<'accepted' | 'failed' | undefined> {
    const { o } = this;
    try {
      await o.stream.append(event);
      o.metrics.streamAppends.inc({ result: 'ok' });
      return 'accepted';
    } catch (e) {
      o.metrics.streamAppends.inc({ result: 'failed' });
      if (o.now() < deadline) {
        o.logger.warn({ err: e, request: event.id }, 'stream append failed; the request stays pending and the append is retried');
        return undefined;
      }
      // The window is over. A shared stream is asked to refuse the id from now on (an append of
      // ours may still land late); a single-writer one has nothing in flight: our append failed.
      if (o.stream.abandon && (await o.stream.abandon(event.id))) return 'accepted';
      o.logger.error({ err: e, request: event.id }, 'established connection could not be appended within the accept window; the request failed');
      return 'failed';
    }
  }

  /** Finishes what nobody is finishing: accepting requests with a lapsed lease, pending ones past expiry. */
  private async sweep(): Promise<void> {
    if (this.sweeping || this.closed) return;
    this.sweeping = true;
    try {
      const { o } = this;
      for (const id of await o.requests.due(o.now(), SWEEP_BATCH)) {
        if (this.closed) return;
        if (this.driving.has(id)) continue;
        const rec = await o.requests.get(id, o.now());
        if (!rec) continue;
        if (rec.status === 'expired') {
          await this.expire(id);
        } else if (rec.status === 'accepting') {
          const t = await o.requests.claim(id, this.owner, o.now(), this.leaseMs);
          if (!t.changed || !t.record) continue;
          o.metrics.acceptClaims.inc();
          o.logger.warn({ request: id, from: rec.owner }, 'took over an accepting request whose lease ran out');
          this.track(this.drive(t.record));
        }
      }
    } catch (e) {
      this.o.logger.warn({ err: e }, 'connection request sweep failed; next one in a second');
    } finally {
      this.sweeping = false;
    }
  }

  /** Tells both parties' nodes the outcome (exactly once: only the caller that changed the request gets here). */
  private async announce(rec: StoredRequest): Promise<void> {
    const { o } = this;
    if (rec.status === 'pending' || rec.status === 'accepting') return; // not an outcome
    o.metrics.decisions.inc({ status: rec.status });
    const nodes = new Set<string>();
    const [officer, citizen] = await Promise.all([o.records.get('officer', rec.officerId), o.records.get('citizen', rec.citizenId)]);
    if (officer) nodes.add(officer.node);
    else {
      // The officer's socket closed meanwhile: its node may still hold the `req`; tell it anyway.
      const known = this.local.get(rec.id)?.officerNode;
      if (known) nodes.add(known);
    }
    if (citizen) nodes.add(citizen.node);
    const conn = { id: rec.id, status: rec.status, officerId: rec.officerId, citizenId: rec.citizenId };
    for (const node of nodes) o.bus.publish(nodeChannel(node), { type: 'conn.update', conn });
    this.forget(rec.id);
    o.logger.debug({ request: rec.id, status: rec.status }, 'connection request decided');
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.sleepers.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      t.unref();
      this.sleepers.add(done);
    });
  }

  private forget(id: string): void {
    const l = this.local.get(id);
    if (l) clearTimeout(l.timer);
    this.local.delete(id);
  }

  /** Bus handlers are fire-and-forget; errors are logged, and close() waits for what is running. */
  private track(p: Promise<unknown>): void {
    const q = p.catch((e) => this.o.logger.error({ err: e }, 'connection request handling failed'));
    this.inflight.add(q);
    void q.finally(() => this.inflight.delete(q));
  }

  /** Requests created here and not yet decided. */
  get pendingLocal(): number {
    return this.local.size;
  }

  /** Accepting requests whose append this orchestrator is retrying. */
  get acceptingLocal(): number {
    return this.driving.size;
  }

  /**
   * Stops the timers and the sweep, and waits for the attempts in progress (so an append that is
   * being written is flushed). Appends still being retried stop: their requests stay accepting,
   * and another orchestrator sharing the store takes them over when the lease runs out.
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const l of this.local.values()) clearTimeout(l.timer);
    this.local.clear();
    for (const wake of [...this.sleepers]) wake();
    await Promise.all([...this.inflight]);
  }
}
