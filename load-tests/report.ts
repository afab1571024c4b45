// The results: the JSON document's shape, the figures computed for it, and the text table for
// the terminal (the HTML report is html.ts; write-results.ts writes both).
import { bins, summarize, type LatencySummary } from './hist.js';
import type { PhaseAgg, TimelinePoint } from './pool.js';
import type { CannonResult } from './assign-bench.js';
import type { ShardReport } from './shard-balance.js';
import type { PerNode, RedisFigures } from './fleet/observe.js';

export interface Results {
  version: 1;
  mode: 'load' | 'connections';
  startedAt: string;
  finishedAt: string;
  aborted: boolean;
  config: Record<string, unknown>;
  /** Steady phase only: the warm-up's samples are in `warmup`. */
  locToNearest: LatencySummary;
  moveToRepush: LatencySummary;
  /** The first seconds of the same load (JIT, first subscriptions), kept out of the figures above. */
  warmup: { seconds: number; locToNearest: LatencySummary; moveToRepush: LatencySummary } | null;
  assignWs: LatencySummary;
  connect: LatencySummary;
  throughput: {
    citizenLocPerSec: number;
    officerLocPerSec: number;
    answersPerSec: number;
    /** Re-push volume: coalesced `nearest` pushes (not answers to a `loc`) citizens received in the steady phase. */
    pushes: number;
    /** Of those, pushes showing a coarse officer position (disclosure policy on). */
    pushesCoarse: number;
    pushesPerSec: number;
    nearPerSec: number;
    framesInPerSec: number;
    framesOutPerSec: number;
  } | null;
  capacity: {
    beaconPerSec: number;
    echoPerSec: number | null;
    /** The most the closed loop can offer (citizens × 1000 / gap): at this bound the ratio says nothing. */ offeredCapPerSec: number;
    locToNearest: LatencySummary;
    echoRtt: LatencySummary | null;
  } | null;
  echo: { rtt: LatencySummary; answersPerSec: number; framesInPerSec: number; connect: LatencySummary; errors: number } | null;
  /** Beacon ÷ bare uWS echo, closed-loop capacity (steady-phase ratio when --capacity 0). */
  echoRatio: number | null;
  echoRatioSteady: number | null;
  assign: (CannonResult & { fastify: CannonResult | null; fastifyRatio: number | null; perCoreRatio: number | null }) | null;
  errors: {
    total: number;
    errFrames: number;
    assignFailures: number;
    connectFailures: number;
    refusals: number;
    drops: number;
    unansweredLocs: number;
    retries: number;
    codes: Record<string, number>;
  };
  server: { cpuCoresAvg: number | null; rssMaxBytes: number | null };
  /**
   * CPU per websocket frame (in + out, as the generator counted them), µs: the server's and the
   * generator process's (all threads) over the same phase, Beacon's run and the echo run.
   */
  cpuPerFrame?: { beacon: PhaseCpu; echo: PhaseCpu | null };
  /** The run's placement under rendezvous hashing over zips for 2..8 processors (shard-balance.ts). */
  shards?: ShardReport;
  generator: {
    workers: number;
    cpuCoresAvg: number;
    eluMax: number;
    saturated: boolean;
    capacitySaturated: boolean;
    /** Generator process CPU in Beacon's capacity phase, cores (ELU near 1 with far less than `workers` cores: the machine was contended). */
    cpuCoresCapacity?: number | null;
  };
  connections?: {
    requested: number;
    connected: number;
    failed: number;
    connectSeconds: number;
    connectCost: ConnectCost;
    rssBeforeBytes: number | null;
    rssAfterBytes: number | null;
    rssPerSocketBytes: number | null;
    pongs: number;
    /** Devices connected (assignment + ticketed socket + `hello`) ÷ connect-phase seconds. */
    connectPerSec: number | null;
    /** --processors: per processor, at the end of the hold (RSS growth since before the connects ÷ sockets held). */
    perNode?: { node: string; sockets: number | null; rssBytes?: number | null; rssPerSocketBytes: number | null; grossPerSocketBytes?: number | null }[];
    devicesPerNode?: { max: number; mean: number; maxOverMean: number | null } | null;
  };
  /** --processors: the deployment's Redis (INFO): memory at the end, commands/s in the hold (or steady) phase and while connecting. */
  redis?: { usedMemoryBytes: number | null; usedMemoryBeforeBytes?: number | null; opsPerSec: number | null; connectOpsPerSec?: number | null };
  /** --processors, load mode: the steady phase per node and the cross-node replication it took. */
  distributed?: {
    processors: number;
    perNode: PerNode[];
    /** beacon_processor_replication deltas summed over processors, and per officer loc sent. */
    replication: Record<string, number>;
    replicationPerOfficerUpdate: Record<string, number>;
    redis: RedisFigures & { netInBytesPerOfficerUpdate: number | null; netOutBytesPerOfficerUpdate: number | null };
  };
  timeline: TimelinePoint[];
  histograms: Record<string, { lo: number; hi: number; count: number }[]>;
}

