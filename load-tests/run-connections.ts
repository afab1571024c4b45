// Connections mode: idle sockets heartbeating, the connect storm's rate and cost, memory per socket
// per node, Redis figures of a distributed deployment.
import { finishCommon } from './results-fill.js';
import { devicesPerNode, perNode, redisFigures, snapshotFleet, type FleetSnapshot } from './fleet/observe.js';
import type { Phase } from './messages.js';
import { runPool, sleep } from './pool.js';
import { connectCost } from './report.js';
import { log, type RunContext } from './run-context.js';
import { fdLimit } from './system.js';

export async function runConnections(ctx: RunContext): Promise<void> {
  const { args, abort, sampler, deployment, base, target, results, generators } = ctx;
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
  finishCommon(results, pool, undefined, args, generators);
}
