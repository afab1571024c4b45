// Messages between orchestrators and processors. In embedded mode they travel through an
// in-process bus; in distributed mode through Redis pub/sub. Same shapes either way.
import type { ConnMessage, PublicProfile, Role } from '../protocol/index.js';

/** A busy socket: who is connected where (SPEC §1 step 1, "busy connection (socket url, profile id)"). */
export interface SocketRecord {
  node: string;
  /** Public websocket URL of the node (without ticket). */
  url: string;
  role: Role;
  profileId: string;
  zip: string;
  /** When the socket opened, ms since the epoch. */
  at: number;
  /** Officers: false after `avail: false` (they cannot be requested then); absent or true otherwise. */
  available?: boolean;
}

/** What a processor reports about itself, periodically and on change. */
export interface NodeStats {
  node: string;
  url: string;
  officers: number;
  citizens: number;
  /** Open sockets. */
  busy: number;
  /** Sockets it can still take before `MAX_SOCKETS`. */
  free: number;
  at: number;
}

/** Processor → orchestrators. */
export type ToOrchestrator =
  /**
   * `again`: a re-announcement of a socket that was open already (after a Redis outage), not a new
   * open: it replaces no other socket (the order of re-announcements says nothing about which is newer).
   */
  | { type: 'socket.open'; record: SocketRecord; again?: boolean }
  | { type: 'socket.close'; record: SocketRecord; reason: string }
  /** An officer said `avail`: `record.available` is the new state. */
  | { type: 'socket.avail'; record: SocketRecord }
  | { type: 'conn.resp'; requestId: string; officerId: string; accept: boolean }
  | { type: 'node.stats'; stats: NodeStats };

/** Orchestrator → one processor (on its node channel). */
export type ToProcessor =
  | {
      type: 'conn.req';
      requestId: string;
      officerId: string;
      citizen: { id: string; profile: PublicProfile };
      expiresAt: number;
    }
  /** Deliver `conn` to whichever of the two parties hold a socket on this node. */
  | { type: 'conn.update'; conn: Omit<ConnMessage, 't'> }
  /**
   * A newer socket of the same profile opened on another node: close this node's socket of
   * `record` with `bye: replaced`, only if it is still that very socket (same node and `at`).
   */
  | { type: 'socket.replaced'; record: SocketRecord };

export type BusMessage = ToOrchestrator | ToProcessor;

/** Shape check of a record received from the network (the Redis bus parses with it). */
export function isSocketRecord(r: unknown): r is SocketRecord {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return false;
  const x = r as Record<string, unknown>;
  return (
    typeof x.node === 'string' &&
    typeof x.url === 'string' &&
    (x.role === 'officer' || x.role === 'citizen') &&
    typeof x.profileId === 'string' &&
    typeof x.zip === 'string' &&
    typeof x.at === 'number' &&
    Number.isFinite(x.at)
  );
}

export const ORCHESTRATOR_CHANNEL = 'beacon:orch';
export const nodeChannel = (nodeId: string): string => `beacon:node:${nodeId}`;

/** A payload larger than this is dropped on both ends (bus messages are small records). */
export const MAX_BUS_PAYLOAD_BYTES = 64 * 1024;

const BUS_TYPES = new Set<string>([
  'socket.open',
  'socket.close',
  'conn.resp',
  'node.stats',
  'conn.req',
  'conn.update',
  'socket.replaced',
] satisfies BusMessage['type'][]);

/** Parses and shape-checks a payload; undefined when it is not a bus message. */
export function parseBusPayload(raw: string): BusMessage | undefined {
  if (typeof raw !== 'string' || raw.length > MAX_BUS_PAYLOAD_BYTES) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const type = (v as { type?: unknown }).type;
  if (typeof type !== 'string' || !BUS_TYPES.has(type)) return undefined;
  // It closes a socket: the record that names it must be whole.
  if (type === 'socket.replaced' && !isSocketRecord((v as { record?: unknown }).record)) return undefined;
  return v as BusMessage;
}
