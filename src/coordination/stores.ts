// What an orchestrator keeps about devices and connection requests, behind interfaces so several
// orchestrators can share it: in memory (src/adapters/memory/stores.ts) for embedded mode and
// tests, in Redis (src/adapters/redis/) for distributed mode. The Redis classes implement these
// shapes structurally; the shared test bodies in test/contracts/ (request store, socket
// replacement and availability), run against both by test/orchestrator/stores.test.ts and
// test/redis/stores.test.ts, keep the two from drifting.
import type { ConnectionRecord, ConnectionStatus, Role } from '../protocol/index.js';
import type { NodeStats, SocketRecord } from './messages.js';

/**
 * Sockets a record remembers having replaced (newest first), so a put that arrives late for one
 * of them (another orchestrator's, for the same socket.open) neither overwrites its successor nor
 * reports a replacement again.
 */
export const REPLACED_REMEMBERED = 8;

/** What `SocketRecordStore.put` found. */
export interface PutResult {
  /** Another socket of the profile whose record this put replaced (reported by one put only). */
  replaced?: SocketRecord;
  /** This socket was replaced already by a newer one of the profile: nothing was written. */
  superseded?: boolean;
}

/** Busy-socket records (SPEC §1 step 1) and free/busy counts per node. */
export interface SocketRecordStore {
  /**
   * Records an open socket. Every orchestrator puts every `socket.open`, so the same socket is put
   * several times: only the first put reports the record it replaced, and a put of a socket that a
   * newer one replaced since writes nothing and says `superseded` (the store remembers the sockets
   * a record replaced). So in the whole cluster each replacement is reported once.
   */
  put(record: SocketRecord): Promise<PutResult>;
  /** Removes the record only if it is still this socket's (same node and open time); true when removed. */
  remove(record: SocketRecord): Promise<boolean>;
  get(role: Role, profileId: string): Promise<SocketRecord | undefined>;
  /**
   * Sets `available` on the record only if it is still this socket's (same node and open time), so
   * a late report from a replaced socket cannot touch its successor's record; true when set.
   */
  setAvailable(record: SocketRecord, available: boolean): Promise<boolean>;
  /** Stores a node's latest stats (from `node.stats`); they expire without a fresh report. */
  putStats(stats: NodeStats): Promise<void>;
  /** Latest reported stats of every node whose report has not expired. */
  countsByNode(): Promise<Map<string, NodeStats>>;
}

/**
 * A request's life (docs/protocol.md §5):
 *
 *   pending ──answer: accept──▶ accepting ──appended──▶ accepted
 *      │                            └──window over, never appended──▶ failed
 *      ├──answer: decline──▶ declined
 *      └──TTL over──▶ expired
 *
 * `accepting` is internal: clients read it as `pending` (publicRecord). An accepting request is
 * held by one orchestrator (`owner`) under a lease it renews while it retries the stream append;
 * a lapsed lease (the owner died) lets any orchestrator claim it. It is never expired by the TTL.
 */
export type StoredStatus = ConnectionStatus | 'accepting';
export type FinalStatus = 'accepted' | 'declined' | 'expired' | 'failed';

export interface StoredRequest {
  id: string;
  officerId: string;
  citizenId: string;
  status: StoredStatus;
  /** When the public status last changed (an accepted one: when the officer answered). */
  at: number;
  createdAt: number;
  /** A request still pending at this time is expired. */
  expiresAt: number;
  /** Zip of the officer's shard when the request was made (for the established event). */
  zip: string;
  /** Accepting and after: when the officer accepted (the established event's `at`). */
  answeredAt?: number;
  /** Accepting: the orchestrator driving the append, and until when its lease holds. */
  owner?: string;
  leaseUntil?: number;
  /** Accepting: past this, an event still not appended is given up (`failed`). */
  deadline?: number;
}

export interface NewRequest {
  id: string;
  officerId: string;
  citizenId: string;
  zip?: string;
}

export interface TransitionResult {
  /**
   * True for exactly one caller per change: the one whose call changed the request. The status it
   * set is `record.status`, which is `expired` (not what was asked) when an answer came too late.
   */
  changed: boolean;
  /** The request after the call; undefined when there is no such request (unknown or purged). */
  record?: StoredRequest;
}

export type CreateResult =
  /** A new pending request. */
  | { outcome: 'created'; record: StoredRequest }
  /** This citizen already has a pending request to this officer: that one, unchanged. */
  | { outcome: 'existing'; record: StoredRequest }
  /** The officer already has `maxPerOfficer` pending requests from other citizens. */
  | { outcome: 'officer_busy' };

export interface AcceptLease {
  /** Id of the orchestrator that will drive the append. */
  owner: string;
  leaseMs: number;
  /** How long after the answer the append may be retried before the request fails. */
  windowMs: number;
}

/**
 * Connection requests (`POST /v1/connections`), decided once. At most one pending request per
 * citizen–officer pair and `maxPerOfficer` per officer, checked atomically with the insert.
 */
export interface RequestStore {
  /** Stores a new pending request (or finds the pair's); undefined when the id already exists. */
  create(req: NewRequest, now: number, ttlMs: number, maxPerOfficer: number): Promise<CreateResult | undefined>;
  /** The stored request; a pending one past its expiry reads as expired. publicRecord() is what clients see. */
  get(id: string, now: number): Promise<StoredRequest | undefined>;
  /** pending → declined, or → expired (an answer after expiresAt also gives expired). */
  transition(id: string, to: 'declined' | 'expired', now: number): Promise<TransitionResult>;
  /** The officer accepted: pending → accepting under `lease` (→ expired when too late). */
  beginAccept(id: string, now: number, lease: AcceptLease): Promise<TransitionResult>;
  /**
   * Takes (or, for the current owner, renews) the lease of an accepting request: changed when the
   * caller holds it now. Another owner's lease is taken only once it ran out.
   */
  claim(id: string, owner: string, now: number, leaseMs: number): Promise<TransitionResult>;
  /** accepting → accepted (at = answeredAt) or failed (at = now), only by the lease holder. */
  finish(id: string, owner: string, to: 'accepted' | 'failed', now: number): Promise<TransitionResult>;
  /**
   * Ids that need someone: pending past expiresAt (nobody expired them: their orchestrator may be
   * gone) and accepting with a lapsed lease. Oldest first, at most `limit`.
   */
  due(now: number, limit: number): Promise<string[]>;
}

/** A new request as every store records it: pending from `now`, expiring after `ttlMs`. */
export function newPendingRequest(req: NewRequest, now: number, ttlMs: number): StoredRequest {
  return {
    id: req.id,
    officerId: req.officerId,
    citizenId: req.citizenId,
    status: 'pending',
    at: now,
    createdAt: now,
    expiresAt: now + ttlMs,
    zip: req.zip ?? '',
  };
}

/** What `GET /v1/connections/:id` shows: accepting is still pending to the parties. */
export function publicRecord(rec: StoredRequest): ConnectionRecord {
  return { id: rec.id, officerId: rec.officerId, citizenId: rec.citizenId, status: rec.status === 'accepting' ? 'pending' : rec.status, at: rec.at };
}

/** Whether a request still counts as pending (waiting for the officer) at `now`. */
export function isPendingAt(rec: StoredRequest, now: number): boolean {
  return rec.status === 'pending' && now <= rec.expiresAt;
}