export interface FrameCpu {
  framesPerSec: number;
  serverUs: number | null;
  generatorUs: number | null;
}
export interface PhaseCpu {
  steady: FrameCpu | null;
  capacity: FrameCpu | null;
}

/** CPU µs per frame in one phase: cores × seconds ÷ frames. */
export function frameCpu(a: PhaseAgg | undefined): FrameCpu | null {
  if (!a || a.seconds <= 0) return null;
  const frames = a.counters.framesIn + a.counters.framesOut;
  if (frames === 0) return null;
  const us = (cores: number | null): number | null => (cores === null ? null : Math.round(((cores * a.seconds * 1e6) / frames) * 10) / 10);
  const server = a.serverCpu.length ? a.serverCpu.reduce((x, y) => x + y, 0) / a.serverCpu.length : null;
  return { framesPerSec: Math.round(frames / a.seconds), serverUs: us(server), generatorUs: us(a.genCpuCores) };
}

/**
 * What one device's connect cost in the connect phase: CPU µs of the server and of the generator
 * (this process, all threads), and the busiest worker's event-loop utilisation. A storm is bound by
 * CPU when `eluMax` nears 1 or the two costs sum to the cores available per device.
 */
export interface ConnectCost {
  serverCpuUsPerDevice: number | null;
  generatorCpuUsPerDevice: number | null;
  eluMax: number;
}

export function connectCost(agg: PhaseAgg | undefined, connected: number): ConnectCost {
  const serverCores = agg ? avg(agg.serverCpu) : null;
  const us = (cores: number | null): number | null => (agg && cores !== null && connected > 0 ? Math.round((cores * agg.seconds * 1e6) / connected) : null);
  return {
    serverCpuUsPerDevice: us(serverCores),
    generatorCpuUsPerDevice: us(agg ? agg.genCpuCores : null),
    eluMax: Math.round((agg?.eluMax ?? 0) * 100) / 100,
  };
}

export const avg = (xs: number[]): number | null => (xs.length ? Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 100) / 100 : null);
export const perSec = (n: number, s: number): number => (s > 0 ? Math.round(n / s) : 0);

export function errorsOf(aggs: (PhaseAgg | undefined)[]): Results['errors'] {
  const e: Results['errors'] = {
    total: 0,
    errFrames: 0,
    assignFailures: 0,
    connectFailures: 0,
    refusals: 0,
    drops: 0,
    unansweredLocs: 0,
    retries: 0,
    codes: {},
  };
  for (const a of aggs) {
    if (!a) continue;
    const c = a.counters;
    e.errFrames += c.errFrames;
    e.assignFailures += c.assignFailures;
    e.connectFailures += c.connectFailures;
    e.refusals += c.refusals;
    e.drops += c.drops;
    e.unansweredLocs += c.unanswered;
    e.retries += c.retries;
    for (const [k, v] of Object.entries(a.errCodes)) e.codes[k] = (e.codes[k] ?? 0) + v;
  }
  e.total = e.errFrames + e.assignFailures + e.connectFailures + e.drops;
  return e;
}

export function histBins(a: PhaseAgg | undefined): Results['histograms'] {
  if (!a) return {};
  return { locToNearest: bins(a.hists.loc), moveToRepush: bins(a.hists.move) };
}

export { summarize };

const f = (n: number | null | undefined, d = 2): string => (n === null || n === undefined || Number.isNaN(n) ? '-' : n.toFixed(d));
const row = (name: string, s: LatencySummary | null | undefined): string =>
  s
    ? `${name.padEnd(26)}${String(s.count).padStart(9)}${f(s.p50).padStart(9)}${f(s.p90).padStart(9)}${f(s.p99).padStart(9)}${f(s.p999).padStart(9)}${f(s.max).padStart(10)}`
    : '';

