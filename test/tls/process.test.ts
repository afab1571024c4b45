// `beacon` as processes with TLS settings: a missing certificate is exit 2 with one readable line
// (no stack trace); `beacon all` prints https:// and wss:// in its banner; `beacon healthcheck`
// passes against the HTTPS/WSS servers (loopback, certificate not verified: also with a
// certificate for a public name that does not cover 127.0.0.1) and a plaintext check fails.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startEmbedded } from '../../src/embedded.js';
import { createLogger } from '../../src/log.js';
import { spawnCaptured } from '../helpers/spawn-captured.js';
import { httpsFetch, makeCerts, type TestCerts } from '../helpers/tls.js';
import { waitFor } from '../helpers/wait.js';

// Spawning tsx compiles the sources: slow on a loaded machine, hence the generous limits.
const TIMEOUT_MS = 90_000;
let certs: TestCerts;
let dataDir: string;

beforeAll(async () => {
  certs = await makeCerts();
  dataDir = await mkdtemp(join(tmpdir(), 'beacon-tls-process-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
  certs?.dispose();
});

const beacon = (args: string[], env: Record<string, string>) =>
  spawnCaptured(['bin/beacon.js', ...args], {
    BEACON_FROM_SOURCE: '1',
    HOST: '127.0.0.1',
    PORT: '0',
    PROCESSOR_PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    ...env,
  });

describe('beacon with TLS settings', { timeout: TIMEOUT_MS }, () => {
  it('exits 2 with a readable line for a missing certificate, in embedded mode and for a role', async () => {
    const missing = join(certs.dir, 'missing.crt');
    const all = beacon(['all'], { TLS_CERT_FILE: missing, TLS_KEY_FILE: certs.serverKey });
    expect(await all.exited, all.out.stderr).toBe(2);
    expect(all.out.stderr).toContain(`cannot read ${missing}: no such file`);
    expect(all.out.stderr).not.toMatch(/\n\s+at /);

    const role = beacon(['orchestrator'], {
      REDIS_URL: 'rediss://127.0.0.1:6390',
      REDIS_TLS_CA_FILE: join(certs.dir, 'no-ca.crt'),
      TICKET_SECRET: 't'.repeat(40),
      JWT_SECRET: 'j'.repeat(40),
    });
    expect(await role.exited, role.out.stderr).toBe(2);
    expect(role.out.stderr).toMatch(/REDIS_TLS_CA_FILE=.*: cannot read .*no-ca\.crt: no such file/);
    expect(role.out.stderr).not.toMatch(/\n\s+at /);
  });

  it('prints https:// and wss://, passes the healthcheck over TLS, fails a plaintext one, stops with 0', async () => {
    const tls = { TLS_CERT_FILE: certs.serverCert, TLS_KEY_FILE: certs.serverKey };
    const p = beacon(['all'], tls);
    const banner = await waitFor(
      () => (/processor\s+wss?:\/\/\S+/.test(p.out.stdout) ? p.out.stdout : p.out.code !== null && 'exited'),
      TIMEOUT_MS - 20_000,
      'the banner',
    );
    expect(banner, p.out.stderr).not.toBe('exited');
    const orch = /orchestrator\s+(https:\/\/127\.0\.0\.1:(\d+))/.exec(p.out.stdout);
    const proc = /processor\s+wss:\/\/127\.0\.0\.1:(\d+)\/ws/.exec(p.out.stdout);
    expect(orch, p.out.stdout).not.toBeNull();
    expect(proc, p.out.stdout).not.toBeNull();
    expect(p.out.stdout).toContain(`API docs      ${orch![1]}/docs`);
    expect(p.out.stdout).toContain(`TLS           HTTPS and WSS only, certificate ${certs.serverCert}`);
    const ports = { PORT: orch![2], PROCESSOR_PORT: proc![1] };

    const hc = beacon(['healthcheck', 'all'], { ...tls, ...ports });
    expect(await hc.exited, hc.out.stderr).toBe(0);
    expect(hc.out.stdout).toBe('healthy (all)\n');
    // The same check in plaintext finds nothing on those ports.
    const plain = beacon(['healthcheck', 'all'], ports);
    expect(await plain.exited).toBe(1);
    expect(plain.out.stderr).toContain(`no 200 from http://127.0.0.1:${ports.PORT}/healthz, http://127.0.0.1:${ports.PROCESSOR_PORT}/healthz`);

    p.child.kill('SIGTERM');
    expect(await p.exited, p.out.stderr).toBe(0);
  });

  it('the healthcheck passes with a certificate for a public name (loopback is not in it)', async () => {
    const tls = { TLS_CERT_FILE: certs.publicCert, TLS_KEY_FILE: certs.publicKey };
    const e = await startEmbedded(loadConfig({ HOST: '127.0.0.1', PORT: '0', PROCESSOR_PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...tls }), {
      logger: createLogger('silent', 'test'),
    });
    try {
      // A verifying client refuses it on 127.0.0.1 (the name does not match)…
      await expect(httpsFetch(`${e.orchestratorUrl}/healthz`, { ca: certs.ca })).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
      // …the local healthcheck still answers for the process.
      const hc = beacon(['healthcheck', 'all'], { ...tls, PORT: new URL(e.orchestratorUrl).port, PROCESSOR_PORT: String(e.processor.port) });
      expect(await hc.exited, hc.out.stderr).toBe(0);
    } finally {
      await e.close();
    }
  });
});
