// Load mode: the assignment benchmark against bare fastify, Beacon under the movement model then
// closed-loop capacity, and the same generator against a bare uWS echo server.
import { assignRequests, compareWithBare } from './assign-bench.js';
import { startChild } from './children.js';
import { snapshotFleet, type FleetSnapshot } from './fleet/observe.js';
import type { Phase } from './messages.js';
import { runPool, type PoolResult } from './pool.js';
import { distributedFigures, finishCommon, loadPhases } from './results-fill.js';
import { log, type RunContext } from './run-context.js';
import { fdLimit, ServerSampler } from './system.js';

export async function runLoad(ctx: RunContext): Promise<void> {
  const { args, abort, sampler, deployment, beacon, base, target, results, generators, children, stopChild, sockets, secret, idPrefix } = ctx;
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
  if (pool) finishCommon(results, pool, echoPool, args, generators);
}
