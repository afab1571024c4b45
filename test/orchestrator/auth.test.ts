import { generateKeyPair, SignJWT, exportSPKI } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceAuth, HttpError } from '../../src/orchestrator/index.js';
import { resolveDeviceKeys } from '../../src/auth/index.js';
import { HTTP_PATHS } from '../../src/protocol/index.js';
import { rawToken, SECRET, startOrch, TIMES_SQUARE, unsignedToken, type OrchFixture } from './fixture.js';

let f: OrchFixture;
beforeAll(async () => {
  f = await startOrch();
});
afterAll(() => f.shutdown());

const officerSocket = `${HTTP_PATHS.officerSocket}?lat=${TIMES_SQUARE.lat}&lng=${TIMES_SQUARE.lng}&zip=10036`;
const citizenSocket = `${HTTP_PATHS.citizenSocket}?lat=${TIMES_SQUARE.lat}&lng=${TIMES_SQUARE.lng}&zip=10036`;

async function get(url: string, authorization?: string) {
  const res = await f.orch.app.inject({ method: 'GET', url, headers: authorization === undefined ? {} : { authorization } });
  return { status: res.statusCode, body: res.json() as { error?: string; message?: string } };
}

describe('device tokens', () => {
  it('accepts a valid officer token on the officer endpoint', async () => {
    const r = await get(officerSocket, `Bearer ${await f.token('officer', 'o-1')}`);
    expect(r.status).toBe(200);
  });

  it('refuses a request without Authorization with 401 unauthorized', async () => {
    expect(await get(officerSocket)).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
  });

  it.each([
    ['empty', ''],
    ['no scheme', 'abc.def.ghi'],
    ['basic scheme', 'Basic b2ZmaWNlcjpwdw=='],
    ['bearer without token', 'Bearer '],
    ['not a JWT', 'Bearer not-a-jwt'],
    ['garbage segments', 'Bearer aaa.bbb.ccc'],
    ['bad characters', 'Bearer {"alg":"none"}'],
    ['huge', `Bearer ${'a'.repeat(10_000)}.b.c`],
  ])('refuses a malformed header (%s) with 401 unauthorized', async (_name, header) => {
    expect(await get(officerSocket, header)).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
  });

  it('refuses an unsigned token (alg none) with 401 unauthorized', async () => {
    const t = unsignedToken({ sub: 'o-1', acct: 'a-1', role: 'officer' });
    expect(await get(officerSocket, `Bearer ${t}`)).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
  });

  it('refuses a token signed with another secret with 401 unauthorized', async () => {
    const t = await rawToken({ sub: 'o-1', acct: 'a-1', role: 'officer' }, 'another-secret-that-is-long-enough!!');
    expect(await get(officerSocket, `Bearer ${t}`)).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
  });

  it('refuses a token with a tampered payload with 401 unauthorized', async () => {
    const t = await f.token('citizen', 'c-1');
    const [h, , s] = t.split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'c-1', acct: 'a', role: 'officer', exp: 9_999_999_999 })).toString('base64url');
    expect(await get(officerSocket, `Bearer ${h}.${forged}.${s}`)).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
  });

  it('refuses a token signed with an asymmetric key when HS256 is configured (algorithm confusion)', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const t = await new SignJWT({ sub: 'o-1', acct: 'a', role: 'officer' }).setProtectedHeader({ alg: 'ES256' }).setExpirationTime('1h').sign(privateKey);
    expect(await get(officerSocket, `Bearer ${t}`)).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
  });

  it('refuses an expired token with 401 token_expired', async () => {
    const t = await rawToken({ sub: 'o-1', acct: 'a-1', role: 'officer' }, undefined, -60);
    expect(await get(officerSocket, `Bearer ${t}`)).toMatchObject({ status: 401, body: { error: 'token_expired' } });
  });

  it('refuses a token without exp (it would never end) with 401 unauthorized', async () => {
    const t = await rawToken({ sub: 'o-1', acct: 'a-1', role: 'officer' }, undefined, null);
    expect(await get(officerSocket, `Bearer ${t}`)).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
  });

  it.each([
    ['no sub', { acct: 'a', role: 'officer' }],
    ['no acct', { sub: 'o-1', role: 'officer' }],
    ['no role', { sub: 'o-1', acct: 'a' }],
    ['unknown role', { sub: 'o-1', acct: 'a', role: 'admin' }],
    ['numeric sub', { sub: 12, acct: 'a', role: 'officer' }],
    ['huge sub', { sub: 'x'.repeat(500), acct: 'a', role: 'officer' }],
    ['object acct', { sub: 'o-1', acct: { id: 1 }, role: 'officer' }],
  ])('refuses a signed token with bad claims (%s) with 401 unauthorized', async (_n, claims) => {
    const t = await rawToken(claims as Record<string, unknown>);
    expect(await get(officerSocket, `Bearer ${t}`)).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
  });

  it('refuses a citizen token on the officer endpoint, and the reverse, with 403 wrong_role', async () => {
    expect(await get(officerSocket, `Bearer ${await f.token('citizen', 'c-1')}`)).toMatchObject({ status: 403, body: { error: 'wrong_role' } });
    expect(await get(citizenSocket, `Bearer ${await f.token('officer', 'o-1')}`)).toMatchObject({ status: 403, body: { error: 'wrong_role' } });
  });

  it('refuses an officer token on POST /v1/connections with 403 wrong_role', async () => {
    const res = await f.orch.app.inject({
      method: 'POST',
      url: HTTP_PATHS.connections,
      headers: await f.auth('officer', 'o-1'),
      payload: { officerId: 'o-2' },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ error: 'wrong_role' });
  });

  it('checks auth before input: a bad query without a token is 401, not 400', async () => {
    expect(await get(`${HTTP_PATHS.officerSocket}?lat=NaN`)).toMatchObject({ status: 401 });
  });

  it('refuses accountId/profileId that do not match the token with 403 id_mismatch', async () => {
    const h = `Bearer ${await f.token('citizen', 'c-9', { acct: 'acct-9' })}`;
    expect(await get(`${citizenSocket}&profileId=c-8`, h)).toMatchObject({ status: 403, body: { error: 'id_mismatch' } });
    expect(await get(`${citizenSocket}&accountId=acct-8`, h)).toMatchObject({ status: 403, body: { error: 'id_mismatch' } });
    expect(await get(`${citizenSocket}&accountId=acct-9&profileId=c-8`, h)).toMatchObject({ status: 403, body: { error: 'id_mismatch' } });
    expect((await get(`${citizenSocket}&accountId=acct-9&profileId=c-9`, h)).status).toBe(200);
  });
});

