// Connection requests (SPEC §1 step 5): a citizen asks over HTTP, the request is relayed to the
// officer's node (`conn.req`), the officer's answer comes back on the bus (`conn.resp`), and both
// parties are told the outcome (`conn.update`). An accepted request is appended to the
// established-connections stream BEFORE anyone is told, so "connected" on a phone always means
// "durably recorded".
//
// Safe with several orchestrators sharing Redis stores: every one of them sees each `conn.resp`,
// but the store decides a request once and only the winner appends and announces.
import {
  nodeChannel,
  type Bus,
  type ConnectionStream,
  type RequestStore,
  type SocketRecordStore,
  type StoredRequest,
} from '../coordination/index.js';
import type { ConnectionRecord, EstablishedConnectionEvent } from '../protocol/index.js';
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
}

/** Stream appends are retried (they are idempotent by id) with this backoff before giving up. */
const APPEND_BACKOFF_MS = [50, 200, 1000, 3000];

export class ConnectionService {
  /** Requests this orchestrator created and still times: id → expiry timer and officer's node. */
  private readonly local = new Map<string, { timer: NodeJS.Timeout; officerNode: string }>();
  private readonly inflight = new Set<Promise<unknown>>();
  private closed = false;

  constructor(private readonly o: ConnectionServiceOptions) {}

  /** `POST /v1/connections`. */
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
    const rec = await o.requests.create({ id, officerId, citizenId: citizen.sub, zip: officer.zip }, now, o.requestTtlMs);
    if (!rec) throw new Error('request id collision'); // 96 random bits: never in practice
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
    return { id: rec.id, officerId: rec.officerId, citizenId: rec.citizenId, status: rec.status, at: rec.at };
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
    const t = await o.requests.transition(requestId, accept ? 'accepted' : 'declined', o.now());
    if (!t.changed || !t.record) return;
    await this.decided(t.record);
  }

  private async expire(id: string): Promise<void> {
    const t = await this.o.requests.transition(id, 'expired', this.o.now());
    if (t.changed && t.record) await this.decided(t.record);
    else this.forget(id);
  }

  private async decided(rec: StoredRequest): Promise<void> {
    const { o } = this;
    if (rec.status === 'pending') return; // unreachable: transitions only produce final states
    o.metrics.decisions.inc({ status: rec.status });
    if (rec.status === 'accepted') {
      const event: EstablishedConnectionEvent = { id: rec.id, officerId: rec.officerId, citizenId: rec.citizenId, at: rec.at, zip: rec.zip };
      if (!(await this.appendDurably(event))) {
        this.forget(rec.id);
        return; // not durable, so nobody is told it is established
      }
    }
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

  private async appendDurably(event: EstablishedConnectionEvent): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.o.stream.append(event);
        this.o.metrics.streamAppends.inc({ result: 'ok' });
        return true;
      } catch (e) {
        this.o.metrics.streamAppends.inc({ result: 'failed' });
        if (attempt >= APPEND_BACKOFF_MS.length || this.closed) {
          this.o.logger.error({ err: e, request: event.id }, 'established connection could not be appended to the stream; parties not told');
          return false;
        }
        this.o.logger.warn({ err: e, request: event.id, attempt }, 'stream append failed; retrying');
        await new Promise((r) => setTimeout(r, APPEND_BACKOFF_MS[attempt]).unref());
      }
    }
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

  /** Stops the expiry timers and waits for decisions in progress (so their appends are flushed). */
  async close(): Promise<void> {
    this.closed = true;
    for (const l of this.local.values()) clearTimeout(l.timer);
    this.local.clear();
    await Promise.all([...this.inflight]);
  }
}
