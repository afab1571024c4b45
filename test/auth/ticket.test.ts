import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Sealer, ticketSigner, ticketVerifier, TicketReplayGuard, type TicketClaims } from '../../src/auth/index.js';

const EPOCH = 1_767_225_600_000;
const claims = (over: Partial<TicketClaims> = {}): TicketClaims => ({
  sub: 'c-1',
  acct: 'acct-c-1',
  role: 'citizen',
  node: 'node-a',
  epoch: EPOCH,
  zip: '10001',
  profile: { name: 'Citizen One' },
  iat: 1_700_000_000_000,
  exp: 1_800_000_000_000,
  tokenExp: 1_800_000_000_000,
  lat: 40.712345678,
  lng: -74.006789012,
  jti: randomBytes(12).toString('base64url'),
  ...over,
});

describe('socket tickets', () => {
  it('round-trip for short, block-sized and long secrets, each with its own id', () => {
    for (const len of [1, 16, 32, 63, 64, 65, 100, 200]) {
      const secret = randomBytes(len);
      const sign = ticketSigner(secret);
      const verify = ticketVerifier(secret);
      const ids = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const c = claims({ sub: `s-${i}-${'x'.repeat(i * 6)}`, exp: 1_800_000_000_000 + i });
        const r = verify(sign(c), 'node-a', EPOCH, 0);
        expect(r).toEqual({ ok: true, claims: { ...c, jti: expect.any(String) } });
        if (r.ok) ids.add(r.claims.jti);
      }
      expect(ids.size).toBe(20);
    }
  });

  it('are opaque: nothing of the claims is readable in the ticket, and the same claims never give the same ticket', () => {
    const sign = ticketSigner(randomBytes(32));
    // Every probe is ≥ 5 characters: a random ticket of ~300 base64 characters contains a given
    // 2-character string about 7 % of the time, which made this test flaky with 'Zo' and 'c-1'.
    const c = claims({ sub: 'subject-c-0001', acct: 'account-c-0001', profile: { name: 'Zoë Ångström' } });
    const a = sign(c);
    expect(sign(c)).not.toBe(a);
    const decoded = Buffer.from(a, 'base64url').toString('latin1');
    for (const s of ['subject-c-0001', 'account-c-0001', 'citizen', 'node-a', '10001', 'ngstr', '40.71', '74.00', 'tokenExp']) {
      expect(a).not.toContain(s);
      expect(decoded).not.toContain(s);
    }
    expect(a).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('carry non-ASCII and long profiles', () => {
    const secret = randomBytes(32);
    const sign = ticketSigner(secret);
    const verify = ticketVerifier(secret);
    for (const name of ['Zoë Ångström', '警察官 山田', '🚓🚨 officer', '"quoted" \\ back\nslash', '€'.repeat(64)]) {
      const c = claims({ role: 'officer', profile: { name, badge: '4411', precinct: '14' } });
      expect(verify(sign(c), 'node-a', EPOCH, 0)).toMatchObject({ ok: true, claims: c });
    }
  });

  it('are refused with another secret, expired, for an expired token, on another node or run, and when changed', () => {
    const secret = randomBytes(32);
    const verify = ticketVerifier(secret);
    const t = ticketSigner(secret)(claims({ exp: 1000, tokenExp: 2000 }));
    expect(ticketVerifier(randomBytes(32))(t, 'node-a', EPOCH, 0)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verify(t, 'node-a', EPOCH, 1000)).toEqual({ ok: false, reason: 'expired' });
    const tokenEnded = ticketSigner(secret)(claims({ exp: 5000, tokenExp: 2000 }));
    expect(verify(tokenEnded, 'node-a', EPOCH, 2000)).toEqual({ ok: false, reason: 'expired' });
    expect(verify(t, 'node-b', EPOCH, 0)).toEqual({ ok: false, reason: 'wrong_node' });
    expect(verify(t, 'node-a', EPOCH + 1, 0)).toEqual({ ok: false, reason: 'node_restarted' });
    const raw = Buffer.from(t, 'base64url');
    for (const i of [0, 1, 12, 13, raw.length - 17, raw.length - 1]) {
      const changed = Buffer.from(raw);
      changed[i] ^= 0x40;
      expect(verify(changed.toString('base64url'), 'node-a', EPOCH, 0).ok, `byte ${i}`).toBe(false);
    }
  });

  it('refuse hostile strings as malformed, before any decryption', () => {
    const verify = ticketVerifier(randomBytes(32));
    for (const bad of ['', 'x', 'a.b', 'a+b/c=', '%00', 'AAAA', 'A'.repeat(4097), 42 as unknown as string, null as unknown as string]) {
      expect(verify(bad, 'node-a', EPOCH, 0)).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('refuse claims a leaked secret could forge but no orchestrator writes', () => {
    const secret = randomBytes(32);
    const verify = ticketVerifier(secret);
    const sign = ticketSigner(secret);
    for (const over of [
      { sub: '' },
      { sub: 'x'.repeat(129) },
      { role: 'admin' },
      { lat: 91 },
      { lng: Number.NaN },
      { zip: 'z'.repeat(17) },
      { profile: null },
      { tokenExp: '1' },
    ]) {
      expect(verify(sign(claims(over as Partial<TicketClaims>)), 'node-a', EPOCH, 0), JSON.stringify(over)).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('refuse any sealed plaintext but the claims array a leaked secret could write: an object, another format, short or long arrays', () => {
    const secret = randomBytes(32);
    const verify = ticketVerifier(secret);
    // What a holder of TICKET_SECRET could seal by hand (the envelope of ticket.ts: its purpose, encoding and context).
    const seal = new Sealer(secret, { purpose: 'socket-ticket', encoding: 'base64url', minBytes: 1 }).bind('socket-ticket');
    const good = ticketSigner(secret)(claims());
    const opened = verify(good, 'node-a', EPOCH, 0);
    expect(opened.ok).toBe(true);
    const c = claims();
    const fields = [2, c.sub, c.acct, c.role, c.node, c.epoch, c.zip, c.profile, c.iat, c.exp, c.tokenExp, c.lat, c.lng, c.jti];
    expect(verify(seal(JSON.stringify(fields)), 'node-a', EPOCH, 0)).toMatchObject({ ok: true });
    for (const forged of [
      JSON.stringify(c), // the earlier object format
      JSON.stringify([1, ...fields.slice(1)]),
      JSON.stringify(fields.slice(0, -1)),
      JSON.stringify([...fields, 'extra']),
      JSON.stringify([2, c.acct, c.sub, 'officer', ...fields.slice(4)].slice(0, 13)),
      JSON.stringify({ 0: 2, length: 14 }),
      '[2,',
      'null',
      '"x"',
    ]) {
      expect(verify(seal(forged), 'node-a', EPOCH, 0), forged.slice(0, 60)).toEqual({ ok: false, reason: 'malformed' });
    }
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

describe('TICKET_SECRET', () => {
  it('must be at least 16 bytes; the message names the setting, never the value', async () => {
    const { loadConfig, ConfigError } = await import('../../src/config.js');
    let err: unknown;
    try {
      loadConfig({ TICKET_SECRET: 'short-secret' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('TICKET_SECRET must be at least 16 bytes');
    expect((err as Error).message).not.toContain('short-secret');
    expect(loadConfig({ TICKET_SECRET: 'x'.repeat(16) }).TICKET_SECRET).toBe('x'.repeat(16));
  });
});
