// The assignment hot path's shortcuts (device-auth cache and in-flight sharing, the lazy request
// logger) must behave exactly like the plain versions.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { DeviceAuth, HttpError } from '../../src/orchestrator/index.js';
import { mintDeviceToken, type DeviceKeys } from '../../src/auth/index.js';
import { lazyChildLoggerFactory } from '../../src/orchestrator/request-hooks.js';

const secret = new TextEncoder().encode('test-secret-of-at-least-thirty-two-bytes!');

/** HS256 keys whose key lookup counts the signature checks jose runs. */
function countingKeys(): { keys: DeviceKeys; checks: () => number } {
  let n = 0;
  const keys: DeviceKeys = {
    source: 'JWT_SECRET',
    algorithms: ['HS256'],
    key: async () => {
      n++;
      return secret;
    },
  };
  return { keys, checks: () => n };
}

describe('DeviceAuth hot path', () => {
  it('verifies a burst of concurrent requests with one token once, and answers all of them', async () => {
    const { keys, checks } = countingKeys();
    const auth = new DeviceAuth({ keys });
    const token = await mintDeviceToken(secret, { role: 'citizen', sub: 'c-1' });
    const ids = await Promise.all(Array.from({ length: 25 }, () => auth.require(`Bearer ${token}`, 'citizen')));
    expect(checks()).toBe(1);
    for (const id of ids) expect(id).toMatchObject({ sub: 'c-1', acct: 'acct-c-1', role: 'citizen' });
    // Later requests hit the cache.
    await auth.require(`Bearer ${token}`, 'citizen');
    expect(checks()).toBe(1);
  });

  it('fails every caller of a shared check with the same error, and checks again afterwards', async () => {
    const { keys, checks } = countingKeys();
    const auth = new DeviceAuth({ keys });
    const token = `${(await mintDeviceToken(secret, { role: 'citizen', sub: 'c-1' })).slice(0, -2)}xx`;
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => auth.require(`Bearer ${token}`)));
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(HttpError);
      expect((r as PromiseRejectedResult).reason.code).toBe('unauthorized');
    }
    expect(checks()).toBe(1);
    await expect(auth.require(`Bearer ${token}`)).rejects.toMatchObject({ code: 'unauthorized' });
    expect(checks()).toBe(2);
  });

  it('cached(): undefined until verified, then the identity; malformed headers and the wrong role throw as require() does', async () => {
    const { keys } = countingKeys();
    const auth = new DeviceAuth({ keys });
    const token = await mintDeviceToken(secret, { role: 'officer', sub: 'o-1', profile: { badge: '12' } });
    expect(auth.cached(`Bearer ${token}`, 'officer')).toBeUndefined();
    await auth.require(`Bearer ${token}`, 'officer');
    expect(auth.cached(`Bearer ${token}`, 'officer')).toMatchObject({ sub: 'o-1', role: 'officer', profile: { badge: '12' } });
    expect(auth.cached(`Bearer ${token}`)).toMatchObject({ sub: 'o-1' });
    expect(() => auth.cached(`Bearer ${token}`, 'citizen')).toThrow(expect.objectContaining({ code: 'wrong_role' }));
    await expect(auth.require(`Bearer ${token}`, 'citizen')).rejects.toMatchObject({ code: 'wrong_role' });
    for (const bad of [undefined, '', 'Basic x', `Bearer ${'a'.repeat(9000)}`, 'Bearer {x}']) {
      expect(() => auth.cached(bad)).toThrow(expect.objectContaining({ code: 'unauthorized' }));
    }
  });

  it('cached(): keyed by the header as sent; another spelling of the same token is checked once more, a changed one is refused', async () => {
    const { keys, checks } = countingKeys();
    const auth = new DeviceAuth({ keys });
    const token = await mintDeviceToken(secret, { role: 'citizen', sub: 'c-1' });
    await auth.require(`Bearer ${token}`);
    expect(checks()).toBe(1);
    expect(auth.cached(`bearer  ${token}`)).toBeUndefined();
    await expect(auth.require(`bearer  ${token}`)).resolves.toMatchObject({ sub: 'c-1' });
    expect(checks()).toBe(2);
    expect(auth.cached(`bearer  ${token}`)).toMatchObject({ sub: 'c-1' });
    // The signature's first character, not its last: the last one of an HS256 signature carries 2
    // padding bits that decoders ignore, so A→B there left a valid token (a flaky test).
    const at = token.lastIndexOf('.') + 1;
    const changed = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
    expect(auth.cached(`Bearer ${changed}`)).toBeUndefined();
    await expect(auth.require(`Bearer ${changed}`)).rejects.toMatchObject({ code: 'unauthorized' });
    expect(auth.cached(`Bearer ${changed}`)).toBeUndefined();
  });

  it('cached(): an entry past the token exp is gone', async () => {
    const { keys } = countingKeys();
    let now = Date.now();
    const auth = new DeviceAuth({ keys, now: () => now });
    const token = await mintDeviceToken(secret, { role: 'citizen', sub: 'c-1', ttlS: 60 });
    await auth.require(`Bearer ${token}`);
    expect(auth.cached(`Bearer ${token}`)).toBeDefined();
    now += 61_000;
    expect(auth.cached(`Bearer ${token}`)).toBeUndefined();
    await expect(auth.require(`Bearer ${token}`)).rejects.toMatchObject({ code: 'token_expired' });
  });
});

describe('lazy request logger', () => {
  function capture(level: string) {
    const lines: Record<string, unknown>[] = [];
    const out = new Writable({
      write(chunk, _enc, cb) {
        for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
        cb();
      },
    });
    return { logger: pino({ level, base: { pid: 1 } }, out), lines };
  }

  it('writes the same lines as a pino child, bindings included', async () => {
    const { logger, lines } = capture('info');
    const lazy = lazyChildLoggerFactory(logger, { reqId: 'req-7' }, {});
    const real = logger.child({ reqId: 'req-7' });
    lazy.info({ a: 1 }, 'hello');
    real.info({ a: 1 }, 'hello');
    lazy.warn('plain');
    lazy.child({ x: 2 }).error('nested');
    lazy.debug('dropped');
    await new Promise((r) => setImmediate(r));
    const strip = (l: Record<string, unknown>) => ({ ...l, time: 0 });
    expect(strip(lines[0])).toEqual(strip(lines[1]));
    expect(lines[0]).toMatchObject({ reqId: 'req-7', a: 1, msg: 'hello', level: 30 });
    expect(lines[2]).toMatchObject({ reqId: 'req-7', msg: 'plain', level: 40 });
    expect(lines[3]).toMatchObject({ reqId: 'req-7', x: 2, msg: 'nested', level: 50 });
    expect(lines).toHaveLength(4);
    expect(lazy.level).toBe('info');
  });

  it('makes no pino child for lines below the level', () => {
    const { logger } = capture('warn');
    let made = 0;
    const counting = Object.assign(Object.create(logger), {
      child: (...a: Parameters<typeof logger.child>) => {
        made++;
        return logger.child(...a);
      },
    });
    const lazy = lazyChildLoggerFactory(counting, { reqId: 'r' }, {});
    lazy.debug('x');
    lazy.info('y');
    lazy.trace('z');
    expect(made).toBe(0);
    lazy.error('boom');
    lazy.warn('again');
    expect(made).toBe(1);
  });
});
