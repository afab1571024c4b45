// Device-token verification: the HS256 path on node:crypto gives the same verdict as jose's
// jwtVerify (the path for every other key) on valid, expired and hostile tokens alike.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { JwtError, resolveDeviceKeys, verifyJwt, type DeviceKeys, type JwtOptions } from '../../src/auth/index.js';

const SECRET = 'jwt-test-secret-0123456789abcdef';
const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const mac = (data: string, secret = SECRET, alg = 'sha256'): string => createHmac(alg, secret).update(data).digest('base64url');
const sign = (header: unknown, payload: unknown, secret = SECRET): string => {
  const body = `${b64(header)}.${b64(payload)}`;
  return `${body}.${mac(body, secret)}`;
};

const NOW = 1_800_000_000_000;
const now = NOW / 1000;
const H = { alg: 'HS256', typ: 'JWT' };
const claims = { sub: 'c-1', acct: 'a-1', role: 'citizen', iat: now - 10, exp: now + 600 };

function cases(): [string, string][] {
  const ok = sign(H, claims);
  const [h, p, s] = ok.split('.');
  const hs384Body = `${b64({ alg: 'HS384' })}.${p}`;
  // The last base64url character of a 32-byte MAC carries 2 unused bits: flip one for a non-canonical spelling.
  const last = s[s.length - 1];
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const nonCanonical = s.slice(0, -1) + alphabet[alphabet.indexOf(last) ^ 1];
  return [
    ['valid', ok],
    ['valid, no typ, extra claims', sign({ alg: 'HS256' }, { ...claims, name: 'x', nested: { a: [1] } })],
    ['other secret', sign(H, claims, `${SECRET}x`)],
    ['tampered payload', `${h}.${b64({ ...claims, role: 'officer' })}.${s}`],
    ['alg none', `${b64({ alg: 'none' })}.${p}.`],
    ['alg HS384, signed so', `${hs384Body}.${mac(hs384Body, SECRET, 'sha384')}`],
    ['alg missing', sign({ typ: 'JWT' }, claims)],
    ['header alg lowercase', sign({ alg: 'hs256' }, claims)],
    ['crit header', sign({ alg: 'HS256', crit: ['exp'], exp: 1 }, claims)],
    ['expired', sign(H, { ...claims, exp: now - 1 })],
    ['expires this second', sign(H, { ...claims, exp: now })],
    ['exp missing', sign(H, { sub: 'c-1' })],
    ['exp a string', sign(H, { ...claims, exp: String(now + 600) })],
    ['sub missing', sign(H, { exp: now + 600 })],
    ['sub a number', sign(H, { ...claims, sub: 7 })],
    ['nbf in the future', sign(H, { ...claims, nbf: now + 5 })],
    ['nbf past', sign(H, { ...claims, nbf: now - 5 })],
    ['nbf a string', sign(H, { ...claims, nbf: 'soon' })],
    ['iat a string', sign(H, { ...claims, iat: 'then' })],
    ['expired and nbf in the future', sign(H, { ...claims, exp: now - 1, nbf: now + 5 })],
    ['payload an array', sign(H, [claims])],
    ['payload null', sign(H, null)],
    ['payload not JSON', `${h}.${b64('{"sub":')}.${mac(`${h}.${b64('{"sub":')}`)}`],
    [
      'header not JSON',
      (() => {
        const hb = b64('nope');
        return `${hb}.${p}.${mac(`${hb}.${p}`)}`;
      })(),
    ],
    ['signature cut short', `${h}.${p}.${s.slice(0, 20)}`],
    ['signature missing', `${h}.${p}.`],
    ['non-canonical signature', `${h}.${p}.${nonCanonical}`],
    ['two segments', `${h}.${p}`],
    ['four segments', `${ok}.${s}`],
    ['empty payload', `${h}..${mac(`${h}.`)}`],
    ['with iss and aud', sign(H, { ...claims, iss: 'idp', aud: ['beacon', 'x'] })],
    ['iss a number', sign(H, { ...claims, iss: 7 })],
  ];
}

type Verdict = 'ok' | 'expired' | 'invalid';
async function verdict(token: string, o: JwtOptions): Promise<Verdict> {
  try {
    await verifyJwt(token, o, NOW);
    return 'ok';
  } catch (e) {
    if (!(e instanceof JwtError)) throw e;
    return e.reason;
  }
}

describe('verifyJwt, HS256', () => {
  it('takes the node:crypto path with a secret and agrees with jose on every case', async () => {
    const fast = await resolveDeviceKeys({ JWT_SECRET: SECRET, JWT_PUBLIC_KEY: undefined, JWKS_URL: undefined, DATA_DIR: '/nonexistent' }, { generate: false });
    expect(fast.secret).toBeDefined();
    const viaJose: DeviceKeys = { ...fast, secret: undefined }; // no secret: jose's jwtVerify with the WebCrypto key
    // Where the node:crypto path is stricter than jose, by design (documented in jwt.ts).
    const stricter = new Set(['non-canonical signature', 'sub a number']);
    const expected: Record<string, Verdict> = {
      valid: 'ok',
      'valid, no typ, extra claims': 'ok',
      expired: 'expired',
      'expires this second': 'expired',
      'nbf past': 'ok',
      'with iss and aud': 'ok',
      'iss a number': 'ok',
    };
    for (const opts of [{}, { issuer: 'idp', audience: 'beacon' }]) {
      for (const [name, token] of cases()) {
        const a = await verdict(token, { keys: fast, ...opts });
        const b = await verdict(token, { keys: viaJose, ...opts });
        if (stricter.has(name)) {
          expect(a, name).toBe('invalid');
          continue;
        }
        expect(a, `${name} ${JSON.stringify(opts)}: node:crypto vs jose`).toBe(b);
        if (Object.keys(opts).length === 0) expect(a, name).toBe(expected[name] ?? 'invalid');
      }
    }
    // With issuer and audience required, only the token carrying both passes.
    expect(await verdict(cases().find(([n]) => n === 'with iss and aud')![1], { keys: fast, issuer: 'idp', audience: 'beacon' })).toBe('ok');
    expect(await verdict(cases()[0][1], { keys: fast, issuer: 'idp', audience: 'beacon' })).toBe('invalid');
  });

  it('returns the claims', async () => {
    const keys = await resolveDeviceKeys({ JWT_SECRET: SECRET, JWT_PUBLIC_KEY: undefined, JWKS_URL: undefined, DATA_DIR: '/nonexistent' }, { generate: false });
    await expect(verifyJwt(sign(H, { ...claims, name: 'Ann' }), { keys }, NOW)).resolves.toEqual({ ...claims, name: 'Ann' });
  });
});
