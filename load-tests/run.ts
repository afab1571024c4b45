// `npm run load -- ...`: drives Beacon over its real HTTP + websocket contract and reports latency
// and throughput next to bare-transport baselines (SPEC §5). See load-tests/README.md.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { ArgsError, parseArgs, USAGE, type LoadArgs } from './args.js';
import { assignRequests, compareWithBare } from './assign-bench.js';
import { startChild, type Child } from './children.js';
import { startDeployment, type Deployment } from './fleet/deployment.js';
import { devicesPerNode, perNode, redisFigures, replicationDelta, snapshotFleet, type FleetSnapshot } from './fleet/observe.js';
import { killAll } from './fleet/procs.js';
import { assertLoopback } from './loopback.js';
import { runPool, sleep, type PoolOptions, type PoolResult, type TimelinePoint } from './pool.js';
import { avg, connectCost, errorsOf, frameCpu, histBins, perSec, summarize, table, type Results } from './report.js';
import { writeResults } from './write-results.js';
import { checkFds, generatorPlan, sourceAddresses } from './plan.js';
import { fdLimit, ServerSampler } from './system.js';
import { newHistogram, type Histogram } from './hist.js';
import { makeArea } from './areas.js';
import { clusterIds, shardReport } from './shard-balance.js';
import type { Phase } from './messages.js';

/** Closed loop: one citizen's locs at least this far apart (the server allows MSG_RATE_PER_S = 20/s). */
const CAPACITY_GAP_MS = 100;

