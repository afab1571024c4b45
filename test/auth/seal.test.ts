// Sealing of replicated positions (src/auth/seal.ts, wire.ts): round trips, and every way
// an envelope can be wrong is refused without throwing: any byte tampered, another key (told
// apart as `wrong_key`), another context, truncated, garbage, huge. Plus REPLICATION_KEY's
// validation at start.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { Sealer, SEAL_OVERHEAD_BYTES } from '../../src/auth/index.js';
import { isRefused, MAX_SEALED_CHARS, ReplicationWire, snapshotField, type CellBatch } from '../../src/distributed/wire.js';

const KEY = 'seal-test-replication-key-0123456789abcdef';
const OTHER = 'another-replication-key-0123456789abcdefgh';
const CTX = 'c:beacon:cell:450:abc';

describe('Sealer', () => {
  const s = new Sealer(KEY);

  it('round-trips any text for the same context, under any instance holding the same key', () => {
    const other = new Sealer(KEY);
    for (const text of ['', 'x', '{"n":"p1","v":1,"u":[["o1",40.712345678,-74.006789123,{"name":"Ofc. Díaz 👮"}]],"r":[]}', 'é'.repeat(100_000)]) {
      const env = s.seal(text, CTX);
      expect(s.open(env, CTX)).toEqual({ ok: true, text });
      expect(other.open(env, CTX)).toEqual({ ok: true, text });
    }
  });

  it('never repeats an envelope (random nonce) and shows nothing of the plaintext', () => {
    const text = '[40.712345678,-74.006789123,{"name":"Officer Diaz"},1]';
    const a = s.seal(text, CTX);
    const b = s.seal(text, CTX);
    expect(a).not.toBe(b);
    for (const env of [a, b]) {
      expect(env).toMatch(/^[A-Za-z0-9+/]+=*$/);
      expect(env).not.toContain('40.71');
      expect(Buffer.from(env, 'base64').toString('latin1')).not.toContain('Diaz');
      expect(Buffer.from(env, 'base64').length).toBe(Buffer.byteLength(text) + SEAL_OVERHEAD_BYTES);
    }
  });

  it('refuses an envelope with any single byte changed', () => {
    const env = s.seal('{"lat":40.712345678,"lng":-74.006789123}', CTX);
    const bytes = Buffer.from(env, 'base64');
    let wrongKey = 0;
    for (let i = 0; i < bytes.length; i++) {
      for (const flip of [0x01, 0x80, 0xff]) {
        const t = Buffer.from(bytes);
        t[i] ^= flip;
        const r = s.open(t.toString('base64'), CTX);
        expect(r.ok, `byte ${i} ^ ${flip}`).toBe(false);
        // Bytes 1–4 are the key id: a changed id reads as "another key", anything else as malformed.
        if (!r.ok && r.why === 'wrong_key') {
          expect(i >= 1 && i <= 4, `byte ${i}`).toBe(true);
          wrongKey++;
        } else if (!r.ok) expect(r.why).toBe('malformed');
      }
    }
    expect(wrongKey).toBe(12);
  });

  it('refuses an envelope with any base64 character changed, added or removed', () => {
    const env = s.seal('[40.712345678,-74.006789123,{},1]', CTX);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=!. \n';
    for (let i = 0; i < env.length; i++) {
      for (const c of alphabet) {
        if (c === env[i]) continue;
        const t = env.slice(0, i) + c + env.slice(i + 1);
        expect(s.open(t, CTX).ok, `char ${i} → ${JSON.stringify(c)}`).toBe(false);
      }
      expect(s.open(env.slice(0, i) + env.slice(i + 1), CTX).ok, `char ${i} removed`).toBe(false);
    }
    for (const extra of ['=', 'A', '\n', ' ', 'AAAA']) expect(s.open(env + extra, CTX).ok, JSON.stringify(extra)).toBe(false);
  });

  it('tells "sealed under another key" from corrupted, and names the other key id', () => {
    const them = new Sealer(OTHER);
    expect(them.keyId).not.toBe(s.keyId);
    expect(s.keyId).toMatch(/^[0-9a-f]{8}$/);
    const env = them.seal('[40.712345678,-74.006789123,{},1]', CTX);
    expect(s.open(env, CTX)).toEqual({ ok: false, why: 'wrong_key', keyId: them.keyId });
    expect(them.open(s.seal('x', CTX), CTX)).toEqual({ ok: false, why: 'wrong_key', keyId: s.keyId });
  });

  it('refuses an envelope opened for another context (another channel, key or field)', () => {
    const env = s.seal('[1,2,{},3]', 's:beacon:cellsnap:{450:aa}\n["p1","o1"]');
    expect(s.open(env, 's:beacon:cellsnap:{450:aa}\n["p1","o2"]')).toEqual({ ok: false, why: 'malformed' });
    expect(s.open(env, 's:beacon:cellsnap:{450:ab}\n["p1","o1"]')).toEqual({ ok: false, why: 'malformed' });
    expect(s.open(env, CTX)).toEqual({ ok: false, why: 'malformed' });
  });

  it('refuses every truncation', () => {
    const env = s.seal('[40.712345678,-74.006789123,{},1]', CTX);
    const bytes = Buffer.from(env, 'base64');
    for (let n = 0; n < bytes.length; n++) expect(s.open(bytes.subarray(0, n).toString('base64'), CTX).ok, `${n} bytes`).toBe(false);
    for (let n = 0; n < env.length; n++) expect(s.open(env.slice(0, n), CTX).ok, `${n} chars`).toBe(false);
  });

  it('refuses garbage and wrong types without throwing', () => {
    const garbage: unknown[] = [
      '',
      'garbage',
      '{"n":"p1","v":1,"u":[],"r":[]}',
      '[40.7,-74,{},1]',
      'AAAA',
      'A'.repeat(200),
      Buffer.alloc(SEAL_OVERHEAD_BYTES).toString('base64'),
      Buffer.concat([Buffer.of(2), Buffer.alloc(80)]).toString('base64'),
      Buffer.from(s.seal('x', CTX), 'base64').toString('base64url'),
      undefined,
      null,
      42,
      NaN,
      {},
      [],
      Buffer.from('x'),
    ];
    for (const g of garbage) expect(s.open(g, CTX), String(g).slice(0, 40)).toEqual({ ok: false, why: 'malformed' });
  });

  it('refuses huge input before decoding it', () => {
    const huge = 'A'.repeat(MAX_SEALED_CHARS + 4);
    expect(s.open(huge, CTX, MAX_SEALED_CHARS)).toEqual({ ok: false, why: 'malformed' });
    const bigButSealed = s.seal('x'.repeat(MAX_SEALED_CHARS), CTX);
    expect(s.open(bigButSealed, CTX, MAX_SEALED_CHARS)).toEqual({ ok: false, why: 'malformed' });
    expect(s.open(bigButSealed, CTX).ok).toBe(true);
  });

  it('moves to a new data key every epoch; readers follow', () => {
    const w = new Sealer(KEY, { epochMessages: 3 });
    const r = new Sealer(KEY);
    const epochs = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const env = w.seal(`m${i}`, CTX);
      epochs.add(Buffer.from(env, 'base64').subarray(5, 21).toString('hex'));
      expect(r.open(env, CTX)).toEqual({ ok: true, text: `m${i}` });
    }
    expect(epochs.size).toBe(4);
  });

  it('bind(): the same envelopes as seal() for its one context, across epochs; bound to that context', () => {
    const w = new Sealer(KEY, { epochMessages: 3 });
    const sealCtx = w.bind(CTX);
    const r = new Sealer(KEY);
    const epochs = new Set<string>();
    for (let i = 0; i < 10; i++) {
      // Interleaved with seal() for another context: the epoch moves under both.
      const env = sealCtx(`m${i}`);
      w.seal(`other${i}`, 'c:elsewhere');
      epochs.add(Buffer.from(env, 'base64').subarray(5, 21).toString('hex'));
      expect(r.open(env, CTX)).toEqual({ ok: true, text: `m${i}` });
      expect(r.open(env, 'c:elsewhere')).toEqual({ ok: false, why: 'malformed' });
    }
    expect(epochs.size).toBe(7);
  });

  it('hashes names with the key: stable per key, different across keys, nothing of the cell left', () => {
    const a = new Sealer(KEY).name('450:2867:2362');
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(new Sealer(KEY).name('450:2867:2362')).toBe(a);
    expect(new Sealer(OTHER).name('450:2867:2362')).not.toBe(a);
    expect(s.name('450:2867:2363')).not.toBe(a);
  });

  it('refuses a key shorter than 32 bytes', () => {
    expect(() => new Sealer('short')).toThrow(RangeError);
    expect(() => new Sealer('k'.repeat(31))).toThrow(RangeError);
    expect(() => new Sealer('k'.repeat(32))).not.toThrow();
  });
});

