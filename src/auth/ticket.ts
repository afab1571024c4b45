// Socket tickets: the orchestrator seals one per assignment, the processor opens it in the
// websocket upgrade. AES-256-GCM under a key derived from a secret both sides share
// (TICKET_SECRET; generated in-process in embedded mode), so a ticket is opaque: nothing in the
// URL is readable (it ends up in proxy logs), and nothing in it can be changed. Short-lived, bound
// to one node run, one profile and one role, single use (see TicketReplayGuard), and never valid
// longer than the device token that obtained it.
//
// Layout, base64url: version (1 byte) | nonce (12) | ciphertext | GCM tag (16). The nonce is
// random and unique per ticket, so it doubles as the ticket id for single use.
import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, randomFillSync, type KeyObject } from 'node:crypto';
import { isId, type PublicProfile, type Role } from '../protocol/index.js';

export interface TicketClaims {
  /** Profile id (the device token's `sub`). */
  sub: string;
  /** Account id (the device token's `acct`); kept server-side, never sent to other devices. */
  acct: string;
  role: Role;
  /** Node id the ticket is valid on. */
  node: string;
  /** The run of that node the ticket was issued for (its start time): a restarted node refuses it. */
  epoch: number;
  zip: string;
  profile: PublicProfile;
  /** Issued at, ms since the epoch. */
  iat: number;
  /** Ticket expiry, ms since the epoch; never after `tokenExp`. */
  exp: number;
  /** When the device token that obtained the ticket expires: the socket is closed then. */
  tokenExp: number;
  /** Where the device said it was when it asked (citizen sockets are bound to it). */
  lat: number;
  lng: number;
}

/** What a valid ticket yields: its claims and its unique id. */
export interface OpenedTicket extends TicketClaims {
  jti: string;
}

export type TicketFailure = 'malformed' | 'bad_signature' | 'expired' | 'wrong_node' | 'node_restarted' | 'reused';

export type TicketCheck = { ok: true; claims: OpenedTicket } | { ok: false; reason: TicketFailure };

/** Far above any real ticket (~300 characters; ids and profile strings are bounded). */
const MAX_TICKET_LENGTH = 4096;
const VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER = Buffer.from([VERSION]);

/** The AES key, derived so the shared secret itself is never used as a cipher key. */
function ticketKey(secret: Buffer): KeyObject {
  return createSecretKey(Buffer.from(hkdfSync('sha256', secret, 'beacon/socket-ticket', 'v1 aes-256-gcm', 32)));
}

// Nonces from a pooled buffer: one randomFillSync per ~340 tickets instead of one per ticket.
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let poolOffset = POOL_BYTES;

function nonce(): Buffer {
  if (poolOffset + NONCE_BYTES > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const n = Buffer.from(pool.subarray(poolOffset, poolOffset + NONCE_BYTES));
  poolOffset += NONCE_BYTES;
  return n;
}

export type TicketSigner = (claims: TicketClaims) => string;

/** The one ticket sealer (the orchestrator's assignment hot path): the key is derived once. */
export function ticketSigner(secret: Buffer): TicketSigner {
  const key = ticketKey(secret);
  return (claims) => {
    const iv = nonce();
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(HEADER);
    const body = cipher.update(JSON.stringify(claims), 'utf8');
    const tail = cipher.final();
    return Buffer.concat([HEADER, iv, body, tail, cipher.getAuthTag()]).toString('base64url');
  };
}

export type TicketVerifier = (ticket: string, nodeId: string, epoch: number, now: number) => TicketCheck;

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Opens a ticket and checks expiry, node and node run. Does not consume it: see TicketReplayGuard.
 * A ticket that does not open (another secret, any byte changed) is `bad_signature`.
 */
export function ticketVerifier(secret: Buffer): TicketVerifier {
  const key = ticketKey(secret);
  return (ticket, nodeId, epoch, now) => {
    if (typeof ticket !== 'string' || ticket.length === 0 || ticket.length > MAX_TICKET_LENGTH || !BASE64URL.test(ticket)) {
      return { ok: false, reason: 'malformed' };
    }
    const raw = Buffer.from(ticket, 'base64url');
    if (raw.length <= 1 + NONCE_BYTES + TAG_BYTES || raw[0] !== VERSION) return { ok: false, reason: 'malformed' };
    const iv = raw.subarray(1, 1 + NONCE_BYTES);
    let text: string;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAAD(HEADER);
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      text = decipher.update(raw.subarray(1 + NONCE_BYTES, raw.length - TAG_BYTES), undefined, 'utf8') + decipher.final('utf8');
    } catch {
      return { ok: false, reason: 'bad_signature' };
    }
    let claims: unknown;
    try {
      claims = JSON.parse(text);
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    if (!isClaims(claims)) return { ok: false, reason: 'malformed' };
    if (claims.exp <= now || claims.tokenExp <= now) return { ok: false, reason: 'expired' };
    if (claims.node !== nodeId) return { ok: false, reason: 'wrong_node' };
    if (claims.epoch !== epoch) return { ok: false, reason: 'node_restarted' };
    return { ok: true, claims: { ...claims, jti: iv.toString('base64url') } };
  };
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Everything a ticket carries is checked again: a leaked secret must not become a crash. */
function isClaims(v: unknown): v is TicketClaims {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Record<string, unknown>;
  return (
    isId(c.sub) &&
    isId(c.acct) &&
    (c.role === 'officer' || c.role === 'citizen') &&
    isId(c.node) &&
    isNum(c.epoch) &&
    typeof c.zip === 'string' &&
    c.zip.length <= 16 &&
    typeof c.profile === 'object' &&
    c.profile !== null &&
    isNum(c.iat) &&
    isNum(c.exp) &&
    isNum(c.tokenExp) &&
    isNum(c.lat) &&
    c.lat >= -90 &&
    c.lat <= 90 &&
    isNum(c.lng) &&
    c.lng >= -180 &&
    c.lng <= 180
  );
}

/**
 * Remembers used ticket ids until they expire, so a ticket opens at most one socket during this
 * run of the node (a restarted node refuses every earlier ticket by its epoch). Memory is bounded
 * by the number of tickets issued within one ticket lifetime.
 */
export class TicketReplayGuard {
  private readonly used = new Map<string, number>();

  /** True the first time a ticket id is seen (and records it); false on reuse. */
  consume(jti: string, exp: number, now: number): boolean {
    if (this.used.has(jti)) return false;
    this.used.set(jti, exp);
    if (this.used.size % 1024 === 0) this.prune(now);
    return true;
  }

  prune(now: number): void {
    for (const [jti, exp] of this.used) if (exp <= now) this.used.delete(jti);
  }

  get size(): number {
    return this.used.size;
  }
}