const log = (line: string): void => void process.stderr.write(`${line}\n`);

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
  let args: LoadArgs;
  try {
    const parsed = parseArgs(process.argv.slice(2));
    if (parsed === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    args = parsed;
    if (args.target) await assertLoopback(args.target);
    for (const u of args.metricsUrls ?? []) await assertLoopback(u);
  } catch (e) {
    log(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }

  const startedAt = new Date().toISOString();
  const t0 = performance.now();
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

  let beacon: Child | undefined;
  let deployment: Deployment | undefined;
  let target = args.target?.replace(/\/$/, '');
  const results: Partial<Results> = { version: 1, mode: args.mode, startedAt, aborted: false };
  try {
    if (args.processors !== undefined) {
      log(`starting a distributed deployment on loopback: redis-server, 1 orchestrator, ${args.processors} processor(s)…`);
      const cap = Math.max(1000, (fdLimit()?.soft ?? 65_536) - 1000);
      deployment = await startDeployment({
        processors: args.processors,
        appendfsync: 'everysec',
        secrets: { JWT_SECRET: secretText },
        env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
        // Under the open-file limit: past it a processor refuses the upgrade instead of failing accept().
        processorEnv: { MAX_SOCKETS: String(cap) },
      });
      target = deployment.orchestrator.url;
      log(
        `  orchestrator ${target} (pid ${deployment.orchestrator.pid}); ${deployment.processors.map((p) => `${p.node} pid ${p.pid}`).join(', ')}; redis ${deployment.redisUrl} (dir ${deployment.redisDir})`,
      );
    } else if (!target) {
      log('starting embedded Beacon (child process, free ports)…');
      beacon = await startChild('beacon', {
        JWT_SECRET: secretText as string,
        MAX_SOCKETS: String(Math.max(100_000, sockets + 1000)),
        // The assignment step asks ~15 per token a second: every answer must be a full assignment, not a 429.
        ASSIGNMENTS_PER_MINUTE: '100000',
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      });
      children.push(beacon);
      target = beacon.url;
    }
    const sampler = deployment
      ? new ServerSampler({ pids: [deployment.orchestrator, ...deployment.processors].map((n) => n.pid) })
      : beacon
        ? new ServerSampler({ pid: beacon.pid })
        : new ServerSampler({ metricsUrls: args.metricsUrls ?? [target] });
    const config = {
      ...args,
      jwtSecret: undefined,
      target: args.target ?? (deployment ? `distributed: ${args.processors} processor(s) (${target})` : `embedded (${target})`),
      generator: { processes: gen.processes, workers: gen.workers },
      sockets,
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, fdLimit: fdLimit() },
    };
    results.config = config;
    const base: Omit<PoolOptions, 'run' | 'mode' | 'target' | 'officers' | 'citizens' | 'phases' | 'sampler' | 'heartbeatMs'> = {
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

    if (args.mode === 'connections') {
      await sleep(1000, abort.signal);
      const before = await sampler.sample();
      const snaps: Partial<Record<'start' | 'holdStart' | 'holdEnd', FleetSnapshot>> = {};
      if (deployment) snaps.start = await snapshotFleet(deployment);
      const lim = fdLimit();
      if (lim)
        log(
          `open-file limit ${lim.soft} (hard ${lim.hard}): each side holds one descriptor per socket, so this machine tops out near ${Math.max(0, lim.soft - 512)} sockets per process; raise it with  ulimit -n <n>  before the run`,
        );
      log(`connection scale: ${args.sockets} idle sockets heartbeating every 30 s, over ${base.sourceAddresses.length || 1} source address(es)…`);
      const onPhase = async (_ended: Phase, next: Phase | undefined): Promise<void> => {
        if (deployment) snaps[next ? 'holdStart' : 'holdEnd'] = await snapshotFleet(deployment);
      };
      const pool = await runPool({
        ...base,
        run: 'connections',
        mode: 'connections',
        target,
        officers: 0,
        citizens: args.sockets,
        phases: [{ phase: 'hold', seconds: args.durationS }],
        sampler,
        heartbeatMs: 30_000,
        onPhase,
      });
      const hold = pool.phases.hold;
      const after = hold?.serverRssMax || sampler.last?.rssBytes || null;
      results.connections = {
        requested: args.sockets,
        // Cut short (Ctrl-C, or the connect phase's bound): the sockets open at that moment.
        connected: pool.allReported ? pool.connected : pool.openAtEnd,
        failed: pool.connectFailed,
        connectSeconds: Math.round(pool.connectSeconds * 10) / 10,
        connectCost: connectCost(pool.phases.connect, pool.connected),
        rssBeforeBytes: before?.rssBytes ?? null,
        rssAfterBytes: after,
        // null when the server shrank meanwhile (start-up memory given back hides the growth)
        rssPerSocketBytes: before && after && pool.connected && after > before.rssBytes ? (after - before.rssBytes) / pool.connected : null,
        pongs: (hold?.counters.pongs ?? 0) + (pool.phases.connect?.counters.pongs ?? 0),
        connectPerSec: pool.connectSeconds > 0 ? Math.round((pool.allReported ? pool.connected : pool.openAtEnd) / pool.connectSeconds) : null,
      };
      if (snaps.start && snaps.holdEnd) {
        const nodes = perNode(snaps.start, snaps.holdEnd).filter((n) => n.node !== 'orchestrator');
        results.connections.perNode = nodes.map(({ node, sockets, rssBytes, rssPerSocketBytes, grossPerSocketBytes }) => ({
          node,
          sockets,
          rssBytes,
          rssPerSocketBytes,
          grossPerSocketBytes,
        }));
        results.connections.devicesPerNode = devicesPerNode(nodes);
        const hold = snaps.holdStart ? redisFigures(snaps.holdStart, snaps.holdEnd) : undefined;
        const conn = redisFigures(snaps.start, snaps.holdStart ?? snaps.holdEnd);
        results.redis = {
          usedMemoryBytes: snaps.holdEnd.redis.used_memory ?? null,
          usedMemoryBeforeBytes: snaps.start.redis.used_memory ?? null,
          opsPerSec: hold?.opsPerSec ?? null,
          connectOpsPerSec: conn.opsPerSec,
        };
      }
      finishCommon(results, pool, undefined, args, gen.workers);
    } else {
      // 1. Orchestrator: the assignment benchmark (assign-bench.ts) against its bare fastify peer.
      if (args.assignSeconds > 0 && !abort.signal.aborted) {
        log(`assignments: autocannon ${args.assignSeconds} s × ${args.assignConnections} connections on ${target}, then its bare fastify peer …`);
        const reqs = await assignRequests(secret, idPrefix, args.seed);
        const fc = await startChild('fastify');
        children.push(fc);
        try {
          const c = await compareWithBare({ url: target, pid: beacon?.pid }, { url: fc.url, pid: fc.pid }, reqs, {
            seconds: args.assignSeconds,
            connections: args.assignConnections,
            signal: abort.signal,
          });
          results.assign = { ...c.beacon, errors: c.beacon.errors + c.beacon.timeouts, fastify: c.bare, fastifyRatio: c.ratio, perCoreRatio: c.perCoreRatio };
        } finally {
          await stopChild(fc);
        }
      }

      // 2. Beacon under the movement model, then closed-loop capacity.
      const phases = loadPhases(args, args.durationS);
      log(`beacon: ${args.officers} officers + ${args.citizens} citizens over ${args.workers} worker(s)…`);
      const steadySnaps: FleetSnapshot[] = [];
      const onPhase = async (ended: Phase, next: Phase | undefined): Promise<void> => {
        if (deployment && (next === 'steady' || ended === 'steady')) steadySnaps.push(await snapshotFleet(deployment));
      };
      const pool = abort.signal.aborted
        ? undefined
        : await runPool({
            ...base,
            run: 'beacon',
            mode: 'beacon',
            target,
            officers: args.officers,
            citizens: args.citizens,
            phases,
            sampler,
            heartbeatMs: 30_000,
            onPhase,
          });
      if (pool && steadySnaps.length === 2) results.distributed = distributedFigures(steadySnaps[0], steadySnaps[1], pool, args.processors ?? 0);

      // 3. The same generator against a bare uWS echo server, same socket count.
      let echoPool: PoolResult | undefined;
      // The echo server is one process: past its open-file limit it cannot hold the run's sockets.
      const echoFits = sockets + 512 <= (fdLimit()?.soft ?? Infinity);
      if (args.echo && !echoFits) log(`echo baseline skipped: ${sockets} sockets do not fit one process's open-file limit`);
      if (args.echo && echoFits && !abort.signal.aborted) {
        const echo = await startChild('echo');
        children.push(echo);
        try {
          log(`echo baseline: ${sockets} sockets on bare uWS (${echo.url})…`);
          const ePhases = loadPhases(args, args.echoDurationS);
          echoPool = await runPool({
            ...base,
            run: 'echo',
            mode: 'echo',
            target: echo.url,
            officers: args.officers,
            citizens: args.citizens,
            phases: ePhases,
            sampler: new ServerSampler({ pid: echo.pid }),
            heartbeatMs: 0,
          });
        } finally {
          await stopChild(echo);
        }
      }
      if (pool) finishCommon(results, pool, echoPool, args, gen.workers);
    }
  } catch (e) {
    log(`\nload test failed: ${(e as Error).stack ?? e}`);
    results.aborted = true;
    results.config ??= { ...args, jwtSecret: undefined };
    (results as Record<string, unknown>).failure = String((e as Error).message ?? e);
  } finally {
    for (const c of [...children].reverse()) await stopChild(c).catch(() => {});
    if (deployment) log('stopping the deployment…');
    await deployment?.stop(20_000).catch(() => {});
  }

  results.shards = shardReport(
    args.area,
    args.seed,
    args.mode === 'connections' ? 0 : args.officers,
    args.mode === 'connections' ? args.sockets : args.citizens,
    [2, 3, 4, 5, 6, 7, 8].map(clusterIds),
  );
  results.aborted ||= abort.signal.aborted;
  results.finishedAt = new Date().toISOString();
  results.timeline = timeline;
  const full = fillDefaults(results);
  const files = writeResults(args.out, full);
  process.stdout.write(`\n${table(full)}\n\nwrote ${files.join(', ')}\n`);
  return full.errors.total > 0 || (results as Record<string, unknown>).failure ? 1 : 0;
}

/** warmup (when asked) → steady → capacity (when asked): the same for Beacon and the echo baseline. */
function loadPhases(args: LoadArgs, steadyS: number): { phase: Phase; seconds: number }[] {
  return [
    ...(args.warmupS > 0 ? [{ phase: 'warmup' as const, seconds: args.warmupS }] : []),
    { phase: 'steady' as const, seconds: steadyS },
    ...(args.capacityS > 0 ? [{ phase: 'capacity' as const, seconds: args.capacityS }] : []),
  ];
}

/** `generators`: the generator workers the run used (threads, or child processes with --processors). */
function finishCommon(r: Partial<Results>, pool: PoolResult, echo: PoolResult | undefined, args: LoadArgs, generators: number): void {
  const steady = pool.phases.steady;
  const cap = pool.phases.capacity;
  const conn = pool.phases.connect;
  const warm = pool.phases.warmup;
  // Assignment and connect samples come from the connect phase and any reconnects later.
  const assign = summarize(mergeHists([conn, warm, steady, cap, pool.phases.hold], 'assign'));
  const connect = summarize(mergeHists([conn, warm, steady, cap, pool.phases.hold], 'connect'));
  r.locToNearest = summarize(steady?.hists.loc ?? mergeHists([], 'loc'));
  r.moveToRepush = summarize(steady?.hists.move ?? mergeHists([], 'move'));
  r.warmup = warm ? { seconds: Math.round(warm.seconds * 10) / 10, locToNearest: summarize(warm.hists.loc), moveToRepush: summarize(warm.hists.move) } : null;
  r.assignWs = assign;
  r.connect = connect;
  if (steady) {
    const s = steady.seconds;
    const c = steady.counters;
    r.throughput = {
      citizenLocPerSec: perSec(c.locSent, s),
      officerLocPerSec: perSec(c.officerLocSent, s),
      answersPerSec: perSec(c.answers, s),
      pushes: c.pushes,
      pushesCoarse: c.pushesCoarse,
      pushesPerSec: perSec(c.pushes, s),
      nearPerSec: perSec(c.near, s),
      framesInPerSec: perSec(c.framesIn, s),
      framesOutPerSec: perSec(c.framesOut, s),
    };
  } else r.throughput = null;
  const eSteady = echo?.phases.steady;
  const eCap = echo?.phases.capacity;
  r.echo = eSteady
    ? {
        rtt: summarize(eSteady.hists.loc),
        answersPerSec: perSec(eSteady.counters.answers, eSteady.seconds),
        framesInPerSec: perSec(eSteady.counters.framesIn, eSteady.seconds),
        connect: summarize(mergeHists([echo?.phases.connect, echo?.phases.warmup, eSteady], 'connect')),
        errors: errorsOf([echo?.phases.connect, echo?.phases.warmup, eSteady, eCap]).total,
      }
    : null;
  const beaconCap = cap ? perSec(cap.counters.answers, cap.seconds) : 0;
  const echoCap = eCap ? perSec(eCap.counters.answers, eCap.seconds) : null;
  r.capacity = cap
    ? {
        beaconPerSec: beaconCap,
        echoPerSec: echoCap,
        offeredCapPerSec: Math.round((args.citizens * 1000) / CAPACITY_GAP_MS),
        locToNearest: summarize(cap.hists.loc),
        echoRtt: eCap ? summarize(eCap.hists.loc) : null,
      }
    : null;
  const ratio = (a: number, b: number | null | undefined): number | null => (b ? Math.round((a / b) * 1000) / 1000 : null);
  r.echoRatioSteady = r.throughput && r.echo ? ratio(r.throughput.answersPerSec, r.echo.answersPerSec) : null;
  r.echoRatio = cap && echoCap ? ratio(beaconCap, echoCap) : r.echoRatioSteady;
  r.errors = errorsOf([conn, warm, steady, cap, pool.phases.hold]);
  const measured = steady ?? pool.phases.hold;
  r.server = { cpuCoresAvg: avg(measured?.serverCpu ?? []), rssMaxBytes: Math.max(0, ...Object.values(pool.phases).map((a) => a?.serverRssMax ?? 0)) || null };
  const eluMax = Math.max(0, ...Object.values(pool.phases).map((a) => a?.eluMax ?? 0));
  r.generator = {
    workers: generators,
    cpuCoresAvg: Math.round((measured?.genCpuCores ?? 0) * 100) / 100,
    eluMax: Math.round(eluMax * 100) / 100,
    saturated: (steady?.eluMax ?? 0) > 0.9,
    capacitySaturated: Math.max(cap?.eluMax ?? 0, echo?.phases.capacity?.eluMax ?? 0) > 0.9,
    cpuCoresCapacity: cap ? Math.round(cap.genCpuCores * 100) / 100 : null,
  };
  r.histograms = histBins(steady);
  r.cpuPerFrame = {
    beacon: { steady: frameCpu(steady), capacity: frameCpu(cap) },
    echo: echo ? { steady: frameCpu(eSteady), capacity: frameCpu(eCap) } : null,
  };
}

/** The steady phase of a --processors load run: per node, replication and Redis per officer update. */
function distributedFigures(a: FleetSnapshot, b: FleetSnapshot, pool: PoolResult, processors: number): NonNullable<Results['distributed']> {
  const officerLocs = pool.phases.steady?.counters.officerLocSent ?? 0;
  const per = (n: number | null): number | null => (n !== null && officerLocs > 0 ? Math.round((n / officerLocs) * 100) / 100 : null);
  const replication = replicationDelta(a, b);
  const redis = redisFigures(a, b);
  return {
    processors,
    perNode: perNode(a, b),
    replication,
    replicationPerOfficerUpdate: Object.fromEntries(Object.entries(replication).map(([k, v]) => [k, per(v) ?? 0])),
    redis: { ...redis, netInBytesPerOfficerUpdate: per(redis.netInBytes), netOutBytesPerOfficerUpdate: per(redis.netOutBytes) },
  };
}

function mergeHists(aggs: (PoolResult['phases'][keyof PoolResult['phases']] | undefined)[], name: 'assign' | 'connect' | 'loc' | 'move'): Histogram {
  const out = newHistogram();
  for (const a of aggs) if (a) out.add(a.hists[name]);
  return out;
}

function fillDefaults(r: Partial<Results>): Results {
  const empty = { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 };
  return {
    version: 1,
    mode: r.mode ?? 'load',
    startedAt: r.startedAt ?? new Date().toISOString(),
    finishedAt: r.finishedAt ?? new Date().toISOString(),
    aborted: r.aborted ?? false,
    config: r.config ?? {},
    locToNearest: r.locToNearest ?? empty,
    moveToRepush: r.moveToRepush ?? empty,
    warmup: r.warmup ?? null,
    assignWs: r.assignWs ?? empty,
    connect: r.connect ?? empty,
    throughput: r.throughput ?? null,
    capacity: r.capacity ?? null,
    echo: r.echo ?? null,
    echoRatio: r.echoRatio ?? null,
    echoRatioSteady: r.echoRatioSteady ?? null,
    assign: r.assign ?? null,
    errors: r.errors ?? errorsOf([]),
    server: r.server ?? { cpuCoresAvg: null, rssMaxBytes: null },
    generator: r.generator ?? { workers: 0, cpuCoresAvg: 0, eluMax: 0, saturated: false, capacitySaturated: false },
    connections: r.connections,
    cpuPerFrame: r.cpuPerFrame,
    shards: r.shards,
    ...(r.redis ? { redis: r.redis } : {}),
    ...(r.distributed ? { distributed: r.distributed } : {}),
    timeline: r.timeline ?? [],
    histograms: r.histograms ?? {},
    ...((r as Record<string, unknown>).failure ? { failure: (r as Record<string, unknown>).failure } : {}),
  } as Results;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    log(`load test crashed: ${(err as Error)?.stack ?? err}`);
    process.exit(1);
  },
);
