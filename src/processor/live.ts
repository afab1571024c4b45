// The live proximity state of one processor: which officers are in the index, which citizens
// watch them, and who must be re-pushed when an officer moves, appears or leaves (SPEC §3 "Live").
// No sockets here: messages go out through a LiveSink, so the logic can be driven by local
// sockets today and by a replica of remote officers (distributed mode) through the same door,
// `applyOfficer`.
//
// Disclosure policy (issue #10) lives here too, at the one place `nearest` is written: the search
// is exact (exact positions, exact across zips and nodes), only what a citizen is shown is coarse.
// See `sendNearest` and `grantExact`.
import { haversine, OfficerIndex, roundToStep, snapToCell, SubscriptionIndex } from '../geo/index.js';
import type { NearestMessage, NearMessage, PublicProfile } from '../protocol/index.js';

export interface LiveSink {
  /**
   * Writes a `nearest` to a citizen. `reply` is the answer to the citizen's own `loc`; otherwise
   * it is a coalesced push, which the sink may hold back (returns false) when the socket still
   * has unsent bytes; the caller then calls `markDirty` again once the socket drained.
   */
  nearest(citizenId: string, msg: NearestMessage, reply: boolean): boolean;
  /** `reply` as for `nearest`; alerts are never held back. */
  near(citizenId: string, msg: NearMessage, reply: boolean): void;
  /** Push latency, officer change → re-push written, in seconds. */
  pushed?(latencyS: number): void;
}

export interface OfficerMeta {
  profile: PublicProfile;
  /** The officer's socket is on another node (distributed replica); nothing to send it. */
  remote?: boolean;
}

/**
 * Local changes seen by the index, for distributed mode's replication (src/distributed): officers
 * of this node's sockets entering, moving in or leaving the index, and citizens' positions.
 * Remote applies (`meta.remote`) are not reported. Called synchronously: observers must be cheap.
 */
export interface LiveObserver {
  officer(id: string, pos: { lat: number; lng: number } | null, profile: PublicProfile): void;
  citizen(id: string, pos: { lat: number; lng: number } | null): void;
}

/** What the operations map reads (Processor.liveSnapshot): officers, and citizen density only. */
export interface LiveSnapshot {
  officers: { id: string; lat: number; lng: number; remote: boolean }[];
  /** Cell id → citizens with a known position in it. */
  citizenCells: Map<string, number>;
}

export interface LiveOptions {
  searchRadius: number;
  alertRadius: number;
  /**
   * OFFICER_PRECISION_M: outside the alert radius (and without a grant) `nearest` shows the centre
   * of the officer's cell of this size and a rounded `dist`. 0 turns the policy off (exact).
   */
  precision: number;
  /** DISTANCE_STEP_M: what a coarse `dist` is rounded to. */
  distanceStep: number;
  /** Monotonic clock in ms, for push latency. */
  mono: () => number;
  /** Schedules the coalesced flush; the default is setImmediate. Returns a cancel function. */
  schedule?: (fn: () => void) => () => void;
}

interface OfficerEntry {
  id: string;
  lat: number;
  lng: number;
  profile: PublicProfile;
  remote: boolean;
  /** Citizens whose current nearest is this officer. */
  nearestOf: Set<string>;
  /** Citizens currently inside this officer's alert radius (already alerted). */
  alertOf: Set<string>;
  /**
   * Citizens granted the exact position (an accepted connection). Held by this entry, so leaving
   * the index ends every grant: a returning officer is a new entry with none.
   */
  exactFor: Set<string>;
}

interface CitizenEntry {
  id: string;
  /** NaN until the first `loc`. */
  lat: number;
  lng: number;
  nearest: OfficerEntry | null;
  /** Officer ids whose alert radius the citizen is in (one `near` per entry). */
  alerts: Set<string>;
  /** Officers whose exact position this citizen may see (their `exactFor` holds its id). */
  grants: Set<OfficerEntry>;
  /** What the citizen last received (as shown, coarse or exact), to skip pushes that change nothing. */
  sentId: string | null;
  sentLat: number;
  sentLng: number;
  sentPrecision: number;
  sentDist: number | null;
  sentOnce: boolean;
}

