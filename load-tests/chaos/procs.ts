// The processes a chaos run owns: one redis-server (AOF, appendfsync always, temp dir, fixed port so
// a restart comes back where clients expect it) and Beacon nodes (node --import tsx
// src/cli.ts <role>), with kill / stop / restart. Starting and reaping them is
// ../fleet/procs.ts (shared with npm run cluster and the load harness): killAll on any exit path.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { exited, freePort, launchRedis, launchRole, tempDir, type LaunchedRole } from '../fleet/procs.js';

export { freePort, killAll, sleep } from '../fleet/procs.js';

const REDIS_CLI = process.env.REDIS_CLI_BIN ?? 'redis-cli';
const execFileP = promisify(execFile);

export const SECRETS = {
  JWT_SECRET: 'chaos-run-jwt-secret-0123456789abcdef',
  TICKET_SECRET: 'chaos-run-ticket-secret-0123456789abcdef',
  REPLICATION_KEY: 'chaos-run-replication-key-0123456789abcdef',
};

export interface Redis {
  port: number;
  url: string;
  /** SIGTERM (Redis flushes the AOF and exits), then start again on the same port and dir. */
  restart(): Promise<{ downMs: number }>;
  cli(...args: string[]): Promise<string>;
}

export async function startRedis(): Promise<Redis> {
  const dir = tempDir('beacon-chaos-redis-');
  const port = await freePort();
  const launch = () => launchRedis({ port, dir, appendfsync: 'always' });
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
    const states = stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.trim().split(/\s+/)[0]);
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

function launchNode(role: 'orchestrator' | 'processor', env: Record<string, string>): Promise<LaunchedRole> {
  return launchRole(role, { ...process.env, HOST: '127.0.0.1', PORT: '0', PROCESSOR_PORT: '0', LOG_LEVEL: 'warn', ...SECRETS, ...env });
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
        restartNotes.push(
          `${name}: could not listen on its port ${restartEnv.PROCESSOR_PORT} again (${await socketsOn(restartEnv.PROCESSOR_PORT)}); restarted on a fresh port`,
        );
        cur = await launchNode(role, { ...restartEnv, PROCESSOR_PORT: '0' });
      }
    },
    output: () => cur.out(),
  };
}
