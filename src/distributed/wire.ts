// Wire format of officer replication between processors (channel and snapshot per cell), and
// its validation: everything read from Redis is untrusted input and is checked before use.
// Positions are sealed (src/auth/seal.ts) and cell names hashed before they reach Redis: ReplicationWire
// is the only way in and out.
import { isId } from '../protocol/index.js';
import type { PublicProfile } from '../protocol/index.js';
import { maxEnvelopeChars, type OpenFailure, type Sealer } from '../auth/index.js';

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

/** Sealed messages longer than this are dropped unopened. */
export const MAX_SEALED_CHARS = maxEnvelopeChars(MAX_BATCH_BYTES);

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

/** Why something read from Redis was not used. */
export interface Refused {
  why: OpenFailure;
  /** Key id of an envelope sealed under another key. */
  keyId?: string;
}

export function isRefused(v: object): v is Refused {
  return 'why' in v;
}

/**
 * Names, sealing and parsing of one grid's replication traffic. Snapshot HASH
 * `<prefix>:cellsnap:{<tag>:<h>}`, `h` the keyed hash of the cell (key names are at rest: in the
 * AOF and RDB files). Channel `<prefix>:cell:<tag>:<i>:<j>`, in the clear: pub/sub is not at rest
 * (PUBLISH never reaches the AOF), and a node holding another key must meet the others on the
 * same channel to notice and say so. Messages and snapshot values are sealed for their channel /
 * key and field.
 */
export class ReplicationWire {
  private readonly names = new Map<string, string>();

  constructor(
    readonly sealer: Sealer,
    readonly prefix: string,
    readonly tag: string,
  ) {}

  channel(cell: string): string {
    return `${this.prefix}:cell:${this.tag}:${cell}`;
  }

  snapshotKey(cell: string): string {
    let key = this.names.get(cell);
    if (key === undefined) {
      key = `${this.prefix}:cellsnap:{${this.tag}:${this.sealer.name(`${this.tag}:${cell}`)}}`;
      // Bounded: the cells officers visit over a long run must not grow it forever.
      if (this.names.size >= 65_536) this.names.clear();
      this.names.set(cell, key);
    }
    return key;
  }

  /** A message this node sealed (its current epoch): Redis echoing its own batch back. */
  isOwn(raw: unknown): boolean {
    return typeof raw === 'string' && this.sealer.sealedHere(raw);
  }

  sealBatch(channel: string, b: CellBatch): string {
    return this.sealer.seal(JSON.stringify(b), `c:${channel}`);
  }

  /** A channel message: the batch, `Refused` (wrong key, or anything malformed). */
  openBatch(channel: string, raw: unknown): CellBatch | Refused {
    const o = this.sealer.open(raw, `c:${channel}`, MAX_SEALED_CHARS);
    if (!o.ok) return { why: o.why, keyId: o.keyId };
    return parseBatch(o.text) ?? { why: 'malformed' };
  }

  sealSnapshotValue(key: string, field: string, lat: number, lng: number, profile: PublicProfile, version: number): string {
    return this.sealer.seal(snapshotValue(lat, lng, profile, version), `s:${key}\n${field}`);
  }

  /** One snapshot field/value pair of `key`. */
  openSnapshotEntry(key: string, field: string, value: unknown): SnapshotEntry | Refused {
    const o = this.sealer.open(value, `s:${key}\n${field}`, MAX_SEALED_CHARS);
    if (!o.ok) return { why: o.why, keyId: o.keyId };
    return parseSnapshotEntry(field, o.text) ?? { why: 'malformed' };
  }
}
