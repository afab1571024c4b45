// Wire format of officer replication between processors (channel and snapshot per cell), and
// its validation: everything read from Redis is untrusted input and is checked before use.
import { MAX_ID_LENGTH } from '../adapters/redis/index.js';
import type { PublicProfile } from '../protocol/index.js';

/** One officer position: [id, lat, lng, public profile]. */
export type Upsert = [string, number, number, PublicProfile];

/** A batch from one node for one cell. `v`: the node's version (µs wall clock, strictly increasing). */
export interface CellBatch {
  n: string;
  v: number;
  u: Upsert[];
  r: string[];
}

/** Payloads larger than this are dropped by the receiver; senders chunk well below it. */
export const MAX_BATCH_BYTES = 256 * 1024;
/** Upserts per published message (~100–300 bytes each). */
export const UPSERTS_PER_MESSAGE = 200;

export const cellChannel = (prefix: string, tag: string, cell: string): string => `${prefix}:cell:${tag}:${cell}`;
/** Snapshot hash of a cell: field = JSON [node, id], value = JSON [lat, lng, profile, version]. */
export const cellSnapshotKey = (prefix: string, tag: string, cell: string): string => `${prefix}:cellsnap:{${tag}:${cell}}`;

const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_ID_LENGTH;
const isLat = (v: unknown): v is number => typeof v === 'number' && v >= -90 && v <= 90;
const isLng = (v: unknown): v is number => typeof v === 'number' && v >= -180 && v <= 180;
const isProfile = (v: unknown): v is PublicProfile => typeof v === 'object' && v !== null && !Array.isArray(v);
const isVersion = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

export function validUpsert(u: unknown): u is Upsert {
  return Array.isArray(u) && u.length === 4 && isId(u[0]) && isLat(u[1]) && isLng(u[2]) && isProfile(u[3]);
}

/** Parses a channel message; undefined for anything malformed (too large, bad JSON, bad fields). */
export function parseBatch(raw: string): CellBatch | undefined {
  if (typeof raw !== 'string' || raw.length > MAX_BATCH_BYTES) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const b = v as Partial<CellBatch>;
  if (!isId(b.n) || !isVersion(b.v) || !Array.isArray(b.u) || !Array.isArray(b.r)) return undefined;
  if (!b.u.every(validUpsert) || !b.r.every(isId)) return undefined;
  return b as CellBatch;
}

export interface SnapshotEntry {
  node: string;
  version: number;
  upsert: Upsert;
}

/** Parses one snapshot field/value pair; undefined when malformed. */
export function parseSnapshotEntry(field: string, value: string): SnapshotEntry | undefined {
  try {
    const f: unknown = JSON.parse(field);
    const v: unknown = JSON.parse(value);
    if (!Array.isArray(f) || f.length !== 2 || !isId(f[0]) || !isId(f[1])) return undefined;
    if (!Array.isArray(v) || v.length !== 4 || !isVersion(v[3])) return undefined;
    const upsert: Upsert = [f[1], v[0], v[1], v[2]];
    if (!validUpsert(upsert)) return undefined;
    return { node: f[0], version: v[3], upsert };
  } catch {
    return undefined;
  }
}

export const snapshotField = (node: string, id: string): string => JSON.stringify([node, id]);
export const snapshotValue = (lat: number, lng: number, profile: PublicProfile, version: number): string => JSON.stringify([lat, lng, profile, version]);
