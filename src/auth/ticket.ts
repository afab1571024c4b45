// Socket tickets: the orchestrator seals one per assignment, the processor opens it in the
// websocket upgrade. A sealed envelope (seal.ts: AES-256-GCM, base64url) under keys derived from a
// secret both sides share (TICKET_SECRET; generated in-process in embedded mode), so a ticket is
// opaque: nothing in the URL is readable (it ends up in proxy logs), and nothing in it can be
// changed. Short-lived, bound to one node run, one profile and one role, single use (see
// TicketReplayGuard), and never valid longer than the device token that obtained it.
import { isId, type PublicProfile, type Role } from '../protocol/index.js';
import { maxEnvelopeChars, SEAL_OVERHEAD_BYTES, Sealer } from './seal.js';

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
  /** Unique ticket id, for single use. */
  jti: string;
}

export type TicketFailure = 'malformed' | 'bad_signature' | 'expired' | 'wrong_node' | 'node_restarted' | 'reused';

export type TicketCheck = { ok: true; claims: TicketClaims } | { ok: false; reason: TicketFailure };

/** Claims are well under this (ids and profile strings are bounded); a longer ticket is refused unread. */
const MAX_CLAIMS_BYTES = 2048;
const MAX_TICKET_LENGTH = maxEnvelopeChars(MAX_CLAIMS_BYTES);
/** What the envelope is bound to (its authenticated context). */
const CONTEXT = 'socket-ticket';
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** Fewer characters than an envelope's fixed parts take (49 bytes): not a ticket at all. */
const MIN_TICKET_LENGTH = Math.ceil((SEAL_OVERHEAD_BYTES * 4) / 3);

/**
 * The sealed plaintext: the claims as a JSON array in this fixed order after a format number, not
 * an object. No field names: the ticket (twice in every assignment, then in the upgrade URL) is a
 * third shorter, and writing and reading it is cheaper. A plaintext of any other shape is malformed,
 * so orchestrators and processors must seal and open the same format: during a rolling upgrade that
 * changes it, a ticket of the other format is refused and the device asks for a new one.
 */
const FORMAT = 2;
const FIELDS = 14;

function encode(c: TicketClaims): string {
  return JSON.stringify([FORMAT, c.sub, c.acct, c.role, c.node, c.epoch, c.zip, c.profile, c.iat, c.exp, c.tokenExp, c.lat, c.lng, c.jti]);
}

function decode(v: unknown): TicketClaims | undefined {
  if (!Array.isArray(v) || v.length !== FIELDS || v[0] !== FORMAT) return undefined;
  const [, sub, acct, role, node, epoch, zip, profile, iat, exp, tokenExp, lat, lng, jti] = v as unknown[];
  const c = { sub, acct, role, node, epoch, zip, profile, iat, exp, tokenExp, lat, lng, jti };
  return isClaims(c) ? c : undefined;
}

/** Tickets have their own keys: derived from TICKET_SECRET for this purpose only. */
const ticketSealer = (secret: Buffer) => new Sealer(secret, { purpose: 'socket-ticket', encoding: 'base64url', minBytes: 1 });

export type TicketSigner = (claims: TicketClaims) => string;

/** The one ticket sealer (the orchestrator's assignment hot path): keys are derived once. */
export function ticketSigner(secret: Buffer): TicketSigner {
  const seal = ticketSealer(secret).bind(CONTEXT);
  return (claims) => seal(encode(claims));
}

export type TicketVerifier = (ticket: string, nodeId: string, epoch: number, now: number) => TicketCheck;

/**
 * Opens a ticket and checks expiry, node and node run. Does not consume it: see TicketReplayGuard.
 * A ticket that does not open (another secret, any character changed) is `bad_signature`.
 */
export function ticketVerifier(secret: Buffer): TicketVerifier {
  const sealer = ticketSealer(secret);
  return (ticket, nodeId, epoch, now) => {
    if (typeof ticket !== 'string' || ticket.length < MIN_TICKET_LENGTH || ticket.length > MAX_TICKET_LENGTH || !BASE64URL.test(ticket)) {
      return { ok: false, reason: 'malformed' };
    }
    const opened = sealer.open(ticket, CONTEXT, MAX_TICKET_LENGTH);
    if (!opened.ok) return { ok: false, reason: 'bad_signature' };
    let claims: TicketClaims | undefined;
    try {
      claims = decode(JSON.parse(opened.text));
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    if (!claims) return { ok: false, reason: 'malformed' };
    if (claims.exp <= now || claims.tokenExp <= now) return { ok: false, reason: 'expired' };
    if (claims.node !== nodeId) return { ok: false, reason: 'wrong_node' };
    if (claims.epoch !== epoch) return { ok: false, reason: 'node_restarted' };
    return { ok: true, claims };
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
    c.lng <= 180 &&
    isId(c.jti)
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
