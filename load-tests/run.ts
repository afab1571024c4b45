// `npm run load -- ...`: drives Beacon over its real HTTP + websocket contract and reports latency
// and throughput next to bare-transport baselines (SPEC §5). See load-tests/README.md.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { makeArea } from './areas.js';
import { ArgsError, parseArgs, USAGE, type LoadArgs } from './args.js';
import { startChild, type Child } from './children.js';
import { startDeployment } from './fleet/deployment.js';
import { killAll } from './fleet/procs.js';
import { assertLoopback } from './loopback.js';
import { checkFds, generatorPlan, sourceAddresses } from './plan.js';
import type { TimelinePoint } from './pool.js';
import { table, type Results } from './report.js';
import { CAPACITY_GAP_MS, fillDefaults } from './results-fill.js';
import { runConnections } from './run-connections.js';
import { log, type PoolBase, type RunContext } from './run-context.js';
import { runLoad } from './run-load.js';
import { clusterIds, shardReport } from './shard-balance.js';
import { fdLimit, ServerSampler } from './system.js';
import { writeResults } from './write-results.js';

async function resolveSecret(args: LoadArgs): Promise<Uint8Array> {
  if (args.jwtSecret) return new TextEncoder().encode(args.jwtSecret);
  const file = join(process.env.DATA_DIR ?? './data', 'jwt-secret');
  try {
    return new TextEncoder().encode(readFileSync(file, 'utf8').trim());
  } catch {
    throw new ArgsError(`--target needs the device-token secret: --jwt-secret, JWT_SECRET, or ${file} (DATA_DIR)`);
  }
}

async function main(): Promise<number> {
  const args = await readArgs();
  if (typeof args === 'number') return args;
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const abort = trapSignals();
  const sockets = args.mode === 'connections' ? args.sockets : args.officers + args.citizens;
  const gen = generatorPlan(args, sockets);
  checkFds(args, sockets, gen);
  makeArea(args.area, args.seed, args.officers).placeOfficer(() => 0); // fail early if the zip data is missing

  const secretText = args.target ? undefined : randomBytes(32).toString('base64url');
  let secret: Uint8Array;
  try {
    secret = secretText ? new TextEncoder().encode(secretText) : await resolveSecret(args);
  } catch (e) {
    log((e as Error).message);
    return 2;
  }
  const idPrefix = `lt${Date.now().toString(36)}-`;
  const timeline: TimelinePoint[] = [];
  const children: Child[] = [];
  const stopChild = async (c: Child | undefined): Promise<void> => {
    if (!c) return;
    await c.stop();
    children.splice(children.indexOf(c), 1);
  };

  const results: Partial<Results> = { version: 1, mode: args.mode, startedAt, aborted: false };
  let server: Server | undefined;
  try {
    server = await startServer(args, secretText, sockets, children);
    const { target, beacon, deployment } = server;
    const sampler = deployment
      ? new ServerSampler({ pids: [deployment.orchestrator, ...deployment.processors].map((n) => n.pid) })
      : beacon
        ? new ServerSampler({ pid: beacon.pid })
        : new ServerSampler({ metricsUrls: args.metricsUrls ?? [target] });
    results.config = {
      ...args,
      jwtSecret: undefined,
      target: args.target ?? (deployment ? `distributed: ${args.processors} processor(s) (${target})` : `embedded (${target})`),
      generator: { processes: gen.processes, workers: gen.workers },
      sockets,
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, fdLimit: fdLimit() },
    };
    const base = poolBase(args, gen, sockets, secret, idPrefix, abort, timeline, t0);
    const ctx: RunContext = { args, abort, ...server, sampler, base, children, stopChild, results, generators: gen.workers, sockets, secret, idPrefix };
    if (args.mode === 'connections') await runConnections(ctx);
    else await runLoad(ctx);
  } catch (e) {
    log(`\nload test failed: ${(e as Error).stack ?? e}`);
    results.aborted = true;
    results.config ??= { ...args, jwtSecret: undefined };
    (results as Record<string, unknown>).failure = String((e as Error).message ?? e);
  } finally {
    for (const c of [...children].reverse()) await stopChild(c).catch(() => {});
    if (server?.deployment) log('stopping the deployment…');
    await server?.deployment?.stop(20_000).catch(() => {});
  }
  results.aborted ||= abort.signal.aborted;
  results.timeline = timeline;
  return writeOut(args, results);
}

