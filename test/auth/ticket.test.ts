import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ticketSigner, ticketVerifier, TicketReplayGuard, type TicketClaims } from '../../src/auth/index.js';

const claims = (over: Partial<TicketClaims> = {}): TicketClaims => ({
  sub: 'c-1',
  acct: 'acct-c-1',
  role: 'citizen',
  node: 'node-a',
  zip: '10001',
  profile: { name: 'Citizen One' },
  exp: 1_800_000_000_000,
  jti: randomBytes(12).toString('base64url'),
  ...over,
});

describe('socket tickets', () => {
  it('round-trip for short, block-sized and long secrets', () => {
    for (const len of [1, 16, 32, 63, 64, 65, 100, 200]) {
      const secret = randomBytes(len);
      const sign = ticketSigner(secret);
      const verify = ticketVerifier(secret);
      for (let i = 0; i < 20; i++) {
        const c = claims({ sub: `s-${i}-${'x'.repeat(i * 7)}`, exp: 1_800_000_000_000 + i });
        expect(verify(sign(c), 'node-a', 0)).toEqual({ ok: true, claims: c });
      }
    }
  });

  it('handles non-ASCII profiles and bodies far larger than the signer’s initial buffers', () => {
    const secret = randomBytes(32);
    const sign = ticketSigner(secret);
    const verify = ticketVerifier(secret);
    const names = ['Zoë Ångström', '警察官 山田', '🚓🚨 officer', '"quoted" \\ back\nslash', 'x'.repeat(3000), '€'.repeat(2000)];
    for (const name of names) {
      const c = claims({ role: 'officer', profile: { name, badge: '4411', precinct: '14' } });
      const t = sign(c);
      if (t.length <= 2048) expect(verify(t, 'node-a', 0)).toEqual({ ok: true, claims: c });
      // And a short one after a long one: the reused buffers must not leak old bytes.
      const small = claims();
      expect(verify(sign(small), 'node-a', 0)).toEqual({ ok: true, claims: small });
    }
  });

  it('are refused with another secret, after expiry, on another node, and when tampered with', () => {
    const secret = randomBytes(32);
    const c = claims({ exp: 1000 });
    const t = ticketSigner(secret)(c);
    expect(ticketVerifier(randomBytes(32))(t, 'node-a', 0)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(ticketVerifier(secret)(t, 'node-a', 1000)).toEqual({ ok: false, reason: 'expired' });
    expect(ticketVerifier(secret)(t, 'node-b', 0)).toEqual({ ok: false, reason: 'wrong_node' });
    const flipped = (t[0] === 'A' ? 'B' : 'A') + t.slice(1);
    expect(ticketVerifier(secret)(flipped, 'node-a', 0)).toEqual({ ok: false, reason: 'bad_signature' });
    for (const bad of ['', 'x', 'a.b.c', '.', `${'a'.repeat(3000)}.b`]) expect(ticketVerifier(secret)(bad, 'node-a', 0)).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('open one socket each: the replay guard refuses a ticket id seen before, until it expires', () => {
    const guard = new TicketReplayGuard();
    expect(guard.consume('j1', 100, 0)).toBe(true);
    expect(guard.consume('j1', 100, 50)).toBe(false);
    expect(guard.consume('j2', 100, 50)).toBe(true);
    guard.prune(100);
    expect(guard.size).toBe(0);
  });
});
