// A real `redis-server` that speaks only TLS (`--port 0 --tls-port <free>`), with certificates
// from test/helpers/tls.ts. `authClients` turns on `--tls-auth-clients yes`: a client must then
// present a certificate signed by the CA. And a 3-master Redis Cluster whose client ports and
// cluster bus are TLS only (`--tls-cluster yes`). Killed on `dispose()` and when the test process exits.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileP, freePort, live, ping, REDIS_CLI, REDIS_SERVER } from './redis-server.js';
import type { TestCerts } from './tls.js';
import { waitFor } from './wait.js';

// Started servers join redis-server.ts's `live` set: killed with the others when the test process ends.

export interface TlsRedis {
  port: number;
  /** rediss://127.0.0.1:<port> */
  url: string;
  dir: string;
  /** Stops for good and removes the temp dir. */
  dispose(): Promise<void>;
  /** redis-cli over TLS with the test CA and client certificate; returns stdout. */
  cli(...args: string[]): Promise<string>;
}

function cliTls(certs: TestCerts): string[] {
  return ['--tls', '--cacert', certs.caCert, '--cert', certs.clientCert, '--key', certs.clientKey];
}

/** PING over TLS with the test CA and client certificate; true on +PONG. */
const tlsPing = (port: number, certs: TestCerts, timeoutMs = 500): Promise<boolean> =>
  ping(port, timeoutMs, { ca: certs.ca, cert: readPem(certs.clientCert), key: readPem(certs.clientKey) });

const readPem = (path: string): Buffer => readFileSync(path);

async function launch(certs: TestCerts, authClients: boolean, extra: string[]): Promise<TlsRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `beacon-redis-tls-${port}-`));
  const p = spawn(
    REDIS_SERVER,
    [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'no',
      '--tls-cert-file',
      certs.serverCert,
      '--tls-key-file',
      certs.serverKey,
      '--tls-ca-cert-file',
      certs.caCert,
      '--tls-auth-clients',
      authClients ? 'yes' : 'no',
      ...extra,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  live.add(p);
  let stderr = '';
  p.stderr!.on('data', (d) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  const dispose = async () => {
    if (p.exitCode === null && p.signalCode === null) {
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    }
    live.delete(p);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      async () => {
        if (p.exitCode !== null) throw new Error(`redis-server (TLS) on port ${port} exited (${p.exitCode}): ${stderr.slice(-500)}`);
        return tlsPing(port, certs);
      },
      10_000,
      `redis-server (TLS) on port ${port}`,
    );
  } catch (e) {
    await dispose();
    throw e;
  }
  const cli = async (...args: string[]) => (await execFileP(REDIS_CLI, [...cliTls(certs), '-h', '127.0.0.1', '-p', String(port), ...args])).stdout;
  return { port, url: `rediss://127.0.0.1:${port}`, dir, dispose, cli };
}

/** Starts a TLS-only redis-server on a free port; retries on a port race with another test. */
export async function startTlsRedis(certs: TestCerts, o: { authClients?: boolean; args?: string[] } = {}): Promise<TlsRedis> {
  let last: unknown;
  for (let i = 0; i < 5; i++) {
    try {
      return await launch(certs, o.authClients ?? false, o.args ?? []);
    } catch (e) {
      last = e;
    }
  }
  throw last;
}

export interface TlsRedisCluster {
  nodes: TlsRedis[];
  /** rediss:// URL of the first node; a cluster client discovers the rest (on their TLS ports). */
  url: string;
  dispose(): Promise<void>;
}

/** Three TLS-only masters, cluster bus over TLS too, joined with `redis-cli --cluster create --tls`. */
export async function startTlsCluster(certs: TestCerts): Promise<TlsRedisCluster> {
  const nodes: TlsRedis[] = [];
  const dispose = () => Promise.all(nodes.map((n) => n.dispose())).then(() => undefined);
  try {
    for (let i = 0; i < 3; i++) {
      const busPort = await freePort();
      nodes.push(
        await startTlsRedis(certs, {
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-port',
            String(busPort),
            '--cluster-node-timeout',
            '3000',
            '--tls-cluster',
            'yes',
          ],
        }),
      );
    }
    // redis-cli waits forever for nodes that cannot meet (e.g. a bus handshake refused): bound it.
    await execFileP(
      REDIS_CLI,
      [...cliTls(certs), '--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'],
      { timeout: 30_000 },
    );
    for (const n of nodes) {
      await waitFor(
        async () => {
          const info = await n.cli('cluster', 'info');
          return info.includes('cluster_state:ok') && info.includes('cluster_slots_ok:16384') && info.includes('cluster_known_nodes:3');
        },
        20_000,
        `cluster_state:ok on ${n.port}`,
      );
    }
  } catch (e) {
    await dispose();
    throw e;
  }
  return { nodes, url: nodes[0].url, dispose };
}
