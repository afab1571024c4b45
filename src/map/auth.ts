// Operator tokens for the operations map: a JWT signed with the device-token key (same issuer and
// audience rules) whose `role` is `operator`. Only the map accepts this role; device routes refuse it.
import { jwtVerify } from 'jose';
import type { DeviceKeys } from '../orchestrator/index.js';

export interface OperatorAuthOptions {
  keys: DeviceKeys;
  issuer?: string;
  audience?: string;
  now?: () => number;
}

const MAX_TOKEN_LENGTH = 8192;

/** The operator's `sub`, or null for anything that is not a valid, unexpired operator token. */
export async function verifyOperator(token: unknown, o: OperatorAuthOptions): Promise<string | null> {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9_\-.]+$/.test(token)) return null;
  try {
    const { payload } = await jwtVerify(token, o.keys.key as Uint8Array, {
      algorithms: o.keys.algorithms,
      issuer: o.issuer,
      audience: o.audience,
      currentDate: new Date(o.now ? o.now() : Date.now()),
      requiredClaims: ['exp', 'sub'],
    });
    if (payload.role !== 'operator' || typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 128) return null;
    return payload.sub;
  } catch {
    return null;
  }
}

/** `Authorization: Bearer <t>` first, else `?token=` (a browser navigating to /map cannot set headers). */
export function tokenOf(authorization: string | undefined, query: unknown): string | undefined {
  const m = typeof authorization === 'string' ? /^Bearer +(\S+)$/i.exec(authorization.trim()) : null;
  if (m) return m[1];
  const q = query as Record<string, unknown> | null;
  return q && typeof q.token === 'string' ? q.token : undefined;
}