/** Watch circles get this much slack so rounding never hides a change; a spare recompute is cheap. */
const WATCH_SLACK_M = 0.5;

const immediate = (fn: () => void): (() => void) => {
  const h = setImmediate(fn);
  return () => clearImmediate(h);
};

export class LiveIndex {
  readonly officerIndex = new OfficerIndex();
  private readonly watches = new SubscriptionIndex();
  private readonly officers = new Map<string, OfficerEntry>();
  private readonly citizens = new Map<string, CitizenEntry>();
  /** Citizen id → monotonic ms of the oldest change not yet pushed. */
  private dirty = new Map<string, number>();
  private cancelFlush: (() => void) | null = null;
  private readonly schedule: (fn: () => void) => () => void;
  /** Distributed mode sets this (Processor.replica.observe); null in embedded mode. */
  observer: LiveObserver | null = null;

  constructor(
    private readonly opts: LiveOptions,
    private readonly sink: LiveSink,
  ) {
    this.schedule = opts.schedule ?? immediate;
  }

  get officerCount(): number {
    return this.officers.size;
  }

  get citizenCount(): number {
    return this.citizens.size;
  }

  /**
   * The one door for index changes: puts the officer at `pos` (insert or move), or removes it when
   * `pos` is null, and marks every citizen whose answer may change. Local sockets and remote
   * replicas both come through here.
   */
  applyOfficer(id: string, pos: { lat: number; lng: number } | null, meta: OfficerMeta): void {
    const since = this.opts.mono();
    let o = this.officers.get(id);
    if (pos === null) {
      // A replica's removal never removes a local officer: that entry is another socket's.
      if (!o || (meta.remote === true && !o.remote)) return;
      this.officers.delete(id);
      this.officerIndex.remove(id);
      for (const cid of o.exactFor) this.citizens.get(cid)?.grants.delete(o);
      for (const cid of o.nearestOf) this.markDirty(cid, since);
      // Leaving the index re-arms `near` for the citizens it had alerted.
      for (const cid of o.alertOf) {
        this.citizens.get(cid)?.alerts.delete(id);
        this.markDirty(cid, since);
      }
      if (meta.remote !== true) this.observer?.officer(id, null, meta.profile);
      return;
    }
    // Before the no-change check: a local officer at the very spot of a stale remote replica of
    // itself must still be reported (and so replicated).
    if (meta.remote !== true) this.observer?.officer(id, pos, meta.profile);
    // A local socket taking over from a remote replica (or the reverse) is another socket of the
    // officer: the grants were for the one before.
    if (o && o.remote !== (meta.remote === true)) {
      o.remote = meta.remote === true;
      this.endGrants(o, since);
    }
    if (o && o.lat === pos.lat && o.lng === pos.lng) return;
    this.officerIndex.upsert(id, pos.lat, pos.lng);
    if (o) {
      o.lat = pos.lat;
      o.lng = pos.lng;
      o.profile = meta.profile;
      // A move can take it away from citizens it served: they are not inside the new point's circles.
      for (const cid of o.nearestOf) this.markDirty(cid, since);
      for (const cid of o.alertOf) this.markDirty(cid, since);
    } else {
      o = {
        id,
        lat: pos.lat,
        lng: pos.lng,
        profile: meta.profile,
        remote: meta.remote === true,
        nearestOf: new Set(),
        alertOf: new Set(),
        exactFor: new Set(),
      };
      this.officers.set(id, o);
    }
    // Citizens whose watch circle holds the new point may get a nearer officer or a new alert.
    this.watches.forEachContaining(pos.lat, pos.lng, (cid) => this.markDirty(cid, since));
  }

  /**
   * A local socket of this officer opened: a remote replica of it (another socket's position,
   * distributed mode) stops serving now. The local officer is served from its first `loc`, like
   * any new officer; until then replica updates and removals of it must not keep a stale point.
   */
  dropReplica(id: string): void {
    const o = this.officers.get(id);
    if (o?.remote) this.applyOfficer(id, null, { profile: o.profile, remote: true });
  }