export function table(r: Results): string {
  const c = r.config as Record<string, unknown>;
  const lines: string[] = [];
  const mb = (b: number | null | undefined): string => (b ? `${(b / 1048576).toFixed(0)} MB` : '-');
  if (r.mode === 'connections' && r.connections) {
    const k = r.connections;
    const g = c.generator as { processes?: boolean; workers?: number } | undefined;
    lines.push(
      `Beacon connection scale — ${k.requested} sockets requested, ${g?.workers ?? c.workers} generator ${g?.processes ? 'process(es)' : 'worker(s)'}, target ${c.target}${r.aborted ? '  [ABORTED]' : ''}`,
    );
    lines.push(
      `  connected ${k.connected}, failed ${k.failed}, in ${f(k.connectSeconds, 1)} s = ${k.connectPerSec ?? '-'} devices/s (assignment + socket + hello); pongs ${k.pongs}`,
    );
    const cc = k.connectCost;
    lines.push(
      `  connect phase CPU per device: server ${cc.serverCpuUsPerDevice ?? '-'} µs, generator ${cc.generatorCpuUsPerDevice ?? '-'} µs; worker ELU max ${cc.eluMax}`,
    );
    const where = k.perNode ? `all ${k.perNode.length} processors + orchestrator` : 'embedded: orchestrator + processor in one process';
    lines.push(
      `  server RSS (${where}) ${mb(k.rssBeforeBytes)} → ${mb(k.rssAfterBytes)}; per socket ${k.rssPerSocketBytes === null ? '-' : `${Math.round(k.rssPerSocketBytes)} B`}`,
    );
    for (const n of k.perNode ?? [])
      lines.push(
        `  ${n.node.padEnd(6)} sockets ${String(n.sockets ?? '-').padStart(7)}   RSS ${mb(n.rssBytes)}, per socket ${n.rssPerSocketBytes === null ? '-' : `${n.rssPerSocketBytes} B`} growth, ${n.grossPerSocketBytes === null ? '-' : `${n.grossPerSocketBytes} B`} gross`,
      );
    const d = k.devicesPerNode;
    if (d) lines.push(`  devices per node: max ${d.max}, mean ${d.mean} (max/mean ${f(d.maxOverMean)})`);
    if (r.redis)
      lines.push(
        `  redis: used memory ${mb(r.redis.usedMemoryBeforeBytes)} → ${mb(r.redis.usedMemoryBytes)}; ${r.redis.opsPerSec ?? '-'} ops/s holding, ${r.redis.connectOpsPerSec ?? '-'} ops/s while connecting`,
      );
    lines.push(row('assignment (ms)', r.assignWs), row('socket connect (ms)', r.connect));
    lines.push(`  errors ${r.errors.total} ${JSON.stringify(r.errors.codes)}`);
    lines.push(shardLine(r));
    return lines.filter(Boolean).join('\n');
  }
  lines.push(
    `Beacon load test — ${c.officers} officers + ${c.citizens} citizens, ${c.durationS} s after ${r.warmup ? `${f(r.warmup.seconds, 0)} s` : 'no'} warm-up, ${c.encoding}, ${c.workers} worker(s), seed ${c.seed}, target ${c.target}${r.aborted ? '  [ABORTED]' : ''}`,
  );
  lines.push(
    `${'latency (ms)'.padEnd(26)}${'count'.padStart(9)}${'p50'.padStart(9)}${'p90'.padStart(9)}${'p99'.padStart(9)}${'p99.9'.padStart(9)}${'max'.padStart(10)}`,
  );
  lines.push(
    row('citizen loc → nearest', r.locToNearest),
    row('officer move → re-push', r.moveToRepush),
    row('assignment (ws run)', r.assignWs),
    row('socket connect', r.connect),
  );
  if (r.warmup) lines.push(row('loc → nearest, warm-up', r.warmup.locToNearest), row('move → re-push, warm-up', r.warmup.moveToRepush));
  if (r.echo) lines.push(row('echo round trip (uWS)', r.echo.rtt));
  if (r.capacity) lines.push(row('loc → nearest, capacity', r.capacity.locToNearest));
  if (r.capacity?.echoRtt) lines.push(row('echo rtt, capacity', r.capacity.echoRtt));
  const t = r.throughput;
  if (t) {
    const perOfficerLoc = t.officerLocPerSec > 0 ? f(t.pushesPerSec / t.officerLocPerSec) : '-';
    lines.push(
      `re-push volume (steady): ${t.pushes} coalesced pushes received by citizens (${t.pushesCoarse} coarse), ${t.pushesPerSec}/s, ${perOfficerLoc} per officer loc`,
    );
  }
  if (t)
    lines.push(
      `throughput/s: citizen loc ${t.citizenLocPerSec}, officer loc ${t.officerLocPerSec}, nearest answers ${t.answersPerSec}, re-pushes ${t.pushesPerSec}, near ${t.nearPerSec}, frames in ${t.framesInPerSec} / out ${t.framesOutPerSec}`,
    );
  if (r.capacity) {
    const bound =
      r.capacity.echoPerSec !== null && r.capacity.echoPerSec >= 0.9 * r.capacity.offeredCapPerSec
        ? ' (echo at the closed-loop cap: more citizens needed to find the limit)'
        : '';
    lines.push(
      `capacity (closed loop, cap ${r.capacity.offeredCapPerSec}/s): Beacon ${r.capacity.beaconPerSec} loc→nearest/s, bare uWS echo ${r.capacity.echoPerSec ?? '-'} /s → echoRatio ${f(r.echoRatio)} (steady ratio ${f(r.echoRatioSteady)})${bound}`,
    );
  } else if (r.echoRatioSteady !== null) lines.push(`echoRatio (steady) ${f(r.echoRatioSteady)}`);
  const a = r.assign;
  if (a)
    lines.push(
      `orchestrator: ${a.perSec} assignments/s, p50 ${f(a.p50)} ms, p99 ${f(a.p99)} ms, non-2xx ${a.non2xx}; bare fastify ${a.fastify?.perSec ?? '-'} /s (p99 ${f(a.fastify?.p99)} ms) → fastifyRatio ${f(a.fastifyRatio)}, per core ${f(a.perCoreRatio)}`,
    );
  const dist = r.distributed;
  if (dist) {
    lines.push(
      `distributed (${dist.processors} processors, steady): ` +
        dist.perNode.map((n) => `${n.node} cpu ${f(n.cpuCoresAvg)} rss ${mb(n.rssBytes)}${n.sockets !== null ? ` sockets ${n.sockets}` : ''}`).join('; '),
    );
    const rp = dist.replicationPerOfficerUpdate;
    lines.push(
      `replication per officer update: ${f(rp.published)} messages published, ${f(rp.received)} received; Redis ${dist.redis.netInBytesPerOfficerUpdate ?? '-'} B in / ${dist.redis.netOutBytesPerOfficerUpdate ?? '-'} B out, ${dist.redis.opsPerSec ?? '-'} ops/s, ${mb(dist.redis.usedMemoryBytes)}`,
    );
  }
  const e = r.errors;
  lines.push(
    `errors ${e.total} (err frames ${e.errFrames}, assign ${e.assignFailures}, connect ${e.connectFailures}, refusals ${e.refusals}, drops ${e.drops}); unanswered locs ${e.unansweredLocs}, retries ${e.retries}${Object.keys(e.codes).length ? ' ' + JSON.stringify(e.codes) : ''}`,
  );
  lines.push(
    `server: cpu ${f(r.server.cpuCoresAvg)} cores avg (steady), rss max ${mb(r.server.rssMaxBytes)}; generator: cpu ${f(r.generator.cpuCoresAvg)} cores, worker ELU max ${f(r.generator.eluMax)}${r.generator.saturated ? '  ← GENERATOR SATURATED: latencies include generator queueing' : ''}`,
  );
  const pc = r.cpuPerFrame;
  if (pc) {
    const one = (name: string, x: FrameCpu | null | undefined): string =>
      x ? `${name} server ${f(x.serverUs, 1)} / generator ${f(x.generatorUs, 1)} (${x.framesPerSec} frames/s)` : '';
    const parts = [
      one('Beacon steady', pc.beacon.steady),
      one('Beacon capacity', pc.beacon.capacity),
      one('echo steady', pc.echo?.steady),
      one('echo capacity', pc.echo?.capacity),
    ].filter(Boolean);
    lines.push(`cpu per frame, µs (frames in + out): ${parts.join('; ')}${c.lean ? '  [--lean generator]' : '  [client-library generator]'}`);
  }
  lines.push(shardLine(r));
  const g = r.generator;
  const contended = (g.saturated || g.capacitySaturated) && g.cpuCoresAvg < 0.5 * g.workers;
  if (contended) {
    lines.push(
      `note: worker ELU reached ${f(g.eluMax)} while the generator used ${f(g.cpuCoresAvg)} cores (steady) / ${f(g.cpuCoresCapacity)} (capacity) for ${g.workers} worker(s): other processes held the cores (machine contended), so ELU overstates the generator's own load and every rate here is bounded by the machine; compare CPU per frame instead`,
    );
  } else if (r.generator.capacitySaturated)
    lines.push(
      'note: a generator worker was saturated in the capacity phase: the capacity figures (and echoRatio) are bounded by the generator, add --workers or cores',
    );
  return lines.filter(Boolean).join('\n');
}

function shardLine(r: Results): string {
  const s = r.shards;
  return s
    ? `shard balance of this placement (${s.area}, ${s.zips} zips; rendezvous over zips, nodes p1..pN), busiest node ÷ mean: ${s.balance.map((b) => `${b.processors}: ${b.maxOverMean.toFixed(2)}`).join(', ')}`
    : '';
}
