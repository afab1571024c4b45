// TLS settings are checked at start: pairs, files that exist and parse as PEM, a key that
// matches its certificate, wss:// with TLS, rediss:// with REDIS_TLS_*. Each problem is one
// readable ConfigError line naming the setting.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { makeCerts, type TestCerts } from '../helpers/tls.js';

let certs: TestCerts;
let garbage: string;
let corrupt: string;
let encryptedKey: string;
let dir: string;

beforeAll(async () => {
  certs = await makeCerts();
  garbage = join(certs.dir, 'garbage.pem');
  writeFileSync(garbage, 'this is not a certificate\n');
  // A PEM frame around bytes that are not DER.
  corrupt = join(certs.dir, 'corrupt.pem');
  writeFileSync(corrupt, `-----BEGIN CERTIFICATE-----\n${Buffer.from('not der at all, just text').toString('base64')}\n-----END CERTIFICATE-----\n`);
  encryptedKey = join(certs.dir, 'encrypted.key');
  await promisify(execFile)('openssl', ['pkey', '-in', certs.serverKey, '-aes256', '-passout', 'pass:secret', '-out', encryptedKey]);
  dir = join(certs.dir, 'a-directory');
  mkdirSync(dir);
});
afterAll(() => certs?.dispose());

/** The problems loadConfig reports for `env` (fails the test when it accepts it). */
function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

const tls = () => ({ TLS_CERT_FILE: certs.serverCert, TLS_KEY_FILE: certs.serverKey });

describe('TLS_CERT_FILE / TLS_KEY_FILE', () => {
  it('accepts a matching certificate and key, and nothing is required without them', () => {
    const c = loadConfig(tls());
    expect(c.TLS_CERT_FILE).toBe(certs.serverCert);
    expect(c.TLS_KEY_FILE).toBe(certs.serverKey);
    const plain = loadConfig({});
    expect(plain.TLS_CERT_FILE).toBeUndefined();
    expect(plain.TLS_KEY_FILE).toBeUndefined();
  });

  it('refuses one without the other', () => {
    expect(problems({ TLS_CERT_FILE: certs.serverCert })).toEqual(['TLS_CERT_FILE and TLS_KEY_FILE go together: set both (HTTPS and WSS) or neither']);
    expect(problems({ TLS_KEY_FILE: certs.serverKey })).toEqual(['TLS_CERT_FILE and TLS_KEY_FILE go together: set both (HTTPS and WSS) or neither']);
  });

  it('names a missing file, a directory and an unreadable path', () => {
    const missing = join(certs.dir, 'nope.crt');
    expect(problems({ ...tls(), TLS_CERT_FILE: missing })).toEqual([
      `TLS_CERT_FILE=${JSON.stringify(missing.length > 40 ? missing.slice(0, 40) + '…' : missing)}: cannot read ${missing}: no such file`,
    ]);
    expect(problems({ ...tls(), TLS_KEY_FILE: dir })[0]).toMatch(/^TLS_KEY_FILE=.*: cannot read .*: is a directory$/);
  });

  it('refuses garbage, a corrupt PEM block, a key where the certificate goes and the reverse', () => {
    expect(problems({ ...tls(), TLS_CERT_FILE: garbage })[0]).toMatch(/^TLS_CERT_FILE=.*: .*garbage\.pem holds no PEM certificate/);
    expect(problems({ ...tls(), TLS_CERT_FILE: corrupt })[0]).toMatch(/^TLS_CERT_FILE=.*: .*corrupt\.pem: certificate 1 is not valid PEM\/X\.509$/);
    expect(problems({ ...tls(), TLS_CERT_FILE: certs.serverKey })[0]).toMatch(/server\.key holds no PEM certificate/);
    expect(problems({ ...tls(), TLS_KEY_FILE: certs.serverCert })[0]).toMatch(/^TLS_KEY_FILE=.*server\.crt holds no PEM private key/);
    expect(problems({ ...tls(), TLS_KEY_FILE: garbage })[0]).toMatch(/^TLS_KEY_FILE=.*holds no PEM private key/);
  });

  it("refuses an encrypted key with a way out, and a key that is not the certificate's", () => {
    expect(problems({ ...tls(), TLS_KEY_FILE: encryptedKey })[0]).toMatch(/is an encrypted key; Beacon takes no passphrase/);
    expect(problems({ ...tls(), TLS_KEY_FILE: certs.clientKey })).toEqual([
      `TLS_KEY_FILE: ${certs.clientKey} is not the private key of the certificate in ${certs.serverCert}`,
    ]);
  });

  it('refuses an explicit ws:// PUBLIC_WS_URL with TLS, takes wss://', () => {
    expect(problems({ ...tls(), PUBLIC_WS_URL: 'ws://p1.example:8081/ws' })).toEqual([
      'PUBLIC_WS_URL uses ws:// but TLS_CERT_FILE is set: the processor serves wss:// only; use a wss:// URL',
    ]);
    expect(loadConfig({ ...tls(), PUBLIC_WS_URL: 'wss://p1.example:8081/ws' }).PUBLIC_WS_URL).toBe('wss://p1.example:8081/ws');
    // Without TLS here, wss:// stays allowed (TLS terminated by a proxy in front).
    expect(loadConfig({ PUBLIC_WS_URL: 'wss://p1.example/ws' }).PUBLIC_WS_URL).toBe('wss://p1.example/ws');
  });

  it('lists every problem at once', () => {
    const p = problems({ TLS_CERT_FILE: garbage, TLS_KEY_FILE: garbage, PORT: 'x' });
    expect(p.map((l) => l.split('=')[0])).toEqual(['PORT', 'TLS_CERT_FILE', 'TLS_KEY_FILE']);
  });
});

