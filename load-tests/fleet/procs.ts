// The OS processes of a local distributed deployment, shared by `npm run cluster`, the chaos run
// and the load harness's --processors: a redis-server in a temp dir on a free port, and Beacon
// roles (node --import tsx src/cli.ts <role>) that print one banner line when ready.
// Every process and temp dir started here is registered, so any exit path can reap them
// (`stopAll` gracefully, `killAll` at once, also from a process 'exit' handler: it is synchronous).
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? 'redis-server';
export type Role = 'orchestrator' | 'processor';

const live = new Set<ChildProcess>();
const roles = new Set<ChildProcess>();
const tempDirs = new Set<string>();

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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

export function exited(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((r) => p.once('exit', () => r()));
}

/** A temp dir removed by stopAll/killAll. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Registers a child so stopAll/killAll reap it (`role`: stopped before Redis, gracefully). */
export function track(p: ChildProcess, role = false): ChildProcess {
  live.add(p);
  if (role) roles.add(p);
  p.once('exit', () => {
    live.delete(p);
    roles.delete(p);
  });
  return p;
}

/** One round trip of RESP on a raw socket: resolves the reply text, '' on error or after 2 s. */
export function redisCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (s: string) => {
      clearTimeout(t);
      sock.destroy();
      resolve(s);
    };
    const t = setTimeout(() => done(''), 2000);
    sock.on('connect', () => sock.write(`${command}\r\n`));
    sock.on('data', (d) => {
      buf += d.toString();
      // +simple / -error replies end at the first CRLF; a bulk string ($len) once len bytes are in.
      const bulk = /^\$(\d+)\r\n/.exec(buf);
      if (bulk ? Buffer.byteLength(buf) >= bulk[0].length + Number(bulk[1]) + 2 : buf.includes('\r\n'))
        done(bulk ? buf.slice(bulk[0].length, bulk[0].length + Number(bulk[1])) : buf);
    });
    sock.on('error', () => done(''));
  });
}

export const redisPing = async (port: number): Promise<boolean> => (await redisCommand(port, 'PING')).startsWith('+PONG');

/** Numeric fields of `INFO` (e.g. used_memory, total_commands_processed, total_net_input_bytes). */
export async function redisInfo(port: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const line of (await redisCommand(port, 'INFO')).split('\r\n')) {
    const m = /^([a-z_0-9]+):(-?[0-9.]+)$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

export interface RedisOptions {
  port: number;
  dir: string;
  /** AOF fsync policy; 'off': no AOF. */
  appendfsync: 'always' | 'everysec' | 'off';
  stderr?: 'pipe' | 'inherit' | 'ignore';
}

/** Starts redis-server and resolves once it answers PING (≤ 10 s). */
export async function launchRedis(o: RedisOptions): Promise<ChildProcess> {
  const aof = o.appendfsync === 'off' ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', o.appendfsync];
  const p = track(
    spawn(REDIS_SERVER, ['--port', String(o.port), '--bind', '127.0.0.1', '--dir', o.dir, '--save', '', '--protected-mode', 'no', ...aof], {
      stdio: ['ignore', 'ignore', o.stderr ?? 'pipe'],
    }),
  );
  let spawnError: Error | undefined;
  p.once('error', (e) => (spawnError = e));
  const deadline = Date.now() + 10_000;
  while (!(await redisPing(o.port))) {
    if (spawnError) throw new Error(`could not start ${REDIS_SERVER}: ${spawnError.message}`);
    if (p.exitCode !== null) throw new Error(`redis-server exited (${p.exitCode})`);
    if (Date.now() > deadline) throw new Error('redis-server did not answer PING within 10 s');
    await sleep(50);
  }
  return p;
}

export interface LaunchedRole {
  proc: ChildProcess;
  /** The banner: `orchestrator <url>  stream <key>` / `processor <id> <url>[  metrics <url>]`. */
  line: string;
  /** What it printed so far (the last ~100-200 kB). */
  out(): string;
}

/**
 * Starts one role and resolves its banner line (≤ 3 min: several starting at once on a busy 2-core machine take over a minute). `echo`: copy what it prints after the
 * banner to this process's stdout/stderr (npm run cluster) instead of only keeping it.
 */
export async function launchRole(role: Role, env: NodeJS.ProcessEnv, opts: { echo?: boolean } = {}): Promise<LaunchedRole> {
  const stdio: StdioOptions = ['ignore', 'pipe', 'pipe'];
  // FLEET_NODE_ARGS: extra node flags for every role, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
  // to profile the nodes of a run (a profile is written when the role exits on SIGTERM).
  const extra = (process.env.FLEET_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = track(spawn(process.execPath, [...extra, '--import', 'tsx', 'src/cli.ts', role], { cwd: ROOT, env, stdio }), true);
  let out = '';
  let ready = false;
  const keep = (to: NodeJS.WriteStream) => (d: Buffer) => {
    if (ready && opts.echo) to.write(d);
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  proc.stdout!.on('data', keep(process.stdout));
  proc.stderr!.on('data', keep(process.stderr));
  // FLEET_LOG_DIR: also write each role's whole output to <dir>/<role>-<pid>.log (debugging a run).
  if (process.env.FLEET_LOG_DIR) {
    const file = createWriteStream(join(process.env.FLEET_LOG_DIR, `${role}-${proc.pid}.log`));
    proc.stdout!.pipe(file);
    proc.stderr!.pipe(file);
  }
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${role} did not start within 180 s:\n${out.slice(-2000)}`)), 180_000);
    const check = () => {
      const m = out.split('\n').find((l) => l.startsWith(`${role} `));
      if (m === undefined) return;
      clearTimeout(timer);
      proc.stdout!.off('data', check);
      ready = true;
      resolve(m);
    };
    proc.stdout!.on('data', check);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${role} exited (${code}) before it was ready:\n${out.slice(-2000)}`));
    });
  });
  return { proc, line, out: () => out };
}

/** SIGKILLs every registered child (SIGCONT first: a stopped one would sit on its signal) and removes the temp dirs. Synchronous. */
export function killAll(): void {
  for (const p of live) {
    p.kill('SIGCONT');
    p.kill('SIGKILL');
  }
  live.clear();
  roles.clear();
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

/** Graceful: SIGTERM to the roles (they leave the registry and drain), then to Redis; SIGKILL what is left after `graceMs`. */
export async function stopAll(graceMs = 15_000): Promise<void> {
  const hard = setTimeout(killAll, graceMs);
  const bounded = (ps: ChildProcess[]) => Promise.race([Promise.all(ps.map(exited)), sleep(graceMs)]);
  const rs = [...roles];
  for (const p of rs) p.kill('SIGTERM');
  await bounded(rs);
  const rest = [...live];
  for (const p of rest) p.kill('SIGTERM');
  await bounded(rest);
  clearTimeout(hard);
  killAll();
}

/** Pids of the registered children still running (tests, cleanup checks). */
export function livePids(): number[] {
  return [...live].map((p) => p.pid ?? -1).filter((pid) => pid > 0);
}