/** The pool options every generator run of this invocation shares. */
function poolBase(
  args: LoadArgs,
  gen: { workers: number; processes: boolean },
  sockets: number,
  secret: Uint8Array,
  idPrefix: string,
  abort: AbortController,
  timeline: TimelinePoint[],
  t0: number,
): PoolBase {
  return {
    workers: gen.workers,
    processes: gen.processes,
    seed: args.seed,
    encoding: args.encoding,
    citizenMeanIntervalMs: args.rate && args.citizens ? (args.citizens / args.rate) * 1000 : undefined,
    officerMeanIntervalMs: args.officerRate && args.officers ? (args.officers / args.officerRate) * 1000 : undefined,
    secret,
    idPrefix,
    sourceAddresses: sourceAddresses(sockets, args.sources, args.seed),
    connectConcurrency: args.connectConcurrency,
    capacityGapMs: CAPACITY_GAP_MS,
    lean: args.lean,
    area: args.area,
    // Bounded, with room for a slow connect rate (~20/s on a busy machine).
    connectTimeoutMs: Math.min(3_600_000, 60_000 + sockets * 50),
    signal: abort.signal,
    timeline,
    t0,
    progress: !args.quiet,
    log,
  };
}

/** The command line, checked (targets on loopback only); an exit code when the run must not start. */
async function readArgs(): Promise<LoadArgs | number> {
  try {
    const parsed = parseArgs(process.argv.slice(2));
    if (parsed === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (parsed.target) await assertLoopback(parsed.target);
    for (const u of parsed.metricsUrls ?? []) await assertLoopback(u);
    return parsed;
  } catch (e) {
    log(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
}

/** Ctrl-C stops the run and still writes its results; a second one exits at once. No child outlives this process. */
function trapSignals(): AbortController {
  const abort = new AbortController();
  let interrupts = 0;
  // Whatever way this process ends, no child it started outlives it (graceful stops come first, in main).
  process.once('exit', killAll);
  const onSignal = (): void => {
    if (++interrupts > 1) {
      log('\nsecond Ctrl-C: exiting without results');
      process.exit(130);
    }
    log('\nCtrl-C: stopping; results so far will be written (Ctrl-C again to quit at once)');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return abort;
}

type Server = Pick<RunContext, 'target' | 'beacon' | 'deployment'>;

/** The server under test: --target as given, a distributed deployment (--processors), or embedded Beacon in a child process. */
async function startServer(args: LoadArgs, secretText: string | undefined, sockets: number, children: Child[]): Promise<Server> {
  if (args.processors !== undefined) {
    log(`starting a distributed deployment on loopback: redis-server, 1 orchestrator, ${args.processors} processor(s)…`);
    const cap = Math.max(1000, (fdLimit()?.soft ?? 65_536) - 1000);
    const deployment = await startDeployment({
      processors: args.processors,
      appendfsync: 'everysec',
      secrets: { JWT_SECRET: secretText },
      env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
      // Under the open-file limit: past it a processor refuses the upgrade instead of failing accept().
      processorEnv: { MAX_SOCKETS: String(cap) },
    });
    const target = deployment.orchestrator.url;
    log(
      `  orchestrator ${target} (pid ${deployment.orchestrator.pid}); ${deployment.processors.map((p) => `${p.node} pid ${p.pid}`).join(', ')}; redis ${deployment.redisUrl} (dir ${deployment.redisDir})`,
    );
    return { target, deployment };
  }
  if (args.target) return { target: args.target.replace(/\/$/, '') };
  log('starting embedded Beacon (child process, free ports)…');
  const beacon = await startChild('beacon', {
    JWT_SECRET: secretText as string,
    MAX_SOCKETS: String(Math.max(100_000, sockets + 1000)),
    // The assignment step asks ~15 per token a second: every answer must be a full assignment, not a 429.
    ASSIGNMENTS_PER_MINUTE: '100000',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
  children.push(beacon);
  return { target: beacon.url, beacon };
}

/** Shard balance, end time, the table on stdout and the results files; the exit code (1 on errors or a failure). */
function writeOut(args: LoadArgs, results: Partial<Results>): number {
  results.shards = shardReport(
    args.area,
    args.seed,
    args.mode === 'connections' ? 0 : args.officers,
    args.mode === 'connections' ? args.sockets : args.citizens,
    [2, 3, 4, 5, 6, 7, 8].map(clusterIds),
  );
  results.finishedAt = new Date().toISOString();
  const full = fillDefaults(results);
  const files = writeResults(args.out, full);
  process.stdout.write(`\n${table(full)}\n\nwrote ${files.join(', ')}\n`);
  return full.errors.total > 0 || (results as Record<string, unknown>).failure ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    log(`load test crashed: ${(err as Error)?.stack ?? err}`);
    process.exit(1);
  },
);
