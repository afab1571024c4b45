// The processes a chaos run owns: one redis-server (AOF, appendfsync always, temp dir, fixed port so
// a restart comes back where clients expect it) and Beacon nodes (node --import tsx
// src/distributed/run.ts <role>). Every child is registered so any exit path kills it (killAll).
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? 'redis-server';
const REDIS_CLI = process.env.REDIS_CLI_BIN ?? 'redis-cli';
const execFileP = promisify(execFile);

export const SECRETS = {
  JWT_SECRET: 'chaos-run-jwt-secret-0123456789abcdef',
  TICKET_SECRET: 'chaos-run-ticket-secret-0123456789abcdef',
  REPLICATION_KEY: 'chaos-run-replication-key-0123456789abcdef',
};

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();

/** SIGKILLs every child still running (SIGCONT first: a stopped process ignores nothing but is stuck). */
export function killAll(): void {
  for (const p of live) {
    p.kill('SIGCONT');
    p.kill('SIGKILL');
  }
  live.clear();
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      clearTimeout(t);
      sock.destroy();
      resolve(ok);
    };
    const t = setTimeout(() => done(false), 500);
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => done(d.toString().startsWith('+PONG')));
    sock.on('error', () => done(false));
  });
}

function exited(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((r) => p.once('exit', () => r()));
}

export interface Redis {
  port: number;
  url: string;
  /** SIGTERM (Redis flushes the AOF and exits), then start again on the same port and dir. */
  restart(): Promise<{ downMs: number }>;
  cli(...args: string[]): Promise<string>;
}

export async function startRedis(): Promise<Redis> {
  const dir = mkdtempSync(join(tmpdir(), 'beacon-chaos-redis-'));
  tempDirs.add(dir);
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--protected-mode', 'no'];
  const launch = async (): Promise<ChildProcess> => {
    const p = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    live.add(p);
    p.once('exit', () => live.delete(p));
    const deadline = Date.now() + 10_000;
    while (!(await ping(port))) {
      if (p.exitCode !== null) throw new Error(`redis-server exited (${p.exitCode})`);
      if (Date.now() > deadline) throw new Error('redis-server did not answer PING within 10 s');
      await sleep(50);
    }
    return p;
  };
  let proc = await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async restart() {
      const t0 = Date.now();
      proc.kill('SIGTERM');
      await exited(proc);
      proc = await launch();
      return { downMs: Date.now() - t0 };
    },
    async cli(...a) {
      const { stdout } = await execFileP(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), ...a], { maxBuffer: 64 << 20 });
      return stdout;
    },
  };
}

/** What restarts had to do differently (reported in the result). */
export const restartNotes: string[] = [];

/** `ss` summary of the TCP sockets on a local port: why a restart could not listen there. */
async function socketsOn(port: string): Promise<string> {
  try {
    const { stdout } = await execFileP('ss', ['-tanH', `( sport = :${port} )`]);
    const states = stdout.trim().split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/)[0]);
    const count: Record<string, number> = {};
    for (const st of states) count[st] = (count[st] ?? 0) + 1;
    return `sockets on it: ${JSON.stringify(count)}`;
  } catch {
    return '(ss not available)';
  }
}

export interface BeaconNode {
  role: 'orchestrator' | 'processor';
  name: string;
  /** http://… (orchestrator) or ws://…/ws (processor). */
  url: string;
  nodeId?: string;
  /** The orchestrator's established-connections stream key. */
  streamKey?: string;
  pid(): number;
  kill9(): Promise<void>;
  stop(): void;
  cont(): void;
  /** Starts the same role again with the same env (same NODE_ID and PROCESSOR_PORT for a processor). */
  restart(): Promise<void>;
  output(): string;
}

async function launchNode(role: 'orchestrator' | 'processor', env: Record<string, string>): Promise<{ proc: ChildProcess; line: string; out: () => string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/distributed/run.ts', role], {
    cwd: ROOT,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', PROCESSOR_PORT: '0', LOG_LEVEL: 'warn', ...SECRETS, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${role} did not start within 60 s:\n${out.slice(-2000)}`)), 60_000);
    const check = () => {
      const m = out.split('\n').find((l) => l.startsWith(`${role} `));
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    proc.stdout!.on('data', check);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${role} exited (${code}) before it was ready:\n${out.slice(-2000)}`));
    });
  });
  return { proc, line, out: () => out };
}

export async function startNode(role: 'orchestrator' | 'processor', name: string, env: Record<string, string>): Promise<BeaconNode> {
  let cur = await launchNode(role, env);
  const parts = cur.line.trim().split(/\s+/);
  const url = role === 'orchestrator' ? parts[1] : parts[2];
  const nodeId = role === 'processor' ? parts[1] : undefined;
  // A restarted processor keeps its identity and port: devices holding its URL find it again.
  const restartEnv = role === 'processor' ? { ...env, NODE_ID: nodeId!, PROCESSOR_PORT: new URL(url).port } : env;
  return {
    role,
    name,
    url,
    nodeId,
    streamKey: /\bstream (\S+)/.exec(cur.line)?.[1],
    pid: () => cur.proc.pid ?? -1,
    async kill9() {
      cur.proc.kill('SIGKILL');
      await exited(cur.proc);
    },
    stop: () => void cur.proc.kill('SIGSTOP'),
    cont: () => void cur.proc.kill('SIGCONT'),
    async restart() {
      // Same NODE_ID; the same port when it can be bound. Right after a kill -9 under load it
      // usually cannot (the processor's listen fails; only TIME-WAIT sockets are left on the port,
      // which a bare uWS server binds over fine: cause open). Then a fresh port at once (the
      // orchestrator learns the new URL from the registration), noted with the socket states.
      try {
        cur = await launchNode(role, restartEnv);
      } catch (err) {
        if (role !== 'processor' || !/could not listen/.test(String(err))) throw err;
        restartNotes.push(`${name}: could not listen on its port ${restartEnv.PROCESSOR_PORT} again (${await socketsOn(restartEnv.PROCESSOR_PORT)}); restarted on a fresh port`);
        cur = await launchNode(role, { ...restartEnv, PROCESSOR_PORT: '0' });
      }
    },
    output: () => cur.out(),
  };
}
