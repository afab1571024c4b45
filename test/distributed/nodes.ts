// Distributed-mode nodes as real OS processes (tsx src/cli.ts <role>), plus device
// helpers over real HTTP and websockets. Every process is killed when the test process exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mintDeviceToken } from '../../src/auth/index.js';
import { HTTP_PATHS, type PublicProfile, type Role, type SocketAssignment } from '../../src/protocol/index.js';
import { TestClient } from '../helpers/ws-client.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const JWT_SECRET = 'distributed-test-jwt-secret-0123456789';
export const TICKET_SECRET = 'distributed-test-ticket-secret-0123456789';
export const REPLICATION_KEY = 'distributed-test-replication-key-0123456789';

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export interface NodeProcess {
  role: 'orchestrator' | 'processor';
  proc: ChildProcess;
  /** http://… for an orchestrator, ws://…/ws for a processor. */
  url: string;
  nodeId?: string;
  /** A processor's METRICS_PORT /metrics, when it was started with METRICS_PORT. */
  metricsUrl?: string;
  output(): string;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** kill -9. */
  kill9(): Promise<void>;
}

/** How long a role may take to print its ready line; NODE_START_MS raises it on a machine loaded by other work. */
const START_MS = Number(process.env.NODE_START_MS ?? 30_000);

export async function spawnNode(role: 'orchestrator' | 'processor', env: Record<string, string>, timeoutMs = START_MS): Promise<NodeProcess> {
  // node --import tsx, not the tsx CLI: the CLI runs the program in a child process, which a
  // kill -9 of the CLI would leave running.
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', role], {
    cwd: ROOT,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: '0',
      PROCESSOR_PORT: '0',
      JWT_SECRET,
      TICKET_SECRET,
      REPLICATION_KEY,
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  let out = '';
  proc.stdout!.on('data', (d) => (out += d.toString()));
  proc.stderr!.on('data', (d) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  exited.then(() => live.delete(proc));
  const line = await new Promise<string>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`${role} did not start within ${timeoutMs} ms:\n${out.slice(-2000)}`)), timeoutMs);
    const check = () => {
      const m = out.split('\n').find((l) => l.startsWith(`${role} `));
      if (m) {
        clearTimeout(deadline);
        resolve(m);
      }
    };
    proc.stdout!.on('data', check);
    exited.then((code) => {
      clearTimeout(deadline);
      reject(new Error(`${role} exited (${code}) before it was ready:\n${out.slice(-2000)}`));
    });
  });
  const parts = line.trim().split(/\s+/);
  return {
    role,
    proc,
    url: role === 'orchestrator' ? parts[1] : parts[2],
    nodeId: role === 'processor' ? parts[1] : undefined,
    metricsUrl: /\bmetrics (http:\S+)/.exec(line)?.[1],
    output: () => out,
    async stop() {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
    async kill9() {
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

export interface Device {
  id: string;
  role: Role;
  client: TestClient;
  assignment: SocketAssignment;
  lat: number;
  lng: number;
}

export function token(role: Role, sub: string, profile: PublicProfile = {}): Promise<string> {
  return mintDeviceToken(new TextEncoder().encode(JWT_SECRET), { role, sub, profile });
}

export async function http(
  base: string,
  method: string,
  path: string,
  tok: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${tok}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Asks the orchestrator for a socket (retrying while it has no processor for the zip), opens it, waits for hello. */
export async function connectDevice(orch: string, role: Role, id: string, pos: { lat: number; lng: number }, timeoutMs = 15_000): Promise<Device> {
  const tok = await token(role, id, { name: `${role} ${id}` });
  const path = role === 'officer' ? HTTP_PATHS.officerSocket : HTTP_PATHS.citizenSocket;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await http(orch, 'GET', `${path}?lat=${pos.lat}&lng=${pos.lng}`, tok);
    if (r.status === 200) {
      const a = r.body as unknown as SocketAssignment;
      try {
        const client = await TestClient.open(a.url);
        await client.waitFor('hello');
        return { id, role, client, assignment: a, ...pos };
      } catch (e) {
        if (Date.now() > deadline) throw e;
      }
    } else if (Date.now() > deadline) {
      throw new Error(`assignment for ${role} ${id}: ${r.status} ${JSON.stringify(r.body)}`);
    }
    await new Promise((res) => setTimeout(res, 200));
  }
}
