// `npm run cluster -- --processors 3 [--port 8080] [--redis-port 0]`: a local distributed
// deployment on one machine, for trying distributed mode and for the load harness: a
// redis-server it starts (AOF on, in a temp dir), one orchestrator and N processors, each a
// separate OS process (node --import tsx src/distributed/run.ts <role>). Ctrl-C stops them all.
// Secrets: JWT_SECRET / TICKET_SECRET / REPLICATION_KEY from the environment, else random for
// this run (JWT_SECRET printed so `npm run token` can mint device tokens for it). Each processor
// serves its metrics on a METRICS_PORT of its own (printed), never on the device port.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? 'redis-server';

function usage(code: number): never {
  process.stdout.write('usage: npm run cluster -- [--processors N (default 3, max 32)] [--port ORCHESTRATOR_PORT (default 8080)] [--redis-port P (default: a free one)]\n');
  process.exit(code);
}

function parseArgs(argv: string[]): { processors: number; port: number; redisPort: number } {
  const out = { processors: 3, port: 8080, redisPort: 0 };
  const args = argv.filter((a) => a !== '--');
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--help' || a === '-h') usage(0);
    const v = Number(args[i + 1]);
    const set = (k: keyof typeof out, min: number, max: number) => {
      if (!Number.isInteger(v) || v < min || v > max) {
        process.stderr.write(`${a} needs an integer in [${min}, ${max}]\n`);
        usage(2);
      }
      out[k] = v;
      i++;
    };
    if (a === '--processors') set('processors', 1, 32);
    else if (a === '--port') set('port', 0, 65535);
    else if (a === '--redis-port') set('redisPort', 0, 65535);
    else {
      process.stderr.write(`unknown argument ${a}\n`);
      usage(2);
    }
  }
  return out;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    sock.setTimeout(500);
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.once('data', (d) => {
      sock.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    sock.once('error', () => resolve(false));
    sock.once('timeout', () => {
      sock.destroy();
      resolve(false);
    });
  });
}

const children: ChildProcess[] = [];

/** Starts a role and resolves its first stdout line (`orchestrator <url> …` / `processor <id> <url>  metrics <url>`). */
function startRole(role: 'orchestrator' | 'processor', env: NodeJS.ProcessEnv): Promise<string> {
  const p = spawn(process.execPath, ['--import', 'tsx', 'src/distributed/run.ts', role], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(p);
  return new Promise((resolve, reject) => {
    let out = '';
    p.stdout!.on('data', (d) => {
      const text = d.toString();
      if (out.includes('\n')) {
        process.stdout.write(text);
        return;
      }
      out += text;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    p.once('exit', (code) => reject(new Error(`${role} exited with ${code}`)));
  });
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const redisPort = o.redisPort || (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'beacon-cluster-'));
  // AOF with fsync every second: the established-connections stream survives a Redis restart.
  const redis = spawn(REDIS_SERVER, ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', ''], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(redis);
  redis.once('error', (e) => {
    process.stderr.write(`could not start ${REDIS_SERVER}: ${e.message}\n`);
    process.exit(1);
  });
  let stopping = false;
  const stopAll = (code: number) => {
    if (stopping) return;
    stopping = true;
    // Roles first (graceful: they leave the registry and drain), Redis last.
    for (const c of children.slice(1)) c.kill('SIGTERM');
    const waitRoles = Promise.all(children.slice(1).map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
    const hard = setTimeout(() => {
      for (const c of children) c.kill('SIGKILL');
    }, 15_000);
    void waitRoles.then(() => {
      redis.kill('SIGTERM');
      redis.once('exit', () => {
        clearTimeout(hard);
        rmSync(dir, { recursive: true, force: true });
        process.exit(code);
      });
      if (redis.exitCode !== null) process.exit(code);
    });
  };
  process.on('SIGINT', () => stopAll(0));
  process.on('SIGTERM', () => stopAll(0));

  for (let i = 0; !(await ping(redisPort)); i++) {
    if (i > 100 || redis.exitCode !== null) {
      process.stderr.write('redis-server did not start\n');
      return stopAll(1);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const env = {
    ...process.env,
    // This Redis is plain TCP on loopback: Redis TLS settings from the shell would be refused with it.
    REDIS_TLS_CA_FILE: '',
    REDIS_TLS_CERT_FILE: '',
    REDIS_TLS_KEY_FILE: '',
    REDIS_URL: redisUrl,
    JWT_SECRET: process.env.JWT_SECRET || randomBytes(24).toString('hex'),
    TICKET_SECRET: process.env.TICKET_SECRET || randomBytes(24).toString('hex'),
    REPLICATION_KEY: process.env.REPLICATION_KEY || randomBytes(32).toString('hex'),
    HOST: process.env.HOST || '127.0.0.1',
    LOG_LEVEL: process.env.LOG_LEVEL || 'warn',
  };
  try {
    const procs = await Promise.all(
      Array.from({ length: o.processors }, (_, i) => startRole('processor', { ...env, NODE_ID: `p${i + 1}`, PROCESSOR_PORT: '0', PUBLIC_WS_URL: '', METRICS_PORT: '0' })),
    );
    const orch = await startRole('orchestrator', { ...env, PORT: String(o.port) });
    const orchUrl = orch.split(/\s+/)[1];
    process.stdout.write(
      [
        '',
        `  Beacon distributed mode: 1 orchestrator, ${o.processors} processor(s), redis-server ${redisUrl} (AOF on, ${dir})`,
        `  orchestrator  ${orchUrl}   (readyz ${orchUrl}/readyz, metrics ${orchUrl}/metrics)`,
        ...procs.map((l) => `  ${l}`),
        '',
        `  Tokens:  JWT_SECRET=${env.JWT_SECRET} npm run -s token -- --role citizen --sub c-1`,
        `  Socket:  curl -H "Authorization: Bearer $TOKEN" "${orchUrl}/v1/citizens/socket?lat=40.758&lng=-73.9855"`,
        `  Stream:  redis-cli -p ${redisPort} XRANGE 'beacon:{beacon:established}' - +`,
        `  Load:    JWT_SECRET=${env.JWT_SECRET} npm run load -- --target ${orchUrl}`,
        '',
        '  Ctrl-C stops everything.',
        '',
      ].join('\n') + '\n',
    );
  } catch (e) {
    process.stderr.write(`cluster failed to start: ${(e as Error).message}\n`);
    stopAll(1);
  }
}

void main();