  addCitizen(id: string): void {
    if (this.citizens.has(id)) this.removeCitizen(id);
    this.citizens.set(id, {
      id,
      lat: NaN,
      lng: NaN,
      nearest: null,
      alerts: new Set(),
      grants: new Set(),
      sentId: null,
      sentLat: NaN,
      sentLng: NaN,
      sentPrecision: 0,
      sentDist: null,
      sentOnce: false,
    });
  }

  removeCitizen(id: string): void {
    const c = this.citizens.get(id);
    if (!c) return;
    this.citizens.delete(id);
    this.dirty.delete(id);
    this.observer?.citizen(id, null);
    this.watches.remove(id);
    c.nearest?.nearestOf.delete(id);
    for (const oid of c.alerts) this.officers.get(oid)?.alertOf.delete(id);
    for (const o of c.grants) o.exactFor.delete(id);
  }

  /**
   * Lets the citizen see the officer's exact position (their connection was accepted) until the
   * citizen's socket closes (`removeCitizen`, also on replacement) or the officer leaves this
   * node's index (its socket closes, `avail: false`, window end; for a remote officer, its replica
   * is removed). Returns false, and grants nothing, when either is not here now.
   */
  grantExact(citizenId: string, officerId: string): boolean {
    const c = this.citizens.get(citizenId);
    const o = this.officers.get(officerId);
    if (!c || !o) return false;
    o.exactFor.add(citizenId);
    c.grants.add(o);
    this.markDirty(citizenId); // shows the exact position now if this officer is its nearest
    return true;
  }

  /** A citizen's `loc`: answers with `nearest` at once (and `near` alerts), never coalesced. */
  citizenLoc(id: string, lat: number, lng: number): void {
    const c = this.citizens.get(id);
    if (!c) return;
    c.lat = lat;
    c.lng = lng;
    this.observer?.citizen(id, { lat, lng });
    this.dirty.delete(id);
    this.recompute(c, true);
  }

  /** Marks a citizen for a coalesced re-push (also used by the sink after a held push drained). */
  markDirty(citizenId: string, since = this.opts.mono()): void {
    if (this.dirty.has(citizenId)) return; // keep the oldest change for the latency figure
    const c = this.citizens.get(citizenId);
    if (!c || Number.isNaN(c.lat)) return;
    this.dirty.set(citizenId, since);
    if (this.cancelFlush === null) this.cancelFlush = this.schedule(() => this.flush());
  }

  /** Recomputes every marked citizen and pushes those whose answer changed. */
  flush(): void {
    this.cancelFlush = null;
    const batch = this.dirty;
    this.dirty = new Map();
    for (const [cid, since] of batch) {
      const c = this.citizens.get(cid);
      if (!c) continue;
      const sent = this.recompute(c, false);
      if (sent) this.sink.pushed?.((this.opts.mono() - since) / 1000);
    }
  }

  /**
   * For the operations map (src/map): every officer in the index, and the citizens counted per
   * cell of `cellOf` (precise citizen positions never leave this class).
   */
  snapshot(cellOf: (lat: number, lng: number) => string): LiveSnapshot {
    const officers: LiveSnapshot['officers'] = [];
    for (const o of this.officers.values()) officers.push({ id: o.id, lat: o.lat, lng: o.lng, remote: o.remote });
    const citizenCells = new Map<string, number>();
    for (const c of this.citizens.values()) {
      if (Number.isNaN(c.lat)) continue;
      const cell = cellOf(c.lat, c.lng);
      citizenCells.set(cell, (citizenCells.get(cell) ?? 0) + 1);
    }
    return { officers, citizenCells };
  }

  /** Stops the pending flush (shutdown). */
  stop(): void {
    this.cancelFlush?.();
    this.cancelFlush = null;
    this.dirty.clear();
  }

