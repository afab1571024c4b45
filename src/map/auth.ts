// Operator tokens for the operations map: a JWT signed with the device-token key (same issuer and
// audience rules, verified by src/auth/jwt.ts) whose `role` is `operator`. Only the map accepts this
// role; device routes refuse it.
import { bearerToken, verifyJwt, type JwtOptions } from '../auth/index.js';
import { isId } from '../protocol/index.js';

export interface OperatorAuthOptions extends JwtOptions {
  now?: () => number;
}

/** The operator's `sub`, or null for anything that is not a valid, unexpired operator token. */
export async function verifyOperator(token: unknown, o: OperatorAuthOptions): Promise<string | null> {
  if (typeof token !== 'string') return null;
  try {
    const payload = await verifyJwt(token, o, o.now ? o.now() : Date.now());
    return payload.role === 'operator' && isId(payload.sub) ? payload.sub : null;
  } catch {
    return null;
  }
}

/** `Authorization: Bearer <t>` first, else `?token=` (a browser navigating to /map cannot set headers). */
export function tokenOf(authorization: string | undefined, query: unknown): string | undefined {
  const fromHeader = bearerToken(authorization);
  if (fromHeader) return fromHeader;
  const q = query as Record<string, unknown> | null;
  return q && typeof q.token === 'string' ? q.token : undefined;
}
