// RedisConnection over rediss:// against real TLS-only redis-servers (`--port 0 --tls-port`):
// commands and pub/sub work with the test CA; without it, or with an unrelated CA, certificate
// verification refuses the server; with `--tls-auth-clients yes` the client certificate is what
// lets a client in; a Redis Cluster over TLS is discovered and used with the same options.
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisConnection } from '../../src/adapters/redis/index.js';
import type { Logger } from '../../src/log.js';
import { startTlsCluster, startTlsRedis, type TlsRedis } from '../helpers/redis-tls.js';
import { makeCerts, type TestCerts } from '../helpers/tls.js';
import { waitFor } from '../helpers/wait.js';

let certs: TestCerts;
let redis: TlsRedis;
let mutual: TlsRedis;
const conns: RedisConnection[] = [];

beforeAll(async () => {
  certs = await makeCerts();
  [redis, mutual] = await Promise.all([startTlsRedis(certs), startTlsRedis(certs, { authClients: true })]);
});
afterAll(async () => {
  await Promise.all(conns.map((c) => c.close()));
  await Promise.all([redis?.dispose(), mutual?.dispose()]);
  certs?.dispose();
});

/** A logger whose warn lines (the connection's `redis error` lines) the test can read. */
function captured(): { logger: Logger; errors: string[] } {
  const errors: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void errors.push(String((JSON.parse(line) as { err?: string }).err ?? '')) });
  return { logger, errors };
}

function connect(url: string, o: Partial<Parameters<typeof connectRedis>[0]> = {}): RedisConnection {
  const c = connectRedis({ url, name: `tls-test-${conns.length}`, maxBackoffMs: 200, ...o });
  conns.push(c);
  return c;
}

/** Waits for the connection's first error and returns it; the connection must not be ready. */
async function refusedWith(c: RedisConnection, errors: string[]): Promise<string> {
  const e = await waitFor(() => errors.find((x) => x !== ''), 10_000, 'a redis error');
  expect(c.isReady).toBe(false);
  await expect(c.send(['PING'])).rejects.toThrow();
  return e;
}

describe('rediss:// with REDIS_TLS_CA_FILE', () => {
  it('runs commands and pub/sub over TLS with the CA', async () => {
    const tls = { ca: certs.ca };
    const a = connect(redis.url, { tls });
    const sub = a.duplicate('tls-test-sub');
    conns.push(sub);
    await Promise.all([a.ready(), sub.ready()]);
    expect(await a.send(['SET', 'beacon:tls', 'over-tls'])).toBe('OK');
    expect(await a.send(['GET', 'beacon:tls'])).toBe('over-tls');
    const got: string[] = [];
    await sub.subscribe('beacon:tls:chan', (m) => got.push(m));
    await a.publish('beacon:tls:chan', 'hello over tls');
    expect(await waitFor(() => got.length > 0 && got, 5000, 'the pub/sub message')).toEqual(['hello over tls']);
  });

  it('refuses the server without the CA, or with an unrelated CA (certificate verification)', async () => {
    for (const tls of [undefined, { ca: readFileSync(certs.otherCaCert) }]) {
      const { logger, errors } = captured();
      const c = connect(redis.url, { tls, logger });
      expect(await refusedWith(c, errors)).toMatch(/unable to verify the first certificate|self[- ]signed certificate|unable to get local issuer certificate/);
      await c.close();
    }
  });

  it('the URL scheme decides: redis:// with TLS options stays plaintext and gets nowhere on the TLS port', async () => {
    const { logger, errors } = captured();
    const c = connect(redis.url.replace('rediss://', 'redis://'), { logger, tls: { ca: certs.ca } });
    await refusedWith(c, errors);
    await c.close();
  });
});

describe('rediss:// with tls-auth-clients yes', () => {
  it('refuses a client without a certificate, accepts one with REDIS_TLS_CERT_FILE / REDIS_TLS_KEY_FILE', async () => {
    const { logger, errors } = captured();
    const anonymous = connect(mutual.url, { tls: { ca: certs.ca }, logger });
    expect(await refusedWith(anonymous, errors)).toMatch(/certificate required/);
    await anonymous.close();

    const withCert = connect(mutual.url, { tls: { ca: certs.ca, cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) } });
    await withCert.ready();
    expect(await withCert.send(['PING'])).toBe('PONG');
  });
});

describe('rediss:// Redis Cluster (REDIS_CLUSTER=1)', () => {
  it('discovers the TLS masters with the CA and runs commands and sharded pub/sub on every slot range', { timeout: 60_000 }, async () => {
    const cluster = await startTlsCluster(certs);
    try {
      const tls = { ca: certs.ca };
      const a = connect(cluster.url, { cluster: true, tls });
      const b = connect(cluster.nodes[2].url, { cluster: true, tls });
      await Promise.all([a.ready(20_000), b.ready(20_000)]);
      // Keys spread over the three masters; each is reached over TLS.
      const keys = Array.from({ length: 30 }, (_, i) => `beacon:tls:${i}`);
      for (const k of keys) expect(await a.send(['SET', k, k], k)).toBe('OK');
      for (const k of keys) expect(await b.send(['GET', k], k, true)).toBe(k);
      const masters = new Set(
        (await cluster.nodes[0].cli('cluster', 'nodes'))
          .split('\n')
          .filter((l) => l.includes('master'))
          .map((l) => l.split(' ')[1]),
      );
      expect(masters.size).toBe(3);
      const got: string[] = [];
      await b.subscribe('beacon:tls:sharded', (m) => got.push(m));
      await a.publish('beacon:tls:sharded', 'sharded over tls');
      expect(await waitFor(() => got.length > 0 && got, 5000, 'the sharded message')).toEqual(['sharded over tls']);

      // The same cluster without the CA: never ready, certificate error.
      const { logger, errors } = captured();
      const noCa = connect(cluster.url, { cluster: true, logger });
      expect(await refusedWith(noCa, errors)).toMatch(/self[- ]signed certificate|unable to verify the first certificate/);
      await Promise.all([a.close(), b.close(), noCa.close()]);
    } finally {
      await cluster.dispose();
    }
  });
});
