// JWT verification shared by every bearer of a token: devices at the orchestrator (DeviceAuth) and
// operators at the map. One place decides which algorithms, claims and clocks are accepted, how
// a bearer header is read and what of a token's claims other devices may see.
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
