import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signTicket, verifyTicket, type TicketClaims } from '../../src/auth/ticket.js';
import { ticketSigner } from '../../src/orchestrator/ticket-signer.js';

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

describe('ticketSigner', () => {
  it('signs exactly what signTicket signs, for short, block-sized and long secrets', () => {
    for (const len of [1, 16, 32, 63, 64, 65, 100, 200]) {
      const secret = randomBytes(len);
      const sign = ticketSigner(secret);
      for (let i = 0; i < 20; i++) {
        const c = claims({ sub: `s-${i}-${'x'.repeat(i * 7)}`, exp: 1_800_000_000_000 + i });
        expect(sign(c)).toBe(signTicket(secret, c));
      }
    }
  });

  it('handles non-ASCII profiles and bodies far larger than its initial buffers', () => {
    const secret = randomBytes(32);
    const sign = ticketSigner(secret);
    const names = ['Zoë Ångström', '警察官 山田', '🚓🚨 officer', '"quoted" \\ back\nslash', 'x'.repeat(3000), '€'.repeat(2000)];
    for (const name of names) {
      const c = claims({ role: 'officer', profile: { name, badge: '4411', precinct: '14' } });
      const t = sign(c);
      expect(t).toBe(signTicket(secret, c));
      // And a short one after a long one: the reused buffers must not leak old bytes.
      const small = claims();
      expect(sign(small)).toBe(signTicket(secret, small));
    }
  });

  it('makes tickets verifyTicket accepts, and only with the same secret', () => {
    const secret = randomBytes(32);
    const c = claims();
    const t = ticketSigner(secret)(c);
    expect(verifyTicket(secret, t, 'node-a', 0)).toEqual({ ok: true, claims: c });
    expect(verifyTicket(randomBytes(32), t, 'node-a', 0)).toEqual({ ok: false, reason: 'bad_signature' });
  });
});