describe('ReplicationWire', () => {
  const wire = new ReplicationWire(new Sealer(KEY), 'beacon', '450');
  const batch: CellBatch = { n: 'p1', v: 1_700_000_000_000_000, u: [['o1', 40.712345678, -74.006789123, { name: 'Ofc. Diaz', badge: '4411' }]], r: ['o2'] };

  it('names snapshot keys by a keyed hash of the cell; channels stay plain, so every key meets on them', () => {
    expect(wire.snapshotKey('2867:2362')).toMatch(/^beacon:cellsnap:\{450:[0-9a-f]{32}\}$/);
    expect(wire.snapshotKey('2867:2362')).not.toContain('2867');
    expect(wire.snapshotKey('2867:2362')).not.toContain('2362');
    expect(wire.snapshotKey('2867:2362')).not.toBe(wire.snapshotKey('2867:2363'));
    expect(new ReplicationWire(new Sealer(OTHER), 'beacon', '450').snapshotKey('2867:2362')).not.toBe(wire.snapshotKey('2867:2362'));
    expect(wire.channel('2867:2362')).toBe('beacon:cell:450:2867:2362');
  });

  it('round-trips a batch on its channel only', () => {
    const ch = wire.channel('1:1');
    const raw = wire.sealBatch(ch, batch);
    expect(raw).not.toContain('40.71');
    expect(wire.openBatch(ch, raw)).toEqual(batch);
    expect(wire.openBatch(wire.channel('1:2'), raw)).toEqual({ why: 'malformed' });
    // Plaintext batches (an old node) are refused.
    expect(wire.openBatch(ch, JSON.stringify(batch))).toEqual({ why: 'malformed' });
  });

  it('round-trips a snapshot entry under its key and field only', () => {
    const key = wire.snapshotKey('1:1');
    const field = snapshotField('p1', 'o1');
    const value = wire.sealSnapshotValue(key, field, 40.712345678, -74.006789123, { name: 'x' }, 5);
    expect(wire.openSnapshotEntry(key, field, value)).toEqual({ node: 'p1', version: 5, upsert: ['o1', 40.712345678, -74.006789123, { name: 'x' }] });
    expect(isRefused(wire.openSnapshotEntry(key, snapshotField('p1', 'o9'), value) as object)).toBe(true);
    expect(isRefused(wire.openSnapshotEntry(wire.snapshotKey('1:2'), field, value) as object)).toBe(true);
    expect(wire.openSnapshotEntry(key, field, '[40.7,-74,{},5]')).toEqual({ why: 'malformed' });
  });

  it("tells its own batches (Redis' echo) from every other node's, also across epochs", () => {
    const ch = wire.channel('1:1');
    const mine = new ReplicationWire(new Sealer(KEY, { epochMessages: 2 }), 'beacon', '450');
    const sameKeyOtherNode = new ReplicationWire(new Sealer(KEY), 'beacon', '450');
    const otherKey = new ReplicationWire(new Sealer(OTHER), 'beacon', '450');
    for (let i = 0; i < 5; i++) {
      // The sender's newest envelope is always its own, whatever epoch it is in.
      expect(mine.isOwn(mine.sealBatch(ch, batch))).toBe(true);
      expect(mine.isOwn(sameKeyOtherNode.sealBatch(ch, batch))).toBe(false);
      expect(sameKeyOtherNode.isOwn(mine.sealBatch(ch, batch))).toBe(false);
      expect(mine.isOwn(otherKey.sealBatch(ch, batch))).toBe(false);
    }
    for (const junk of ['', 'x', JSON.stringify(batch), 42, null, undefined]) expect(mine.isOwn(junk)).toBe(false);
  });

  it('refuses a sealed batch whose content is invalid, and tells a wrong key apart', () => {
    const ch = wire.channel('1:1');
    expect(wire.openBatch(ch, wire.sealBatch(ch, { ...batch, u: [['o1', 999, 0, {}]] }))).toEqual({ why: 'malformed' });
    expect(wire.openBatch(ch, wire.sealer.seal('not json', `c:${ch}`))).toEqual({ why: 'malformed' });
    const theirs = new ReplicationWire(new Sealer(OTHER), 'beacon', '450');
    expect(theirs.channel('1:1')).toBe(ch);
    expect(wire.openBatch(ch, theirs.sealBatch(ch, batch))).toEqual({ why: 'wrong_key', keyId: theirs.sealer.keyId });
  });
});

