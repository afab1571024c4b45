// Real `redis-server` processes for integration tests: one server on a free port (never 6379) in a
// temp dir, stop/restart on the same port for outage tests, and a 3-master Redis Cluster.
// Every process started here is killed on `stop()` and, as a safety net, when the test process exits.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from './wait.js';

export const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? '/usr/bin/redis-server';
export const REDIS_CLI = process.env.REDIS_CLI_BIN ?? 'redis-cli';
export const execFileP = promisify(execFile);

/** Every redis-server started by the helpers (this file and redis-tls.ts): killed when the test process ends. */
export const live = new Set<ChildProcess>();
const killAll = () => {
  for (const p of live) p.kill('SIGKILL');
};
process.once('exit', killAll);
// A test worker killed by a signal skips 'exit': kill the servers, then die of the same signal.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    killAll();
    process.kill(process.pid, sig);
  });
}

/** A free TCP port on 127.0.0.1, below 55535 so a cluster bus port (+10000) would also fit. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as { port: number };
        srv.close(() => resolve(port));
      });
    });
    if (port !== 6379 && port < 55535) return port;
  }
  throw new Error('no free port below 55535 found');
}

/** Sends a raw PING (over TLS with `tls` options); true when the server answers +PONG. */
export function ping(port: number, timeoutMs = 500, tls?: TlsConnectionOptions): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = tls ? tlsConnect({ host: '127.0.0.1', port, ...tls }) : connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on(tls ? 'secureConnect' : 'connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
    sock.on('error', () => done(false));
  });
}

export interface RedisServer {
  port: number;
  url: string;
  dir: string;
  /** SIGTERM, then SIGKILL if it lingers; resolves when the process has exited. */
  stop(): Promise<void>;
  /** Starts again on the same port and directory (after `stop()`), resolves once it answers PING. */
  restart(): Promise<void>;
  /** Stops for good and removes the temp dir: for afterAll. */
  dispose(): Promise<void>;
  /** Runs redis-cli against this server and returns stdout. */
  cli(...args: string[]): Promise<string>;
}

export interface StartOptions {
  /** Extra `redis-server` arguments, e.g. ['--appendonly', 'yes']. */
  args?: string[];
  port?: number;
}

function exited(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((r) => p.once('exit', () => r()));
}

async function stopProcess(p: ChildProcess | undefined): Promise<void> {
  if (!p) return;
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), 3000);
  await exited(p);
  clearTimeout(t);
  live.delete(p);
}

async function launch(port: number, dir: string, args: string[]): Promise<ChildProcess> {
  const p = spawn(
    REDIS_SERVER,
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'no', ...args],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  live.add(p);
  let stderr = '';
  p.stderr!.on('data', (d) => (stderr += d.toString()));
  try {
    await waitFor(
      async () => {
        if (p.exitCode !== null) throw new Error(`redis-server on port ${port} exited (${p.exitCode}): ${stderr.slice(-500)}`);
        return ping(port);
      },
      10_000,
      `redis-server on port ${port}`,
    );
  } catch (e) {
    await stopProcess(p);
    throw e;
  }
  return p;
}

async function startOn(port: number, opts: StartOptions): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), `beacon-redis-${port}-`));
  const args = opts.args ?? [];
  let proc: ChildProcess | undefined = await launch(port, dir, args);
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    async stop() {
      const p = proc;
      proc = undefined;
      await stopProcess(p);
    },
    async restart() {
      if (proc) await server.stop();
      proc = await launch(port, dir, args);
    },
    async dispose() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
    async cli(...cliArgs) {
      const { stdout } = await execFileP(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), ...cliArgs]);
      return stdout;
    },
  };
  return server;
}

/** Starts a standalone redis-server on a free port; retries on a port race with another test. */
export async function startRedis(opts: StartOptions = {}): Promise<RedisServer> {
  if (opts.port) return startOn(opts.port, opts);
  let last: unknown;
  for (let i = 0; i < 5; i++) {
    try {
      return await startOn(await freePort(), opts);
    } catch (e) {
      last = e;
    }
  }
  throw last;
}

export interface RedisCluster {
  nodes: RedisServer[];
  /** URL of the first node; a cluster client discovers the rest. */
  url: string;
  stop(): Promise<void>;
}

/** Starts `n` (≥ 3) masters with cluster mode on, joins them with `redis-cli --cluster create`. */
export async function startCluster(n = 3): Promise<RedisCluster> {
  const nodes: RedisServer[] = [];
  try {
    for (let i = 0; i < n; i++) {
      // The cluster bus port is chosen explicitly: port+10000 might be taken by someone else.
      const busPort = await freePort();
      nodes.push(
        await startRedis({
          args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(busPort), '--cluster-node-timeout', '3000'],
        }),
      );
    }
    await execFileP(REDIS_CLI, ['--cluster', 'create', ...nodes.map((s) => `127.0.0.1:${s.port}`), '--cluster-replicas', '0', '--cluster-yes']);
    for (const s of nodes) {
      await waitFor(
        async () => {
          const info = await s.cli('cluster', 'info');
          return info.includes('cluster_state:ok') && info.includes('cluster_slots_ok:16384') && info.includes(`cluster_known_nodes:${n}`);
        },
        20_000,
        `cluster_state:ok on ${s.port}`,
      );
    }
  } catch (e) {
    await Promise.all(nodes.map((s) => s.dispose()));
    throw e;
  }
  return {
    nodes,
    url: nodes[0].url,
    async stop() {
      await Promise.all(nodes.map((s) => s.dispose()));
    },
  };
}