describe('verified-token cache', () => {
  it('remembers a verified token only until its exp, and never for a modified token', async () => {
    let now = Date.now();
    const keys = await resolveDeviceKeys({ JWT_SECRET: SECRET, JWT_PUBLIC_KEY: undefined, JWKS_URL: undefined, DATA_DIR: '/x' }, { generate: false });
    const auth = new DeviceAuth({ keys, now: () => now });
    const t = await rawToken({ sub: 'o-1', acct: 'a-1', role: 'officer' }, SECRET, 60);
    await expect(auth.verify(`Bearer ${t}`)).resolves.toMatchObject({ sub: 'o-1' });
    await expect(auth.verify(`Bearer ${t}`)).resolves.toMatchObject({ sub: 'o-1' }); // a hit
    await expect(auth.verify(`Bearer ${t.slice(0, -2)}xx`)).rejects.toMatchObject({ code: 'unauthorized' });
    now += 61_000;
    await expect(auth.verify(`Bearer ${t}`)).rejects.toMatchObject({ code: 'token_expired' });
  });
});

describe('DeviceAuth with a public key', () => {
  it('verifies RS256 tokens and refuses HS256 ones forged with the public key as secret', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    const pem = await exportSPKI(publicKey);
    const keys = await resolveDeviceKeys({ JWT_SECRET: undefined, JWT_PUBLIC_KEY: pem, JWKS_URL: undefined, DATA_DIR: '/nonexistent' }, { generate: false });
    expect(keys.algorithms).toEqual(['RS256']);
    const auth = new DeviceAuth({ keys, issuer: 'https://idp.example', audience: 'beacon' });
    const good = await new SignJWT({ acct: 'a-1', role: 'officer', name: 'Ofc. Diaz', badge: '4411', precinct: '14' })
      .setProtectedHeader({ alg: 'RS256' })
      .setSubject('o-1')
      .setIssuer('https://idp.example')
      .setAudience('beacon')
      .setExpirationTime('5m')
      .sign(privateKey);
    await expect(auth.verify(`Bearer ${good}`)).resolves.toEqual({
      sub: 'o-1',
      acct: 'a-1',
      role: 'officer',
      profile: { name: 'Ofc. Diaz', badge: '4411', precinct: '14' },
      tokenExp: expect.any(Number),
    });

    const wrongAud = await new SignJWT({ acct: 'a-1', role: 'officer' })
      .setProtectedHeader({ alg: 'RS256' })
      .setSubject('o-1')
      .setIssuer('https://idp.example')
      .setAudience('other')
      .setExpirationTime('5m')
      .sign(privateKey);
    await expect(auth.verify(`Bearer ${wrongAud}`)).rejects.toMatchObject({ code: 'unauthorized' });

    const confused = await new SignJWT({ acct: 'a-1', role: 'officer' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('o-1')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(pem));
    const e = await auth.verify(`Bearer ${confused}`).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HttpError);
    expect(e).toMatchObject({ code: 'unauthorized', status: 401 });
  });

  it('verifies ES256 tokens; keeps badge and precinct out of citizen profiles', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const keys = await resolveDeviceKeys(
      { JWT_SECRET: undefined, JWT_PUBLIC_KEY: await exportSPKI(publicKey), JWKS_URL: undefined, DATA_DIR: '/x' },
      { generate: false },
    );
    expect(keys.algorithms).toEqual(['ES256']);
    const auth = new DeviceAuth({ keys });
    const t = await new SignJWT({ acct: 'a-2', role: 'citizen', name: 'Sam', badge: 'fake', precinct: 'fake' })
      .setProtectedHeader({ alg: 'ES256' })
      .setSubject('c-2')
      .setExpirationTime('5m')
      .sign(privateKey);
    await expect(auth.verify(`Bearer ${t}`)).resolves.toEqual({
      sub: 'c-2',
      acct: 'a-2',
      role: 'citizen',
      profile: { name: 'Sam' },
      tokenExp: expect.any(Number),
    });
  });
});
