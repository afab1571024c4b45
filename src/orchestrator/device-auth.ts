// Device tokens (SPEC §2 "HTTP"): `Authorization: Bearer <JWT>` with `sub` (profile id), `acct`
// (account id) and `role`. Optional `name`, `badge`, `precinct` claims become the public profile
// other devices see. Every failure is an HttpError: 401 unauthorized / token_expired, 403 wrong_role.
import { bearerToken, isTokenShaped, JwtError, publicProfile, verifyJwt, type JwtOptions } from '../auth/index.js';
import { isId, type PublicProfile, type Role } from '../protocol/index.js';
import { HttpError } from './errors.js';

export interface DeviceIdentity {
  sub: string;
  acct: string;
  role: Role;
  profile: PublicProfile;
  /** When the token ends, ms since the epoch: tickets carry it and sockets close then. */
  tokenExp: number;
}

export interface DeviceAuthOptions extends JwtOptions {
  /** Clock, ms since the epoch. */
  now?: () => number;
  /** Verified tokens remembered (default 10,000; 0 disables). */
  cacheSize?: number;
}

/**
 * A device re-asks for a socket with the same token (reconnects, replaced sockets), so verified
 * tokens are remembered until their `exp`: a signature check costs far more than the rest of an
 * assignment. Keyed by the whole Authorization header as received (`Bearer <token>`), so a hit
 * needs no parsing at all and a modified token (or header) is never a hit; bounded, oldest first out.
 */
class VerifiedCache {
  private readonly entries = new Map<string, { id: DeviceIdentity; expMs: number }>();
  constructor(private readonly max: number) {}

  get(header: string, now: number): DeviceIdentity | undefined {
    const e = this.entries.get(header);
    if (!e) return undefined;
    if (e.expMs <= now) {
      this.entries.delete(header);
      return undefined;
    }
    return e.id;
  }

  set(header: string, id: DeviceIdentity, expMs: number): void {
    if (this.max <= 0) return;
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(header, { id, expMs });
  }
}

export class DeviceAuth {
  private readonly cache: VerifiedCache;
  /**
   * Verifications running now, by token: a device (or a burst of devices sharing a token) asking
   * again before the first check finished waits for that check instead of starting another.
   */
  private readonly inFlight = new Map<string, Promise<{ id: DeviceIdentity; expMs: number }>>();

  constructor(private readonly options: DeviceAuthOptions) {
    this.cache = new VerifiedCache(options.cacheSize ?? 10_000);
  }

  /** The identity behind an Authorization header, or an HttpError. */
  async verify(authorization: string | undefined): Promise<DeviceIdentity> {
    const { now } = this.options;
    const nowMs = now ? now() : Date.now();
    const hit = typeof authorization === 'string' ? this.cache.get(authorization, nowMs) : undefined;
    if (hit) return hit;
    const token = tokenOf(authorization);
    const header = authorization as string;
    let pending = this.inFlight.get(token);
    if (!pending) {
      pending = this.check(token, nowMs).finally(() => this.inFlight.delete(token));
      this.inFlight.set(token, pending);
    }
    const r = await pending;
    // A check that started earlier may have ended before a caller's clock reading: same rule as the cache.
    if (r.expMs <= nowMs) throw new HttpError('token_expired');
    this.cache.set(header, r.id, r.expMs);
    return r.id;
  }

  /**
   * The identity when the token was verified before (no await, no promise: the common case of an
   * assignment), undefined when it must go through verify(); HttpError for a malformed header or
   * the wrong role, exactly as require() would.
   */
  cached(authorization: string | undefined, role?: Role): DeviceIdentity | undefined {
    const { now } = this.options;
    // A header seen before is a verified token as it was sent: no parsing. Anything else is read
    // (and refused when malformed) exactly as require() would.
    const id = typeof authorization === 'string' ? this.cache.get(authorization, now ? now() : Date.now()) : undefined;
    if (!id) {
      tokenOf(authorization);
      return undefined;
    }
    if (role && id.role !== role) throw new HttpError('wrong_role', `this endpoint is for the \`${role}\` role`);
    return id;
  }

  private async check(token: string, nowMs: number): Promise<{ id: DeviceIdentity; expMs: number }> {
    let payload;
    try {
      payload = await verifyJwt(token, this.options, nowMs);
    } catch (e) {
      if (e instanceof JwtError && e.reason === 'expired') throw new HttpError('token_expired');
      // Bad signature, `alg: none` or another algorithm, malformed, wrong iss/aud, unknown kid:
      // the client learns only that the token is not acceptable.
      throw new HttpError('unauthorized', 'the bearer token is not valid');
    }
    // jose checked `exp` with its default clock tolerance of 0, so this is the moment it ends.
    const expMs = payload.exp * 1000;
    return { id: identityOf(payload, expMs), expMs };
  }

  /** verify() plus the role the endpoint is for. */
  async require(authorization: string | undefined, role?: Role): Promise<DeviceIdentity> {
    const id = await this.verify(authorization);
    if (role && id.role !== role) throw new HttpError('wrong_role', `this endpoint is for the \`${role}\` role`);
    return id;
  }
}

/** The bearer token of an Authorization header, or an HttpError. */
function tokenOf(authorization: string | undefined): string {
  if (typeof authorization !== 'string') throw new HttpError('unauthorized', 'missing `Authorization: Bearer <token>` header');
  const token = bearerToken(authorization);
  if (!isTokenShaped(token)) throw new HttpError('unauthorized', 'the Authorization header must be `Bearer <token>`');
  return token;
}

function identityOf(p: Record<string, unknown>, tokenExp: number): DeviceIdentity {
  if (!isId(p.sub)) throw new HttpError('unauthorized', 'the token `sub` must be a profile id');
  if (!isId(p.acct)) throw new HttpError('unauthorized', 'the token `acct` must be an account id');
  if (p.role !== 'officer' && p.role !== 'citizen') throw new HttpError('unauthorized', 'the token `role` must be `officer` or `citizen`');
  return { sub: p.sub, acct: p.acct, role: p.role, profile: publicProfile(p, p.role), tokenExp };
}
