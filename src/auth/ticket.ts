// Socket tickets: the orchestrator signs one per assignment, the processor verifies it in the
// websocket upgrade. HMAC-SHA256 over a compact JSON payload with a secret both sides share
// (TICKET_SECRET; generated in-process in embedded mode). Short-lived, bound to one node,
// one profile and one role, and single use (see TicketReplayGuard).
import { createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { PublicProfile, Role } from '../protocol/index.js';

export interface TicketClaims {
  /** Profile id (the device token's `sub`). */
  sub: string;
  /** Account id (the device token's `acct`); kept server-side, never sent to other devices. */
  acct: string;
  role: Role;
  /** Node id the ticket is valid on. */
  node: string;
  zip: string;
  profile: PublicProfile;
  /** Expiry, ms since the epoch. */
  exp: number;
  /** Unique ticket id, for single use. */
  jti: string;
}

export type TicketFailure = 'malformed' | 'bad_signature' | 'expired' | 'wrong_node' | 'reused';

export type TicketCheck = { ok: true; claims: TicketClaims } | { ok: false; reason: TicketFailure };

const MAX_TICKET_LENGTH = 2048;

function sign(key: KeyObject, body: string): Buffer {
  return createHmac('sha256', key).update(body).digest();
}

export function newTicketId(): string {
  return randomBytes(12).toString('base64url');
}

export type TicketSigner = (claims: TicketClaims) => string;

/**
 * The one ticket signer (the assignment hot path): the secret is imported into a KeyObject once
 * instead of on every createHmac(), and the JSON is encoded through one reused buffer. (A
 * hand-rolled HMAC over two one-shot crypto.hash() calls measured no faster: the cost left is two
 * SHA-256 passes and Node's per-call overhead.)
 */
export function ticketSigner(secret: Buffer): TicketSigner {
  const key = createSecretKey(secret);
  let json = Buffer.alloc(1024);
  return (claims) => {
    const text = JSON.stringify(claims);
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (json.length < text.length * 3) json = Buffer.alloc(text.length * 3);
    const body = json.toString('base64url', 0, json.write(text, 0, 'utf8'));
    return `${body}.${sign(key, body).toString('base64url')}`;
  };
}

function isClaims(v: unknown): v is TicketClaims {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Record<string, unknown>;
  return (
    typeof c.sub === 'string' &&
    typeof c.acct === 'string' &&
    (c.role === 'officer' || c.role === 'citizen') &&
    typeof c.node === 'string' &&
    typeof c.zip === 'string' &&
    typeof c.profile === 'object' &&
    c.profile !== null &&
    typeof c.exp === 'number' &&
    typeof c.jti === 'string'
  );
}

export type TicketVerifier = (ticket: string, nodeId: string, now: number) => TicketCheck;

/** Verifies signature, expiry and node. Does not consume the ticket: see TicketReplayGuard. */
export function ticketVerifier(secret: Buffer): TicketVerifier {
  const key = createSecretKey(secret);
  return (ticket, nodeId, now) => verifyTicket(key, ticket, nodeId, now);
}

function verifyTicket(key: KeyObject, ticket: string, nodeId: string, now: number): TicketCheck {
  if (typeof ticket !== 'string' || ticket.length === 0 || ticket.length > MAX_TICKET_LENGTH) return { ok: false, reason: 'malformed' };
  const dot = ticket.indexOf('.');
  if (dot <= 0 || dot !== ticket.lastIndexOf('.')) return { ok: false, reason: 'malformed' };
  const body = ticket.slice(0, dot);
  const given = Buffer.from(ticket.slice(dot + 1), 'base64url');
  const expected = sign(key, body);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad_signature' };
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (!isClaims(claims)) return { ok: false, reason: 'malformed' };
  if (claims.exp <= now) return { ok: false, reason: 'expired' };
  if (claims.node !== nodeId) return { ok: false, reason: 'wrong_node' };
  return { ok: true, claims };
}

/**
 * Remembers used ticket ids until they expire, so a ticket opens at most one socket.
 * Memory is bounded by the number of tickets issued within one ticket lifetime.
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
