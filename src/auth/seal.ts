// Sealed envelopes: AES-256-GCM under keys derived from one shared secret, for everything Beacon
// must hand to others without their reading it (issue #10). Two users, one implementation:
// * replication (src/distributed, REPLICATION_KEY): every channel batch and cell snapshot value in
//   Redis, so neither Redis' memory, its AOF/RDB files, MONITOR, nor a subscriber reads an
//   officer's position or profile; cell numbers in snapshot key names are keyed hashes (`name`);
// * socket tickets (ticket.ts, TICKET_SECRET): opaque, URL-safe (base64url).
//
// Keys, all HKDF-SHA256 from the secret with a salt naming the purpose and one `info` each:
// * key id (4 bytes, in every envelope): a node holding another key tells "sealed under another
//   key" (misconfiguration) from "corrupted" (tampering, bugs) and says so;
// * name key: HMAC-SHA256 of cell names;
// * data keys: one per sender epoch. An epoch is 16 random bytes a sender picks at start and
//   again every EPOCH_MESSAGES seals, so a key never seals more than 2^24 messages: random 96-bit
//   nonces stay far below AES-GCM's 2^32-messages-per-key bound however long a deployment keeps
//   its REPLICATION_KEY (a 100k-officer deployment seals ~50k snapshot values/s).
//
// Envelope, base64 or base64url (canonical): 0x01 | key id (4) | epoch (16) | nonce (12) | ciphertext | tag (16).
// Authenticated data = the header (version, key id, epoch) + a context the caller names (the
// channel, or the snapshot key and field): a sealed value moved to another cell or officer fails.
// Not prevented: replaying a value someone copied earlier under the same context; versions
// (replication.ts) keep that from overwriting newer data.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, randomFillSync } from 'node:crypto';

const VERSION = 1;
const KEY_ID_BYTES = 4;
const EPOCH_BYTES = 16;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + KEY_ID_BYTES + EPOCH_BYTES;
/** Bytes an envelope adds to its plaintext (before base64). */
export const SEAL_OVERHEAD_BYTES = HEADER_BYTES + NONCE_BYTES + TAG_BYTES;
/** Seals per data key before the sender moves to a new epoch. */
export const EPOCH_MESSAGES = 2 ** 24;
/** Data keys of other senders' epochs kept derived (only after one of their envelopes authenticated). */
const EPOCH_CACHE = 64;

export type OpenFailure = 'wrong_key' | 'malformed';
export type Opened = { ok: true; text: string } | { ok: false; why: OpenFailure; /** The envelope's key id (hex), with `wrong_key`. */ keyId?: string };

export interface SealerOptions {
  /** What the keys are for; part of the HKDF salt, so two purposes never share a key. Default `replication`. */
  purpose?: string;
  /** `base64url` for envelopes that travel in URLs. Default `base64`. */
  encoding?: 'base64' | 'base64url';
  /** Shortest secret accepted, in bytes (default 32). */
  minBytes?: number;
  /** Seals per data key before a new epoch (default EPOCH_MESSAGES; tests use less). */
  epochMessages?: number;
}

/**
 * Nonces from a pool of CSPRNG bytes refilled 340 nonces at a time: randomBytes(12) per message
 * costs half as much as the encryption itself. Every slice is handed out once, and used (copied
 * into the cipher and the envelope) before the pool can be refilled.
 */
class NoncePool {
  private readonly pool = Buffer.alloc(NONCE_BYTES * 340);
  private at = this.pool.length;

  next(): Buffer {
    if (this.at === this.pool.length) {
      randomFillSync(this.pool);
      this.at = 0;
    }
    const n = this.pool.subarray(this.at, this.at + NONCE_BYTES);
    this.at += NONCE_BYTES;
    return n;
  }
}

export class Sealer {
  /** This key's id (hex): logged at start and in wrong-key lines, so operators can compare nodes. */
  readonly keyId: string;
  private readonly ikm: Buffer;
  private readonly kid: Buffer;
  private readonly nameKey: Buffer;
  private readonly dataKeys = new Map<string, Buffer>();
  private readonly nonces = new NoncePool();
  private epoch!: Buffer;
  private epochKey!: Buffer;
  /** Version, key id and epoch: the envelope header while this epoch lasts. */
  private header!: Buffer;
  /** The header as it starts every encoded envelope of this epoch (21 bytes: 28 characters, no padding). */
  private headerText!: string;
  private sealed = 0;
  private readonly salt: string;
  private readonly encoding: 'base64' | 'base64url';
  private readonly epochMessages: number;

  constructor(secret: string | Buffer, o: SealerOptions = {}) {
    this.ikm = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
    const purpose = o.purpose ?? 'replication';
    const min = o.minBytes ?? 32;
    if (this.ikm.length < min) throw new RangeError(`the ${purpose} key must be at least ${min} bytes`);
    this.salt = `beacon/${purpose}/v1`;
    this.encoding = o.encoding ?? 'base64';
    this.epochMessages = o.epochMessages ?? EPOCH_MESSAGES;
    this.kid = this.hkdf('key-id', KEY_ID_BYTES);
    this.keyId = this.kid.toString('hex');
    this.nameKey = this.hkdf('cell-names', 32);
    this.newEpoch();
  }

