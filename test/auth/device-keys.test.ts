import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeProtectedHeader, exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.js';
import { DeviceAuth } from '../../src/orchestrator/index.js';
import { JWT_SECRET_FILE, mintDeviceToken, resolveDeviceKeys } from '../../src/auth/index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'beacon-keys-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const none = { JWT_SECRET: undefined, JWT_PUBLIC_KEY: undefined, JWKS_URL: undefined };

describe('resolveDeviceKeys', () => {
  it('generates DATA_DIR/jwt-secret (mode 0600) at first start and reuses it', async () => {
    const dataDir = join(dir, 'data');
    const a = await resolveDeviceKeys({ ...none, DATA_DIR: dataDir }, { generate: true });
    expect(a.source).toBe('DATA_DIR');
    const file = join(dataDir, JWT_SECRET_FILE);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const b = await resolveDeviceKeys({ ...none, DATA_DIR: dataDir }, { generate: true });
    expect(Buffer.from(b.secret!).equals(Buffer.from(a.secret!))).toBe(true);
    // A token minted with one resolution verifies with the other (what `npm run token` relies on).
    const token = await mintDeviceToken(a.secret!, { role: 'officer', sub: 'o-1', profile: { name: 'Ofc. Diaz' } });
    expect(decodeProtectedHeader(token).alg).toBe('HS256');
    await expect(new DeviceAuth({ keys: b }).verify(`Bearer ${token}`)).resolves.toMatchObject({
      sub: 'o-1',
      role: 'officer',
      acct: 'acct-o-1',
      profile: { name: 'Ofc. Diaz' },
    });
  });

  it('two starts racing create one secret', async () => {
    const [a, b] = await Promise.all([
      resolveDeviceKeys({ ...none, DATA_DIR: dir }, { generate: true }),
      resolveDeviceKeys({ ...none, DATA_DIR: dir }, { generate: true }),
    ]);
    expect(Buffer.from(a.secret!).equals(Buffer.from(b.secret!))).toBe(true);
  });

  it('without generate and without a file, says what to configure', async () => {
    await expect(resolveDeviceKeys({ ...none, DATA_DIR: dir }, { generate: false })).rejects.toThrow(/JWT_SECRET, JWT_PUBLIC_KEY or JWKS_URL/);
  });

  it('refuses an unusable secret file rather than accepting a weak key', async () => {
    await writeFile(join(dir, JWT_SECRET_FILE), 'short\n');
    await expect(resolveDeviceKeys({ ...none, DATA_DIR: dir }, { generate: true })).rejects.toBeInstanceOf(ConfigError);
  });

  it('prefers JWT_SECRET and never touches DATA_DIR then', async () => {
    const k = await resolveDeviceKeys({ ...none, JWT_SECRET: 'a-configured-secret-of-32-bytes-ok', DATA_DIR: dir }, { generate: true });
    expect(k.source).toBe('JWT_SECRET');
    await expect(readFile(join(dir, JWT_SECRET_FILE))).rejects.toThrow();
  });

  it('refuses a short JWT_SECRET, two sources at once, and a bad PEM with a ConfigError', async () => {
    await expect(resolveDeviceKeys({ ...none, JWT_SECRET: 'short', DATA_DIR: dir }, { generate: true })).rejects.toBeInstanceOf(ConfigError);
    await expect(
      resolveDeviceKeys({ ...none, JWT_SECRET: 'x'.repeat(32), JWKS_URL: 'https://idp.example/jwks', DATA_DIR: dir }, { generate: true }),
    ).rejects.toThrow(/only one/);
    await expect(resolveDeviceKeys({ ...none, JWT_PUBLIC_KEY: 'not a pem', DATA_DIR: dir }, { generate: true })).rejects.toThrow(/JWT_PUBLIC_KEY/);
  });

  it('accepts a PEM with literal \\n (as environments often carry it)', async () => {
    const { publicKey } = await generateKeyPair('ES256', { extractable: true });
    const pem = (await exportSPKI(publicKey)).replace(/\n/g, '\\n');
    expect((await resolveDeviceKeys({ ...none, JWT_PUBLIC_KEY: pem, DATA_DIR: dir }, { generate: false })).algorithms).toEqual(['ES256']);
  });

  it('verifies tokens against a JWKS endpoint (real HTTP), by kid', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
      const k = await resolveDeviceKeys({ ...none, JWKS_URL: url, DATA_DIR: dir }, { generate: false });
      expect(k).toMatchObject({ source: 'JWKS_URL', algorithms: ['RS256', 'ES256'] });
      const auth = new DeviceAuth({ keys: k });
      const sign = (kid: string) =>
        new SignJWT({ acct: 'a-1', role: 'citizen' }).setProtectedHeader({ alg: 'RS256', kid }).setSubject('c-1').setExpirationTime('5m').sign(privateKey);
      await expect(auth.verify(`Bearer ${await sign('k1')}`)).resolves.toMatchObject({ sub: 'c-1', role: 'citizen' });
      await expect(auth.verify(`Bearer ${await sign('unknown')}`)).rejects.toMatchObject({ code: 'unauthorized' });
    } finally {
      server.close();
    }
  });
});
