// From the pool's raw phase aggregates to the figures of load-tests/results/latest.json: the
// phases a load run goes through, the common figures of every run, and the defaults of a run cut short.
import type { LoadArgs } from './args.js';
import { perNode, redisFigures, replicationDelta, type FleetSnapshot } from './fleet/observe.js';
import { newHistogram, type Histogram } from './hist.js';
import type { Phase } from './messages.js';
import type { PoolResult } from './pool.js';
import { avg, errorsOf, frameCpu, histBins, perSec, summarize, type Results } from './report.js';

/** Closed loop: one citizen's locs at least this far apart (the server allows MSG_RATE_PER_S = 20/s). */
export const CAPACITY_GAP_MS = 100;

/** warmup (when asked) → steady → capacity (when asked): the same for Beacon and the echo baseline. */
export function loadPhases(args: LoadArgs, steadyS: number): { phase: Phase; seconds: number }[] {
  return [
    ...(args.warmupS > 0 ? [{ phase: 'warmup' as const, seconds: args.warmupS }] : []),
    { phase: 'steady' as const, seconds: steadyS },
    ...(args.capacityS > 0 ? [{ phase: 'capacity' as const, seconds: args.capacityS }] : []),
  ];
}

/** `generators`: the generator workers the run used (threads, or child processes with --processors). */
export function finishCommon(r: Partial<Results>, pool: PoolResult, echo: PoolResult | undefined, args: LoadArgs, generators: number): void {
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
export function distributedFigures(a: FleetSnapshot, b: FleetSnapshot, pool: PoolResult, processors: number): NonNullable<Results['distributed']> {
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

export function fillDefaults(r: Partial<Results>): Results {
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