  /** Returns true when a `nearest` was written. */
  private recompute(c: CitizenEntry, reply: boolean): boolean {
    const { searchRadius, alertRadius } = this.opts;
    const hit = this.officerIndex.nearestOne(c.lat, c.lng, searchRadius);
    const o = hit ? (this.officers.get(hit.id) ?? null) : null;
    if (c.nearest !== o) {
      c.nearest?.nearestOf.delete(c.id);
      o?.nearestOf.add(c.id);
      c.nearest = o;
    }
    this.watches.set(c.id, c.lat, c.lng, (hit ? Math.max(hit.dist, alertRadius) : searchRadius) + WATCH_SLACK_M);
    const sent = this.sendNearest(c, o, hit ? hit.dist : null, reply);
    // After `nearest`, so an app sees who the officer is before the alert about them.
    this.updateAlerts(c, hit !== null && hit.dist <= alertRadius, reply);
    return sent;
  }

  /**
   * Writes what the citizen may see of its nearest officer: exact inside the alert radius, with a
   * grant, or with the policy off; otherwise the centre of the officer's fixed grid cell and the
   * distance to that centre rounded to the step. Not the exact distance rounded: a citizen nudging
   * its own `loc` would find where that flips to the next step, i.e. where the exact distance is
   * known, and three such flips locate the officer to centimetres. A push is skipped when the
   * visible message equals the last one sent, so while coarse only a change of officer, cell or
   * distance step reaches the citizen.
   */
  private sendNearest(c: CitizenEntry, o: OfficerEntry | null, dist: number | null, reply: boolean): boolean {
    let lat = NaN;
    let lng = NaN;
    let precision = 0;
    let shown = dist;
    if (o && dist !== null) {
      const { precision: cell, alertRadius } = this.opts;
      if (cell > 0 && dist > alertRadius && !o.exactFor.has(c.id)) {
        ({ lat, lng } = snapToCell(o.lat, o.lng, cell));
        precision = cell;
        shown = roundToStep(haversine(c.lat, c.lng, lat, lng), this.opts.distanceStep);
      } else {
        lat = o.lat;
        lng = o.lng;
      }
    }
    const id = o ? o.id : null;
    if (!reply && c.sentOnce && c.sentId === id && c.sentDist === shown && (!o || (c.sentLat === lat && c.sentLng === lng && c.sentPrecision === precision))) {
      return false;
    }
    const msg: NearestMessage = {
      t: 'nearest',
      officer: o ? { id: o.id, lat, lng, precision, profile: o.profile } : null,
      dist: shown,
    };
    if (!this.sink.nearest(c.id, msg, reply)) return false;
    c.sentOnce = true;
    c.sentId = id;
    c.sentLat = lat;
    c.sentLng = lng;
    c.sentPrecision = precision;
    c.sentDist = shown;
    return true;
  }

  /** Ends every grant of the officer's entry and re-pushes those citizens (coarse again). */
  private endGrants(o: OfficerEntry, since: number): void {
    for (const cid of o.exactFor) {
      this.citizens.get(cid)?.grants.delete(o);
      this.markDirty(cid, since);
    }
    o.exactFor.clear();
  }

  /** Sends `near` for officers newly within the alert radius; re-arms those that left it. */
  private updateAlerts(c: CitizenEntry, anyInside: boolean, reply: boolean): void {
    if (!anyInside) {
      if (c.alerts.size === 0) return;
      for (const oid of c.alerts) this.officers.get(oid)?.alertOf.delete(c.id);
      c.alerts.clear();
      return;
    }
    const inside = this.officerIndex.within(c.lat, c.lng, this.opts.alertRadius);
    const now = new Set<string>();
    for (const h of inside) {
      const o = this.officers.get(h.id);
      if (!o) continue;
      now.add(h.id);
      if (c.alerts.has(h.id)) continue;
      c.alerts.add(h.id);
      o.alertOf.add(c.id);
      this.sink.near(c.id, { t: 'near', officer: { id: o.id, profile: o.profile }, dist: h.dist }, reply);
    }
    for (const oid of c.alerts) {
      if (now.has(oid)) continue;
      c.alerts.delete(oid);
      this.officers.get(oid)?.alertOf.delete(c.id);
    }
  }
}