  /** A keyed hash of `name` (32 hex characters): the same on every node holding the same key. */
  name(name: string): string {
    return createHmac('sha256', this.nameKey).update(name).digest('hex').slice(0, 32);
  }

  /** Seals `plaintext` for `context` (which the reader must name identically). */
  seal(plaintext: string, context: string): string {
    return this.sealAad(plaintext, () => aad(this.header, context));
  }

  /**
   * seal() for one fixed context, its authenticated data built once per epoch rather than per
   * message (socket tickets: one context, sealed on every assignment). Same envelopes as seal().
   */
  bind(context: string): (plaintext: string) => string {
    let header: Buffer | undefined;
    let data: Buffer;
    const aadNow = () => {
      if (header !== this.header) data = aad((header = this.header), context);
      return data;
    };
    return (plaintext) => this.sealAad(plaintext, aadNow);
  }

  /** `aadNow` is called after the epoch check, so it always sees the header the envelope gets. */
  private sealAad(plaintext: string, aadNow: () => Buffer): string {
    if (this.sealed >= this.epochMessages) this.newEpoch();
    this.sealed++;
    const nonce = this.nonces.next();
    const c = createCipheriv('aes-256-gcm', this.epochKey, nonce);
    c.setAAD(aadNow());
    const body = c.update(plaintext, 'utf8');
    const tail = c.final(); // empty for GCM
    return Buffer.concat([this.header, nonce, body, tail, c.getAuthTag()]).toString(this.encoding);
  }

  /**
   * True when `envelope` starts with this sealer's current header (same key id, same random
   * epoch): this very sender sealed it. A cheap string test that lets a subscriber skip its own
   * messages, which Redis pub/sub echoes back, without decrypting them. Not an authentication:
   * a forgery with this prefix is dropped unread, as the sender's own message would be.
   */
  sealedHere(envelope: string): boolean {
    return envelope.startsWith(this.headerText);
  }

  /**
   * Opens an envelope sealed for `context`. `maxChars`: longer input is refused before any work.
   * Never throws: anything but an authentic envelope under this key is `malformed`, or
   * `wrong_key` when it names another key id.
   */
  open(envelope: unknown, context: string, maxChars = Infinity): Opened {
    if (typeof envelope !== 'string' || envelope.length > maxChars) return { ok: false, why: 'malformed' };
    const buf = Buffer.from(envelope, this.encoding);
    // Node's decoder skips what is not base64: only the canonical encoding of the bytes is accepted,
    // so no character of the envelope can change without the envelope being refused.
    if (buf.length < SEAL_OVERHEAD_BYTES || buf[0] !== VERSION || buf.toString(this.encoding) !== envelope) return { ok: false, why: 'malformed' };
    const kid = buf.subarray(1, 1 + KEY_ID_BYTES);
    if (!kid.equals(this.kid)) return { ok: false, why: 'wrong_key', keyId: kid.toString('hex') };
    const header = buf.subarray(0, HEADER_BYTES);
    const epoch = buf.subarray(1 + KEY_ID_BYTES, HEADER_BYTES);
    const cacheKey = epoch.toString('latin1');
    const cached = this.dataKeys.get(cacheKey);
    const key = cached ?? this.hkdf(Buffer.concat([Buffer.from('data:'), epoch]), 32);
    try {
      const d = createDecipheriv('aes-256-gcm', key, buf.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES));
      d.setAAD(aad(header, context));
      d.setAuthTag(buf.subarray(buf.length - TAG_BYTES));
      const body = d.update(buf.subarray(HEADER_BYTES + NONCE_BYTES, buf.length - TAG_BYTES));
      d.final(); // throws unless the tag authenticates; GCM returns nothing more
      const text = body.toString('utf8');
      if (!cached) this.remember(cacheKey, key);
      return { ok: true, text };
    } catch {
      return { ok: false, why: 'malformed' };
    }
  }

  private newEpoch(): void {
    this.epoch = randomBytes(EPOCH_BYTES);
    this.epochKey = this.hkdf(Buffer.concat([Buffer.from('data:'), this.epoch]), 32);
    this.header = Buffer.concat([Buffer.of(VERSION), this.kid, this.epoch]);
    this.headerText = this.header.toString(this.encoding);
    this.sealed = 0;
    this.remember(this.epoch.toString('latin1'), this.epochKey);
  }

  private hkdf(info: string | Buffer, bytes: number): Buffer {
    return Buffer.from(hkdfSync('sha256', this.ikm, this.salt, info, bytes));
  }

  private remember(epoch: string, key: Buffer): void {
    if (this.dataKeys.size >= EPOCH_CACHE) this.dataKeys.delete(this.dataKeys.keys().next().value as string);
    this.dataKeys.set(epoch, key);
  }
}

function aad(header: Buffer, context: string): Buffer {
  return Buffer.concat([header, Buffer.from(context, 'utf8')]);
}

/** Longest envelope (base64 or base64url) of a plaintext of at most `plainBytes` bytes. */
export function maxEnvelopeChars(plainBytes: number): number {
  return Math.ceil((plainBytes + SEAL_OVERHEAD_BYTES) / 3) * 4;
}
