// JWT verification shared by every bearer of a token: devices at the orchestrator (DeviceAuth) and
// operators at the map. One place decides which algorithms, claims and clocks are accepted, how
// a bearer header is read and what of a token's claims other devices may see.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { errors, jwtVerify, type JWTPayload } from 'jose';
import { MAX_PROFILE_FIELD_LENGTH, MAX_TOKEN_LENGTH, type PublicProfile, type Role } from '../protocol/index.js';
import type { DeviceKeys } from './device-keys.js';

export interface JwtOptions {
  keys: DeviceKeys;
  /** Required `iss`, when set. */
  issuer?: string;
  /** Required `aud`, when set. */
  audience?: string;
}

/** Why a token was refused: `expired` may be told to the client, `invalid` says nothing more. */
export type JwtFailure = 'expired' | 'invalid';

export class JwtError extends Error {
  constructor(readonly reason: JwtFailure) {
    super(reason === 'expired' ? 'the token has expired' : 'the token is not valid');
    this.name = 'JwtError';
  }
}

const TOKEN_CHARS = /^[A-Za-z0-9_\-.]+$/;

/** True for a string that can be a compact JWT at all (charset and length); cheap, before any parsing. */
export function isTokenShaped(token: unknown): token is string {
  return typeof token === 'string' && token.length > 0 && token.length <= MAX_TOKEN_LENGTH && TOKEN_CHARS.test(token);
}

/** The token of an `Authorization: Bearer <token>` header; undefined when there is no such header. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (typeof authorization !== 'string') return undefined;
  const m = /^Bearer +(\S+)$/i.exec(authorization.trim());
  return m ? m[1] : undefined;
}

/**
 * Verifies signature, algorithm, `iss`/`aud` and expiry at `nowMs`; a token must carry `exp` and
 * `sub` (a leaked token must not work forever). Throws JwtError: `alg: none`, another algorithm, a
 * bad signature, a malformed token or an unknown `kid` are all just `invalid`.
 */
export async function verifyJwt(token: string, o: JwtOptions, nowMs: number): Promise<JWTPayload & { exp: number; sub: string }> {
  if (!isTokenShaped(token)) throw new JwtError('invalid');
  if (o.keys.secret && o.keys.algorithms.length === 1 && o.keys.algorithms[0] === 'HS256') return verifyHs256(token, o.keys.secret, o, nowMs);
  try {
    const { payload } = await jwtVerify(token, o.keys.key as Uint8Array, {
      algorithms: o.keys.algorithms,
      issuer: o.issuer,
      audience: o.audience,
      currentDate: new Date(nowMs),
      requiredClaims: ['exp', 'sub'],
    });
    return payload as JWTPayload & { exp: number; sub: string };
  } catch (e) {
    throw new JwtError(e instanceof errors.JWTExpired ? 'expired' : 'invalid');
  }
}

type Verified = JWTPayload & { exp: number; sub: string };

/**
 * HS256 on node:crypto, synchronously: the same checks as jose's jwtVerify with the options above
 * (a test holds the two to the same verdicts), at a tenth of its CPU. jose goes through WebCrypto,
 * an async job per token, which was a fifth of the server's CPU in a connect storm where every
 * device brings a token not seen before. The signature must be the canonical base64url of the
 * HMAC, `sub` a string, and a header with `crit` is refused (no extension is understood): the only
 * places where it is stricter than jose.
 */
function verifyHs256(token: string, secret: Uint8Array, o: JwtOptions, nowMs: number): Verified {
  const parts = token.split('.');
  if (parts.length !== 3) throw new JwtError('invalid');
  const [h, p, sig] = parts;
  const header = jsonObject(h);
  if (!header || header.alg !== 'HS256' || header.crit !== undefined) throw new JwtError('invalid');
  const expected = createHmac('sha256', secret).update(`${h}.${p}`).digest();
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected) || given.toString('base64url') !== sig) throw new JwtError('invalid');
  const c = jsonObject(p);
  if (!c) throw new JwtError('invalid');
  const now = Math.floor(nowMs / 1000);
  for (const k of ['iat', 'nbf', 'exp'] as const) if (c[k] !== undefined && typeof c[k] !== 'number') throw new JwtError('invalid');
  if (typeof c.sub !== 'string' || typeof c.exp !== 'number') throw new JwtError('invalid');
  if (o.issuer !== undefined && c.iss !== o.issuer) throw new JwtError('invalid');
  if (o.audience !== undefined) {
    const aud = typeof c.aud === 'string' ? [c.aud] : Array.isArray(c.aud) ? c.aud : [];
    if (!aud.includes(o.audience)) throw new JwtError('invalid');
  }
  if (typeof c.nbf === 'number' && c.nbf > now) throw new JwtError('invalid');
  if (c.exp <= now) throw new JwtError('expired');
  return c as Verified;
}

/** A base64url segment holding a JSON object, or null. */
function jsonObject(segment: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * What other devices may see of a token's claims: `name` for everyone, `badge` and `precinct` for
 * officers only, each a non-empty string cut to MAX_PROFILE_FIELD_LENGTH. Nothing else ever passes.
 */
export function publicProfile(claims: Record<string, unknown>, role: Role): PublicProfile {
  const out: PublicProfile = {};
  const str = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v.slice(0, MAX_PROFILE_FIELD_LENGTH) : undefined);
  const name = str(claims.name);
  if (name !== undefined) out.name = name;
  // Badge and precinct are an officer's; a citizen token carrying them does not get to show them.
  if (role === 'officer') {
    const badge = str(claims.badge);
    const precinct = str(claims.precinct);
    if (badge !== undefined) out.badge = badge;
    if (precinct !== undefined) out.precinct = precinct;
  }
  return out;
}