describe('REPLICATION_KEY', () => {
  const base = { REDIS_URL: 'redis://127.0.0.1:6379', TICKET_SECRET: 't'.repeat(40), JWT_SECRET: 'j'.repeat(40) };
  const problems = (env: Record<string, string>): string => {
    try {
      loadConfig(env);
      return '';
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as Error).message;
    }
  };

  it('is required in distributed mode, at least 32 bytes, and not the ticket secret; the message never echoes it', () => {
    expect(problems(base)).toContain('REPLICATION_KEY is required with REDIS_URL');
    const short = 'tooshort-secret-value';
    const m = problems({ ...base, REPLICATION_KEY: short });
    expect(m).toContain('REPLICATION_KEY must be at least 32 bytes');
    expect(m).not.toContain(short);
    expect(problems({ ...base, REPLICATION_KEY: 't'.repeat(40) })).toContain('REPLICATION_KEY must differ from TICKET_SECRET');
    expect(problems({ ...base, REPLICATION_KEY: 'r'.repeat(32) })).toBe('');
    expect(loadConfig({ ...base, REPLICATION_KEY: ' ' + 'r'.repeat(32) + ' ' }).REPLICATION_KEY).toBe('r'.repeat(32));
  });

  it('is optional in embedded mode, but checked when given', () => {
    expect(problems({})).toBe('');
    expect(problems({ REPLICATION_KEY: 'short' })).toContain('at least 32 bytes');
  });
});