describe('REDIS_TLS_*', () => {
  const base = { TICKET_SECRET: 't'.repeat(32), JWT_SECRET: 'j'.repeat(32), REPLICATION_KEY: 'r'.repeat(32) };

  it('takes a CA, and a client certificate with its key, with a rediss:// URL', () => {
    const c = loadConfig({
      ...base,
      REDIS_URL: 'rediss://127.0.0.1:6380',
      REDIS_TLS_CA_FILE: certs.caCert,
      REDIS_TLS_CERT_FILE: certs.clientCert,
      REDIS_TLS_KEY_FILE: certs.clientKey,
    });
    expect([c.REDIS_TLS_CA_FILE, c.REDIS_TLS_CERT_FILE, c.REDIS_TLS_KEY_FILE]).toEqual([certs.caCert, certs.clientCert, certs.clientKey]);
    // rediss:// alone (system CAs) is fine too.
    expect(loadConfig({ ...base, REDIS_URL: 'rediss://redis.example:6380' }).REDIS_TLS_CA_FILE).toBeUndefined();
  });

  it('refuses them with a plain redis:// URL instead of silently not encrypting', () => {
    expect(problems({ ...base, REDIS_URL: 'redis://127.0.0.1:6379', REDIS_TLS_CA_FILE: certs.caCert })).toEqual([
      'REDIS_TLS_CA_FILE set but REDIS_URL is redis:// (unencrypted): use rediss:// for Redis over TLS, or unset it',
    ]);
  });

  it('refuses a client certificate without its key, or with another key', () => {
    const url = { ...base, REDIS_URL: 'rediss://127.0.0.1:6380' };
    expect(problems({ ...url, REDIS_TLS_CERT_FILE: certs.clientCert })).toEqual([
      'REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE go together: set both (a Redis client certificate) or neither',
    ]);
    expect(problems({ ...url, REDIS_TLS_KEY_FILE: certs.clientKey })).toEqual([
      'REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE go together: set both (a Redis client certificate) or neither',
    ]);
    expect(problems({ ...url, REDIS_TLS_CERT_FILE: certs.clientCert, REDIS_TLS_KEY_FILE: certs.serverKey })[0]).toMatch(
      /^REDIS_TLS_KEY_FILE: .*server\.key is not the private key of the certificate in .*client\.crt$/,
    );
  });

  it('checks the files like the server ones', () => {
    expect(problems({ ...base, REDIS_URL: 'rediss://127.0.0.1:6380', REDIS_TLS_CA_FILE: garbage })[0]).toMatch(/^REDIS_TLS_CA_FILE=.*holds no PEM certificate/);
    expect(problems({ ...base, REDIS_URL: 'rediss://127.0.0.1:6380', REDIS_TLS_CA_FILE: join(certs.dir, 'none.crt') })[0]).toMatch(/no such file$/);
  });
});
