// What an orchestrator keeps about devices and connection requests, behind interfaces so several
// orchestrators can share it: in memory (src/orchestrator/memory-stores.ts) for embedded mode and
// tests, in Redis (src/adapters/redis/) for distributed mode. The Redis classes implement these
// shapes structurally; test/orchestrator/store-compat.test.ts keeps the two from drifting.
import type { ConnectionRecord, Role } from '../protocol/index.js';
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

export type FinalStatus = 'accepted' | 'declined' | 'expired';

export interface StoredRequest extends ConnectionRecord {
  createdAt: number;
  /** A request still pending at this time is expired. */
  expiresAt: number;
  /** Zip of the officer's shard when the request was made (for the established event). */
  zip: string;
}

export interface NewRequest {
  id: string;
  officerId: string;
  citizenId: string;
  zip?: string;
}

export interface TransitionResult {
  /**
   * True for exactly one caller per request: the one whose call changed its status. The status it
   * set is `record.status`, which is `expired` (not what was asked) when an answer came too late.
   */
  changed: boolean;
  /** The request after the call; undefined when there is no such request (unknown or purged). */
  record?: StoredRequest;
}

/** Connection requests (`POST /v1/connections`): pending → accepted/declined/expired, decided once. */
export interface RequestStore {
  /** Stores a new pending request; resolves undefined when the id already exists. */
  create(req: NewRequest, now: number, ttlMs: number): Promise<StoredRequest | undefined>;
  /** The request as clients see it: a pending one past its expiry reads as expired. */
  get(id: string, now: number): Promise<StoredRequest | undefined>;
  transition(id: string, to: FinalStatus, now: number): Promise<TransitionResult>;
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
