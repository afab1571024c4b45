// Device tokens for simulated devices, signed HS256 the way an identity provider would: `sub`,
// `acct`, `role`, and the public profile claims (`name`, `badge`, `precinct`).
import { SignJWT } from 'jose';
import type { Role } from '../src/protocol/index.js';

export async function mintToken(secret: Uint8Array, role: Role, sub: string, ttlS = 7200): Promise<string> {
  const profile = role === 'officer' ? { name: `Officer ${sub}`, badge: sub.slice(-6), precinct: '1' } : { name: `Citizen ${sub}` };
  return new SignJWT({ acct: `acct-${sub}`, role, ...profile })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(`${ttlS}s`)
    .sign(secret);
}
